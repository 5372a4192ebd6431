"""The ``subnetes`` command line: one entrypoint for the chain, operator and workloads."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import click


def _add_operator_and_workload_commands(root: click.Group) -> None:
    @root.group("operator")
    def operator_group() -> None:
        """Run the Kubernetes operator."""

    @operator_group.command(
        "run", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
    )
    @click.argument("kopf_args", nargs=-1, type=click.UNPROCESSED)
    def operator_run(kopf_args: tuple[str, ...]) -> None:
        """Run the operator; extra options go to `kopf run` (e.g. -n NS, -A, --standalone)."""
        from subnetes.operator.__main__ import main as operator_main

        operator_main(list(kopf_args))

    @root.group("workload")
    def workload_group() -> None:
        """Reference subnet workloads (what miner and validator pods run)."""

    subnet_option = click.option(
        "--subnet",
        type=click.Choice(["compute", "linsolve"]),
        default="compute",
        show_default=True,
        help="which reference subnet: compute (matmul) or linsolve (linear systems)",
    )

    @workload_group.command("miner")
    @subnet_option
    def workload_miner(subnet: str) -> None:
        """Reference-subnet miner: serves matmul (compute) or linsolve challenges on its axon."""
        import importlib

        module = importlib.import_module(f"subnetes.workloads.{subnet}.miner")
        sys.exit(module.main())

    @workload_group.command("validator")
    @subnet_option
    def workload_validator(subnet: str) -> None:
        """Reference-subnet validator: challenges miners, verifies, sets weights."""
        import importlib

        module = importlib.import_module(f"subnetes.workloads.{subnet}.validator")
        sys.exit(module.main())


def _import_password(coldkey: Path, password_env: str | None) -> str | None:
    """The coldkey password for ``wallet import``: None for an unencrypted (or missing)
    coldkey, else as ``subnetes.chain.keys.key_password`` finds it (an unset --password-env
    variable is named)."""
    from bittensor_wallet.keyfile import keyfile_data_is_encrypted

    from subnetes.chain.keys import key_password

    if not coldkey.is_file() or not keyfile_data_is_encrypted(coldkey.read_bytes()):
        return None
    return key_password(str(coldkey), password_env)


def _add_wallet_commands(root: click.Group) -> None:
    @root.group("wallet")
    def wallet_group() -> None:
        """btcli wallets and Kubernetes Secrets."""

    @wallet_group.command("import")
    @click.argument("wallet_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("-n", "--namespace", default="default", show_default=True)
    @click.option("--coldkey-secret", help="Secret name (default: <wallet>-coldkey)")
    @click.option(
        "--hotkey",
        "hotkeys",
        multiple=True,
        metavar="NAME[=KIND/NEURON]",
        help="hotkey to import (repeatable); =Miner/<name> or =Validator/<name> claims the "
        "Secret for that neuron (the operator uses no unclaimed hotkey Secret)",
    )
    @click.option(
        "--password-env",
        metavar="VAR",
        help="env var holding the coldkey password (default: $SUBNETES_KEY_PASSWORD, else a "
        "prompt on a terminal)",
    )
    @click.option("--dry-run", is_flag=True, help="print the Secrets as YAML instead of applying")
    def wallet_import(
        wallet_dir: Path,
        namespace: str,
        coldkey_secret: str | None,
        hotkeys: tuple[str, ...],
        password_env: str | None,
        dry_run: bool,
    ) -> None:
        """Turn a btcli wallet directory into the Secrets Miners/Validators/Subnets reference."""
        import yaml

        from subnetes.wallet import WalletError, wallet_secrets
        from subnetes.wire.text import printable

        try:
            password = _import_password(wallet_dir / "coldkey", password_env)
            keys = wallet_secrets(wallet_dir, namespace, coldkey_secret, hotkeys, password)
        except (WalletError, ValueError) as exc:
            raise click.ClickException(printable(str(exc))) from exc
        if dry_run:
            click.echo(yaml.safe_dump_all([k.manifest for k in keys], sort_keys=False))
            return
        from lightkube import Client
        from lightkube.resources.core_v1 import Secret

        client = Client(field_manager="subnetes-cli")
        for key in keys:
            # lightkube annotates from_dict as returning DictMixin; it returns a Secret.
            client.apply(cast(Secret, Secret.from_dict(key.manifest)), force=True)
            meta = key.manifest["metadata"]
            # names and addresses come from wallet files: printed without control characters
            click.echo(printable(f"secret/{meta['name']} in {meta['namespace']}: {key.ss58}"))
            if key.claim:
                click.echo(
                    f"  claimed for {key.claim}: name it in that neuron's spec.hotkeySecretRef"
                )
            elif meta["labels"].get("app.kubernetes.io/component") == "hotkey":
                click.echo(
                    "  not claimed: the operator refuses it until it is annotated "
                    "subnetes.io/hotkey-for=<Miner|Validator>/<name> "
                    "(or import it with --hotkey NAME=Miner/<name>)"
                )


def build_cli() -> click.Group:
    """The root command group with every subcommand registered."""
    from subnetes.chain.cli import register_commands

    root = click.Group("subnetes", help="Subnetes: Bittensor-style subnets on Kubernetes.")
    register_commands(root)
    _add_operator_and_workload_commands(root)
    _add_wallet_commands(root)
    return root


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``subnetes`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        build_cli().main(args=argv, prog_name="subnetes", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
