"""Chain commands of the ``subnetes`` CLI (click + rich).

Amounts on the command line are TAO decimals (``1.5``); the chain works in rao. Signing
keys: ``--key`` takes a dev URI (``//Alice``), a btcli keyfile path or a key-store name.
Every error is one line on stderr with a non-zero exit code.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click
import httpx
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from subnetes.wire.text import printable

from .errors import ChainError
from .units import SHARE_ONE, U16_MAX, fmt_tao, tao

if TYPE_CHECKING:  # the client is imported when a command runs
    from .client import ChainClient

out = Console()
ENDPOINT_ENV = "SUBNETES_CHAIN_ENDPOINT"


def safe(value: object) -> str:
    """Text from the chain as the terminal may show it: control and format characters shown as
    escapes (``subnetes.wire.text.printable``), then rich markup escaped. Everything a command
    prints that came from the chain goes through here (an old database, or another chain, may
    hold strings the chain refuses today)."""
    return escape(printable(value))


def fail_cleanly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn chain/HTTP/key errors into one line and exit code 1."""

    @wraps(fn)
    def wrapper(*a: Any, **k: Any) -> Any:
        try:
            return fn(*a, **k)
        except ChainError as e:
            click.echo(printable(f"error: {e.name}: {e.message}"), err=True)
        except httpx.HTTPError as e:
            click.echo(printable(f"error: cannot reach the chain: {e}"), err=True)
        except (FileNotFoundError, FileExistsError, ValueError) as e:
            click.echo(printable(f"error: {e}"), err=True)
        sys.exit(1)

    return wrapper


def endpoint_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--endpoint",
        envvar=ENDPOINT_ENV,
        default="http://127.0.0.1:9944",
        show_default=True,
        help=f"chain URL (env {ENDPOINT_ENV})",
    )(fn)


PASSWORD_ENV_META = "subnetes.password_env"


def _remember_password_env(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    ctx.meta[PASSWORD_ENV_META] = value


def key_option(
    name: str = "--key", help: str = "signing key: //URI, keyfile path or key name"
) -> Callable[..., Any]:
    """``--key`` plus ``--password-env`` (the variable holding an encrypted coldkey's password;
    read by ``submit``)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option(
            "--password-env",
            metavar="VAR",
            expose_value=False,
            callback=_remember_password_env,
            help="env var holding the password of an encrypted --key keyfile (default: "
            "$SUBNETES_KEY_PASSWORD, else a prompt on a terminal)",
        )(fn)
        return click.option(name, "key", required=True, help=help)(fn)

    return decorate


def output_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--output table|json|yaml`` for a read command (json/yaml: the chain's records as is)."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", "json", "yaml"]),
        default="table",
        show_default=True,
        help="table for people; json or yaml (only the document on stdout) for scripts",
    )(fn)


def emit_document(data: Any, output: str) -> bool:
    """Print ``data`` as the JSON or YAML document ``output`` asks for (True), or nothing
    (False: the caller prints its table)."""
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
    else:
        return False
    return True


def fit_table(
    columns: list[tuple[str, int]],
    rows: list[list[str]],
    width: int,
    title: str | None = None,
) -> tuple[Table, list[str]]:
    """A table of ``rows`` no wider than ``width`` and the headers dropped to get there.

    ``columns`` are (header, drop rank): rank 0 is always shown; while the table is too wide
    the column of the highest rank goes first. Cells are never cut (a "0.…" says nothing): a
    cell still too wide folds onto the next line.
    """

    def build(shown: list[int]) -> Table:
        t = Table(
            *(Column(columns[i][0], overflow="fold") for i in shown),
            title=title,
            box=box.SIMPLE_HEAD,
        )
        for row in rows:
            t.add_row(*(row[i] for i in shown))
        return t

    # measured on an unbounded console: the width the table wants, not what it is given
    unbounded = Console(width=1_000_000, file=io.StringIO())
    shown = list(range(len(columns)))
    dropped: list[str] = []
    while True:
        table = build(shown)
        droppable = [i for i in shown if columns[i][1] > 0]
        if unbounded.measure(table).maximum <= width or not droppable:
            return table, dropped
        victim = max(droppable, key=lambda i: (columns[i][1], i))
        shown.remove(victim)
        dropped.append(columns[victim][0])


def print_table(
    columns: list[tuple[str, int]], rows: list[list[str]], title: str | None = None
) -> None:
    """Print ``fit_table`` to the terminal's width; say on stderr which columns did not fit."""
    table, dropped = fit_table(columns, rows, out.width, title)
    out.print(table)
    if dropped:
        click.echo(
            f"(left out to fit {out.width} columns: {', '.join(dropped)}; a wider terminal "
            "or --output json shows them)",
            err=True,
        )


def client(endpoint: str) -> ChainClient:
    from .client import ChainClient

    return ChainClient(endpoint)


def show_result(res: Any) -> None:
    """Print a submitted extrinsic's block and events, briefly."""
    if "events" in res:
        evs = ", ".join(e["type"] for e in res["events"])
        out.print(
            f"[green]ok[/] block {safe(res.get('block'))} #{safe(res.get('index'))}: {safe(evs)}"
        )
    else:
        out.print(f"[green]queued[/] {safe(res.get('hash'))}")


def submit(endpoint: str, key: str, call: str, args: dict[str, Any]) -> None:
    from .keys import load_keypair

    ctx = click.get_current_context(silent=True)
    kp = load_keypair(key, ctx.meta.get(PASSWORD_ENV_META) if ctx else None)
    with client(endpoint) as c:
        show_result(c.submit(kp, call, args))


def addr(spec: str) -> str:
    from .keys import resolve_address

    return resolve_address(spec)


def register_commands(root: click.Group) -> None:
    """Add the chain commands to the ``subnetes`` group."""
    for cmd in (
        chain_group,
        keys_group,
        subnet_group,
        neuron_group,
        root_group,
        stake_group,
        weights_group,
        axon_group,
        delegate_group,
        metagraph,
        account,
        transfer,
        faucet,
    ):
        root.add_command(cmd)
    from .cli_governance import governance_group  # it imports this module's helpers

    root.add_command(governance_group)


def database_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A database that cannot be opened or read (no server, not a database file) as one line
    (under ``fail_cleanly``), not a driver traceback."""

    @wraps(fn)
    def wrapper(*a: Any, **k: Any) -> Any:
        import sqlite3

        import sqlalchemy.exc

        try:
            return fn(*a, **k)
        except sqlalchemy.exc.SQLAlchemyError as e:
            cause = getattr(e, "orig", None) or e
            raise ValueError(
                f"cannot use the database: {str(cause).strip().splitlines()[0]}"
            ) from e
        except sqlite3.Error as e:
            raise ValueError(f"cannot use the database: {e}") from e

    return wrapper


# ---- chain ----------------------------------------------------------------------------------
@click.group("chain")
def chain_group() -> None:
    """Run and inspect the chain service."""


@chain_group.command("run")
@click.option(
    "--db",
    default="subnetes-chain.db",
    show_default=True,
    help="SQLite file path or postgresql:// URL; ':memory:' keeps nothing",
)
@click.option(
    "--profile",
    default="dev",
    show_default=True,
    type=click.Choice(["dev", "default"]),
    help="genesis profile (used when the database is new); dev is for DEVELOPMENT ONLY: a "
    "faucet and the well-known //Alice sudo key (refused on a non-loopback --host unless "
    "--allow-dev-on-network)",
)
@click.option(
    "--block-time", type=float, default=None, help="seconds per block (default: the profile's)"
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="address to bind; the dev profile is refused on a non-loopback one",
)
@click.option(
    "--allow-dev-on-network",
    is_flag=True,
    help="serve the dev profile (faucet, //Alice sudo) on a non-loopback --host anyway "
    "(throwaway development networks only)",
)
@click.option(
    "--jax-cache-dir",
    default=None,
    envvar="SUBNETES_JAX_CACHE",
    help="JAX persistent compilation cache (default ~/.cache/subnetes/jax): the epoch "
    "compiled at start-up is loaded from here on the next start",
)
@click.option(
    "--precompile/--no-precompile",
    default=True,
    show_default=True,
    help="compile the epoch for the state's shapes before producing blocks (else the first "
    "epoch compiles on the block path and stalls it)",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="seconds request headers, or one read of a request body, may stall before 408 "
    "(default 10)",
)
@click.option("--port", default=9944, show_default=True, type=int)
@click.option("--manual", is_flag=True, help="no timer: blocks only via POST /v1/dev/produce")
@click.option(
    "--trace-exporter",
    default=None,
    type=click.Choice(["none", "console", "otlp"]),
    help="OpenTelemetry trace exporter (default: $OTEL_TRACES_EXPORTER, else off); otlp "
    "sends OTLP/HTTP to $OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318)",
)
@click.option("--ready-file", default=None, help="write the URL here once serving (for scripts)")
@click.option(
    "--migrate",
    is_flag=True,
    envvar="SUBNETES_CHAIN_MIGRATE",
    help="upgrade a database of an older schema version before starting (env "
    "SUBNETES_CHAIN_MIGRATE=1); without it the chain refuses to start on one",
)
@click.option(
    "--genesis-balances",
    default=None,
    envvar="SUBNETES_GENESIS_BALANCES",
    help="JSON file [{address, rao}]: accounts funded at genesis, on top of the profile's "
    "(used when the database is new)",
)
@click.option(
    "--failover",
    is_flag=True,
    envvar="SUBNETES_CHAIN_FAILOVER",
    help="one of two replicas on one PostgreSQL database: lead (produce blocks) while holding "
    "the database's leader lock, else stand by (serve reads, forward submissions) and take "
    "over when the leader is gone (docs/chain.md, Failover)",
)
@click.option(
    "--takeover-after",
    type=float,
    default=None,
    envvar="SUBNETES_CHAIN_TAKEOVER_AFTER",
    help="with --failover: seconds without a leader heartbeat before the standby ends the "
    "leader's database session and takes over (default: 5 block times, at least 2)",
)
@click.option(
    "--advertise-url",
    default=None,
    envvar="SUBNETES_CHAIN_ADVERTISE_URL",
    help="with --failover: the URL the other replica forwards submissions to while this one "
    "leads (default http://HOST:PORT)",
)
@fail_cleanly
@database_errors
def chain_run(
    db: str,
    profile: str,
    block_time: float | None,
    host: str,
    allow_dev_on_network: bool,
    jax_cache_dir: str | None,
    precompile: bool,
    body_timeout: float | None,
    port: int,
    manual: bool,
    trace_exporter: str | None,
    ready_file: str | None,
    migrate: bool,
    genesis_balances: str | None,
    failover: bool,
    takeover_after: float | None,
    advertise_url: str | None,
) -> None:
    """Start the chain service."""
    import logging
    from dataclasses import replace

    from .params import profile_config
    from .server import run, setup_tracing

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its per-plugin INFO lines
    config = profile_config(profile)
    if block_time is not None:
        config = replace(config, block_time_ms=int(block_time * 1000))
    if genesis_balances:
        from .genesis import load_balances, with_balances

        extra = load_balances(genesis_balances)
        config = replace(config, balances=with_balances(config.balances, extra))
    setup_tracing(trace_exporter)
    if migrate and db != ":memory:":
        _migrate(db)
    run(
        config,
        None if db == ":memory:" else db,
        host=host,
        port=port,
        block_time=block_time,
        manual=manual,
        ready_file=ready_file,
        allow_dev_on_network=allow_dev_on_network,
        jax_cache_dir=jax_cache_dir,
        precompile=precompile,
        body_timeout=body_timeout,
        failover=failover,
        takeover_after=takeover_after,
        advertise_url=advertise_url,
    )


@chain_group.command("info")
@endpoint_option
@output_option
@fail_cleanly
def chain_info(endpoint: str, output: str) -> None:
    """Genesis, head, issuance, emission, lock cost."""
    with client(endpoint) as c:
        info, net = c.chain(), c.network()
    if emit_document({"chain": info, "network": net}, output):
        return
    out.print(
        f"genesis {safe(info['genesis_hash'])} profile {safe(info['profile'])} "
        f"head {safe(info['head'])}"
    )
    out.print(
        f"issuance {fmt_tao(net['issuance'])} TAO, block emission {fmt_tao(net['block_emission'])}, "
        f"lock cost {fmt_tao(net['lock_cost'])}, subnets {net['subnets']}/{net['subnet_limit']}"
    )


def _migrate(db: str, must_exist: bool = False) -> None:
    """Upgrade ``db``'s schema to this release's and say what changed (one line)."""
    from pathlib import Path

    from .migrations import upgrade
    from .storage import create_engine

    if must_exist and "://" not in db and not Path(db).exists():
        raise FileNotFoundError(f"no chain database at {db}")
    engine = create_engine(db)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"database schema version {after}: up to date", err=True)
    else:
        click.echo(f"database schema migrated: {before or 'empty'} -> {after}", err=True)


db_option = click.option(
    "--db",
    required=True,
    envvar="SUBNETES_DATABASE_URL",
    help="SQLite file path or postgresql:// URL (env SUBNETES_DATABASE_URL)",
)


@chain_group.command("migrate")
@db_option
@fail_cleanly
@database_errors
def chain_migrate(db: str) -> None:
    """Upgrade a chain database's schema to this release's version (stop the chain first,
    and back the database up: `subnetes chain backup`)."""
    _migrate(db, must_exist=True)


@chain_group.command("backup")
@db_option
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=True, dir_okay=True, writable=True),
    help="backup file, or an existing directory to write chain-<UTC time>.db|.pgdump in",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="with a directory --out: delete all but the newest KEEP backups there afterwards",
)
@fail_cleanly
@database_errors
def chain_backup(db: str, out: str, keep: int | None) -> None:
    """Snapshot the chain database while the chain runs (SQLite: online backup API, the copy
    verified; PostgreSQL: pg_dump of the chain's tables)."""
    import time
    from pathlib import Path

    from .backup import SUFFIX, backend, backup, prune

    if keep is not None and not Path(out).is_dir():
        raise ValueError("--keep needs --out to be an existing directory")
    t0 = time.monotonic()
    path, what = backup(db, out)
    took = time.monotonic() - t0
    size = path.stat().st_size / 2**20
    click.echo(f"backup {path} ({size:.1f} MiB, {took:.1f} s): {what}")
    if keep is not None:
        for gone in prune(path.parent, keep, SUFFIX[backend(db)]):
            click.echo(f"deleted old backup {gone}")


@chain_group.command("restore")
@click.option("--from", "source", required=True, help="a file `subnetes chain backup` wrote")
@db_option
@click.option("--force", is_flag=True, help="replace the chain already in --db")
@click.option(
    "--migrate",
    is_flag=True,
    help="upgrade a backup of an older schema version to this release's",
)
@fail_cleanly
@database_errors
def chain_restore(source: str, db: str, force: bool, migrate: bool) -> None:
    """Rebuild a chain database from a backup (the chain stopped) and verify it: the hash
    chain from genesis to the head, and the state against the head's state root."""
    from .backup import restore

    verified = restore(source, db, force=force, migrate=migrate)
    click.echo(f"restored {db}: {verified.line()}")


# ---- keys -----------------------------------------------------------------------------------
@click.group("keys")
def keys_group() -> None:
    """Make and list sr25519 keys (btcli keyfile format)."""


@keys_group.command("new")
@click.argument("name")
@click.option("--overwrite", is_flag=True)
@fail_cleanly
def keys_new(name: str, overwrite: bool) -> None:
    """Create a key in the key store and print its address and mnemonic."""
    from .keys import new_key

    kp, path, mnemonic = new_key(name, overwrite)
    out.print(f"{kp.ss58_address}  {path}")
    click.echo(f"mnemonic: {mnemonic}", err=True)


@keys_group.command("list")
@output_option
@fail_cleanly
def keys_list(output: str) -> None:
    """Keys in the key store."""
    from .keys import keystore_dir, list_keys

    if emit_document([{"name": n, "address": a} for n, a in list_keys()], output):
        return

    t = Table("name", "address", title=str(keystore_dir()))
    for name, ss58 in list_keys():
        t.add_row(safe(name), safe(ss58))
    out.print(t)


@keys_group.command("show")
@click.argument("key")
@fail_cleanly
def keys_show(key: str) -> None:
    """Address of a key spec."""
    click.echo(addr(key))


# ---- balances -------------------------------------------------------------------------------
@click.command("account")
@click.argument("address")
@endpoint_option
@output_option
@fail_cleanly
def account(address: str, endpoint: str, output: str) -> None:
    """Balance, nonce and stakes of a coldkey."""
    with client(endpoint) as c:
        a = c.account(addr(address))
    if emit_document(a, output):
        return
    out.print(
        f"{safe(a['address'])}: balance {fmt_tao(a['balance'])} TAO, stake {fmt_tao(a['total_stake'])} TAO, "
        f"nonce {safe(a['nonce'])}"
    )
    for s in a["stakes"]:
        out.print(f"  {safe(s['hotkey'])}: {fmt_tao(s['amount'])}")


@click.command("transfer")
@click.argument("dest")
@click.argument("amount")
@key_option()
@endpoint_option
@fail_cleanly
def transfer(dest: str, amount: str, key: str, endpoint: str) -> None:
    """Send AMOUNT TAO to DEST."""
    submit(endpoint, key, "transfer", {"dest": addr(dest), "amount": tao(amount)})


@click.command("faucet")
@click.argument("amount")
@key_option()
@click.option("--dest", default=None, help="credit this address instead of the signer")
@endpoint_option
@fail_cleanly
def faucet(amount: str, key: str, dest: str | None, endpoint: str) -> None:
    """Dev networks: mint AMOUNT TAO."""
    args: dict[str, Any] = {"amount": tao(amount)}
    if dest:
        args["dest"] = addr(dest)
    submit(endpoint, key, "faucet", args)


# ---- subnets --------------------------------------------------------------------------------
@click.group("subnet")
def subnet_group() -> None:
    """Register, list and configure subnets."""


@subnet_group.command("register")
@key_option(help="owner coldkey (pays the lock)")
@click.option("--hotkey", required=True, help="owner hotkey (becomes UID 0)")
@click.option("--max-lock", default=None, help="refuse if the lock cost exceeds this (TAO)")
@endpoint_option
@fail_cleanly
def subnet_register(key: str, hotkey: str, max_lock: str | None, endpoint: str) -> None:
    """Register a subnet."""
    args: dict[str, Any] = {"hotkey": addr(hotkey)}
    if max_lock:
        args["max_lock_cost"] = tao(max_lock)
    submit(endpoint, key, "register_network", args)


@subnet_group.command("dissolve")
@click.argument("netuid", type=int)
@key_option(help="owner coldkey")
@endpoint_option
@fail_cleanly
def subnet_dissolve(netuid: int, key: str, endpoint: str) -> None:
    """Dissolve a subnet (the lock returns to the owner)."""
    submit(endpoint, key, "dissolve_network", {"netuid": netuid})


@subnet_group.command("list")
@endpoint_option
@output_option
@fail_cleanly
def subnet_list(endpoint: str, output: str) -> None:
    """All subnets."""
    with client(endpoint) as c:
        subnets = c.subnets()
    if emit_document(subnets, output):
        return
    cols = [("netuid", 0), ("owner", 3), ("n", 0), ("tempo", 2), ("burn", 0), ("lock", 4)]
    cols += [("share", 0), ("pending", 1), ("immune", 5)]
    rows = [
        [
            safe(s["netuid"]),
            safe((s["owner_coldkey"] or "-")[:10]),
            safe(f"{s['n']}/{s['max_allowed_uids']}"),
            safe(s["tempo"]),
            fmt_tao(s["burn"]),
            fmt_tao(s["lock"]),
            f"{s['emission_share'] / SHARE_ONE:.4f}",
            fmt_tao(s["pending_emission"]),
            safe(s["immune"]),
        ]
        for s in subnets
    ]
    print_table(cols, rows)


@subnet_group.command("hyperparameters")
@click.argument("netuid", type=int)
@endpoint_option
@output_option
@fail_cleanly
def subnet_hyperparameters(netuid: int, endpoint: str, output: str) -> None:
    """A subnet's hyperparameters."""
    with client(endpoint) as c:
        hp = c.hyperparameters(netuid)
    if emit_document(hp, output):
        return
    t = Table("name", "value")
    for k, v in hp.items():
        t.add_row(safe(k), safe(v))
    out.print(t)


@subnet_group.command("set")
@click.argument("netuid", type=int)
@click.argument("name")
@click.argument("value")
@key_option(help="owner coldkey (or the sudo key)")
@endpoint_option
@fail_cleanly
def subnet_set(netuid: int, name: str, value: str, key: str, endpoint: str) -> None:
    """Set hyperparameter NAME to VALUE (integer, or true/false)."""
    v: Any = {"true": True, "false": False}.get(value.lower())
    if v is None:
        v = int(value)
    submit(endpoint, key, "set_hyperparameter", {"netuid": netuid, "name": name, "value": v})


@subnet_group.command("lock-cost")
@endpoint_option
@output_option
@fail_cleanly
def subnet_lock_cost(endpoint: str, output: str) -> None:
    """The current subnet lock cost (TAO; json/yaml: rao)."""
    with client(endpoint) as c:
        rao = c.lock_cost()
    if not emit_document({"lock_cost": rao}, output):
        click.echo(fmt_tao(rao))


# ---- neurons --------------------------------------------------------------------------------
@click.group("neuron")
def neuron_group() -> None:
    """Register neurons."""


@neuron_group.command("register")
@click.option("--netuid", type=int, required=True)
@key_option(help="coldkey that pays the burn")
@click.option("--hotkey", required=True)
@click.option("--max-burn", default=None, help="refuse if the burn exceeds this (TAO)")
@endpoint_option
@fail_cleanly
def neuron_register(
    netuid: int, key: str, hotkey: str, max_burn: str | None, endpoint: str
) -> None:
    """Burned registration of HOTKEY on NETUID."""
    args: dict[str, Any] = {"netuid": netuid, "hotkey": addr(hotkey)}
    if max_burn:
        args["max_burn"] = tao(max_burn)
    submit(endpoint, key, "burned_register", args)


@click.group("root")
def root_group() -> None:
    """Root network (netuid 0)."""


@root_group.command("register")
@key_option(help="coldkey")
@click.option("--hotkey", required=True)
@endpoint_option
@fail_cleanly
def root_register(key: str, hotkey: str, endpoint: str) -> None:
    """Join the root network."""
    submit(endpoint, key, "root_register", {"hotkey": addr(hotkey)})


@root_group.command("weights")
@key_option(help="root validator hotkey")
@click.option("--netuids", required=True, help="comma-separated netuids")
@click.option("--values", required=True, help="comma-separated weights")
@endpoint_option
@fail_cleanly
def root_weights(key: str, netuids: str, values: str, endpoint: str) -> None:
    """Set root weights over subnets."""
    submit(endpoint, key, "set_root_weights", {"netuids": _ints(netuids), "values": _ints(values)})


# ---- stake ----------------------------------------------------------------------------------
@click.group("stake")
def stake_group() -> None:
    """Add or remove stake."""


@stake_group.command("add")
@click.option("--hotkey", required=True)
@click.argument("amount")
@key_option(help="coldkey")
@endpoint_option
@fail_cleanly
def stake_add(hotkey: str, amount: str, key: str, endpoint: str) -> None:
    """Stake AMOUNT TAO on HOTKEY."""
    submit(endpoint, key, "add_stake", {"hotkey": addr(hotkey), "amount": tao(amount)})


@stake_group.command("remove")
@click.option("--hotkey", required=True)
@click.argument("amount")
@key_option(help="coldkey")
@endpoint_option
@fail_cleanly
def stake_remove(hotkey: str, amount: str, key: str, endpoint: str) -> None:
    """Unstake AMOUNT TAO from HOTKEY."""
    submit(endpoint, key, "remove_stake", {"hotkey": addr(hotkey), "amount": tao(amount)})


@click.group("delegate")
def delegate_group() -> None:
    """Delegate take."""


@delegate_group.command("take")
@click.option("--hotkey", required=True)
@click.argument("percent", type=float)
@key_option(help="owner coldkey of the hotkey")
@endpoint_option
@fail_cleanly
def delegate_take(hotkey: str, percent: float, key: str, endpoint: str) -> None:
    """Set the delegate take to PERCENT (0-18)."""
    submit(
        endpoint, key, "set_take", {"hotkey": addr(hotkey), "take": int(percent / 100 * U16_MAX)}
    )


# ---- weights / axon -------------------------------------------------------------------------
def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


@click.group("weights")
def weights_group() -> None:
    """Set weights."""


@weights_group.command("set")
@click.option("--netuid", type=int, required=True)
@click.option("--uids", required=True, help="comma-separated uids")
@click.option("--values", required=True, help="comma-separated weights (max-upscaled to u16)")
@click.option("--version-key", type=int, default=0)
@key_option(help="validator hotkey")
@endpoint_option
@fail_cleanly
def weights_set(
    netuid: int, uids: str, values: str, version_key: int, key: str, endpoint: str
) -> None:
    """Set weights on a subnet."""
    submit(
        endpoint,
        key,
        "set_weights",
        {
            "netuid": netuid,
            "uids": _ints(uids),
            "values": _ints(values),
            "version_key": version_key,
        },
    )


@click.group("axon")
def axon_group() -> None:
    """Serve an axon."""


@axon_group.command("serve")
@click.option("--netuid", type=int, required=True)
@click.option("--ip", required=True)
@click.option("--port", type=int, required=True)
@key_option(help="hotkey")
@endpoint_option
@fail_cleanly
def axon_serve(netuid: int, ip: str, port: int, key: str, endpoint: str) -> None:
    """Publish where this hotkey's axon answers."""
    submit(endpoint, key, "serve_axon", {"netuid": netuid, "ip": ip, "port": port})


# ---- metagraph ------------------------------------------------------------------------------
@click.command("metagraph")
@click.argument("netuid", type=int)
@click.option("--json", "as_json", is_flag=True, help="raw JSON (same as --output json)")
@endpoint_option
@output_option
@fail_cleanly
def metagraph(netuid: int, as_json: bool, endpoint: str, output: str) -> None:
    """A subnet's metagraph as a table."""
    with client(endpoint) as c:
        mg = c.metagraph(netuid)
    if emit_document(mg, "json" if as_json else output):
        return
    f = lambda v: f"{v / U16_MAX:.5f}"  # noqa: E731
    # what a reader needs first stays; the rest goes, highest rank first, on a narrow terminal
    cols = [("UID", 0), ("HOTKEY", 0), ("STAKE", 0), ("RANK", 7), ("TRUST", 5), ("CONSENSUS", 6)]
    cols += [("INCENTIVE", 0), ("DIVIDENDS", 0), ("EMISSION", 0), ("VTRUST", 4), ("VPERMIT", 3)]
    cols += [("AXON", 10), ("REG", 9), ("IMMUNE", 8)]
    rows = []
    for n in mg["neurons"]:
        axon = safe(f"{n['axon']['ip']}:{n['axon']['port']}") if n["axon"] else "-"
        rows.append(
            [
                safe(n["uid"]),
                safe(n["hotkey"][:10]),
                fmt_tao(n["stake"]),
                f(n["rank"]),
                f(n["trust"]),
                f(n["consensus"]),
                f(n["incentive"]),
                f(n["dividends"]),
                fmt_tao(n["emission"]),
                f(n["validator_trust"]),
                "*" if n["validator_permit"] else "",
                axon,
                safe(n["registered_at"]),
                "yes" if n["immune"] else "",
            ]
        )
    print_table(cols, rows, title=f"subnet {netuid} @ block {safe(mg['block'])}")


def main(argv: list[str] | None = None) -> int:
    """Run the chain commands as a standalone group (``python -m subnetes.chain``)."""
    root = click.Group("subnetes")
    register_commands(root)
    try:
        root.main(args=argv, prog_name="subnetes", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
