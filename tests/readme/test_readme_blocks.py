"""The README's command blocks are tests (issue 14 #1).

Every shell block of README.md and docs/ is either run here, as written, against the local
control plane and a real chain process, or named in ``EXEMPT`` with the reason; a pure test
fails when a block is neither, so a new block cannot escape. Substitutions are explicit and
checked (``tests/readme/shell.py``): the walkthrough's port ``9944``, folder ``/tmp/``
(database and logs), namespace ``compute`` and ``~/.bittensor/wallets`` become this test's own,
so it never touches a user's files or another session's chain, and its wallets are real btcli wallets (encrypted
coldkeys, made by the bittensor-wallet package) whose passwords are typed at ``read`` as a
person would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bittensor_wallet import Wallet

from subnetes.localnet.cluster import LocalCluster, cache_dir

from .blocks import Block, Command, all_blocks, commands, shell_blocks, slug
from .shell import BlockFailed, Shell, substitute

REPO = Path(__file__).resolve().parents[2]

# Blocks this module runs (the cluster test below asserts it ran each one).
WALKTHROUGH = "README.md#by-hand-the-kubectl-session/0"
CONTROL_PLANE = "README.md#the-local-control-plane/0"
WHILE_IT_RUNS = "README.md#prerequisites/1"  # "While it runs, the cluster is a normal one"
RUN = {WALKTHROUGH, CONTROL_PLANE, WHILE_IT_RUNS}

# Blocks no test here runs, each with why (and what covers it instead, where something does).
EXEMPT = {
    "README.md#two-commands/0": "`make test` would run this suite inside itself; `make demo` is "
    "interactive until Ctrl-C: tests/localnet/test_demo.py runs its headless mode",
    "README.md#prerequisites/0": "apt-get needs root and the network; "
    "tests/test_hack_scripts.py checks the list against hack/prereqs.sh and .ci/run",
    "README.md#prerequisites/2": "needs `make demo` running (its gateway pod and API key); "
    "tests/localnet/test_demo.py runs the demo headless, whose gateway answers the same request "
    "(verified) and prints this curl; tests/operator/test_operator_gateway_e2e_cluster.py sends "
    "it to a gateway pod the operator made",
    "README.md#benchmarks/0": "benchmarks print figures for minutes; they are not tests",
    "README.md#a-real-node/0": "needs root and the images: the e2e suite (tests/e2e) runs "
    "this cluster and `pytest -m e2e` is CI's third step",
    "README.md#using-kind/0": "needs Docker and kind (not on CI's machine); tests/e2e runs the "
    "same helm install with the same values files on the real node",
    "README.md#using-kind/1": "needs NVIDIA GPUs, Docker and the network (helm repo add)",
    "docs/chain.md#run-it/0": "three alternative servers (one a PostgreSQL URL with `...`); "
    "the README walkthrough runs `subnetes chain run`",
    "docs/crds.md#one-source-of-truth/0": "rewrites crds/ in the working tree; "
    "tests/crds/test_schemas.py checks the files are what the generator writes",
    "docs/dashboard.md#chain-dashboard/0": "a server on 9944, as in the README walkthrough; "
    "tests/dashboard serves and loads the page",
    "docs/gateway.md#what-a-user-types/0": "an in-cluster Service URL and an API key; "
    "tests/gateway/test_gateway_processes.py sends the same request to a real gateway",
    "docs/gateway.md#two-experts-matmul-and-linsolve/0": "an in-cluster router URL and an API "
    "key; tests/gateway/test_gateway_multisubnet.py sends linsolve through a real router, and "
    "tests/localnet/test_demo.py's demo does through its router",
    "docs/images.md#dependencies-the-lock-files/0": "re-resolves the locks from PyPI (network)",
    "docs/images.md#local-build-the-e2e-suites-and-kinds-images/0": "root and containerd: "
    "the e2e suite builds and imports the images",
    "docs/local-cluster.md#start-stop-clean-up/0": "root: the e2e suite's real-node cluster",
    "docs/operator.md#running-it/0": "the README walkthrough runs the operator the same way "
    "(`subnetes operator run --standalone -n`)",
    "docs/operator.md#scale-and-ha/0": "a syntax line (`[--leader-election-namespace NS]`); "
    "tests/operator/test_operator_leader_cluster.py runs leader election",
    "docs/operator.md#scale-run-hackscaleoperatorpy/0": "a benchmark (minutes)",
    "docs/operator.md#5000-neurons-across-32-subnets-issue-19/0": "benchmarks (the 5,000 run takes "
    "tens of minutes)",
    "docs/operator.md#5000-neurons-across-32-subnets-issue-19/1": "two releases on a cluster with "
    "images and charts installed; tests/charts/test_render_operator_shards.py renders these two "
    "commands as written",
    "docs/operations.md#backup-and-restore/0": "a deployment's paths and URLs; "
    "tests/chain/test_backup.py runs the same commands on SQLite and PostgreSQL",
}

PASSWORDS = {"owner": "owner correct horse", "team": "team battery staple"}
NEURONS = 6  # examples/compute-subnet/: 2 validators, 4 miners
TAO = 10**9  # rao


# ---------------------------------------------------------------- pure: coverage and extractor


def test_every_shell_block_is_run_or_exempted() -> None:
    blocks = {b.key: b for b in all_blocks(REPO)}
    loose = [f"{b.key} (line {b.line})" for k, b in blocks.items() if k not in RUN | EXEMPT.keys()]
    assert not loose, f"shell blocks neither run by tests/readme nor in its EXEMPT table: {loose}"
    assert not (RUN & EXEMPT.keys()), "a block is both run and exempted"
    # A page that is not there (yet: pages land in separate commits) makes no key stale.
    stale = sorted(
        k for k in (RUN | EXEMPT.keys()) - blocks.keys() if (REPO / k.split("#")[0]).is_file()
    )
    assert not stale, f"tests/readme names blocks the pages no longer have: {stale}"


def test_blocks_are_keyed_by_page_section_and_place(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "# Top\n```sh\na\n```\n## By hand: the `kubectl` session\n```python\nx\n```\n"
        "~~~bash\nb\n~~~\n```sh\n# heading-looking comment\nc\n```\n"
    )
    blocks = shell_blocks(page, tmp_path)
    assert [(b.key, b.line, b.text) for b in blocks] == [
        ("p.md#top/0", 3, "a"),
        ("p.md#by-hand-the-kubectl-session/0", 10, "b"),
        ("p.md#by-hand-the-kubectl-session/1", 13, "# heading-looking comment\nc"),
    ]
    assert slug("Local build (the e2e suite's and kind's images)") == (
        "local-build-the-e2e-suites-and-kinds-images"
    )


def test_commands_join_continuations_and_mark_background_and_watch() -> None:
    text = (
        "# a comment\n\nsubnetes chain run --port 9944 &   # 127.0.0.1 only\n"
        "kubectl get miners -w           # changes every epoch\n"
        "helm install x \\\n  -f 'a # b.yaml'\nexport A=1 B=2\necho '&'\n"
        "operator run > /tmp/op.log 2>&1 &  # -A\nmake x 2>&1\n"
    )
    assert commands(text) == [
        Command("subnetes chain run --port 9944", background=True),
        Command("kubectl get miners -w"),
        Command("helm install x -f 'a # b.yaml'"),
        Command("export A=1 B=2"),
        Command("echo '&'"),
        Command("operator run > /tmp/op.log 2>&1", background=True),
        Command("make x 2>&1"),
    ]
    assert commands(text)[1].is_watch and not commands(text)[2].is_watch


def test_a_substitution_missing_from_the_block_fails_instead_of_running_unsubstituted() -> None:
    block = Block("README.md", "s", 0, 1, "subnetes chain run --port 9944")
    assert substitute(block, [("9944", "12345")]) == "subnetes chain run --port 12345"
    with pytest.raises(BlockFailed, match=r"expected '/tmp/chain\.db'"):
        substitute(block, [("/tmp/chain.db", "/x")])


# ---------------------------------------------------------------- cluster: run them


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def wallets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's two btcli wallets, made by the bittensor-wallet package: encrypted
    coldkeys (the passwords in PASSWORDS), plain default hotkeys."""
    root = tmp_path_factory.mktemp("wallets")
    for name, password in PASSWORDS.items():
        w = Wallet(name=name, hotkey="default", path=str(root))
        w.create_new_coldkey(
            use_password=True, coldkey_password=password, overwrite=True, suppress=True
        )
        w.create_new_hotkey(use_password=False, overwrite=True, suppress=True)
    return root


def _wait_ready(port: int, timeout: float = 240.0) -> None:
    """Until the chain answers /readyz (it compiles the epoch before producing blocks)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the chain on port {port} not ready in {timeout}s")
        time.sleep(0.5)


LOGGED_IN = "Initial authentication has finished"  # Kopf's line once it talks to the cluster


def _wait_log(log: Path, line: str, timeout: float = 120.0) -> None:
    """Until ``log`` shows ``line``, then a moment more (a start-up failure follows at once)."""
    deadline = time.monotonic() + timeout
    while not (log.is_file() and line in log.read_text(errors="replace")):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{log} did not show {line!r} in {timeout}s")
        time.sleep(0.5)
    time.sleep(2.0)


def _kubectl_json(cluster: LocalCluster, *args: str) -> dict:
    r = cluster.kubectl(*args, "-o", "json")
    return json.loads(r.stdout) if r.returncode == 0 else {"items": []}


def _all_registered(cluster: LocalCluster, ns: str) -> bool:
    """Every Miner and Validator of the example has a UID on the chain."""
    items = _kubectl_json(cluster, "get", "miners,validators", "-n", ns)["items"]
    uids = [i.get("status", {}).get("uid") for i in items]
    return len(uids) == NEURONS and all(u is not None for u in uids)


@pytest.fixture
def shell(cluster: LocalCluster, tmp_path: Path) -> Iterator[Shell]:
    """A terminal session in the repository; it ends every background job it started."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"KUBECONFIG", "SUBNETES_CHAIN_ENDPOINT", "SUBNETES_KEY_PASSWORD"}
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    sh = Shell(cwd=REPO, env=env, logs=logs)
    try:
        yield sh
    finally:
        sh.close()


def test_readme_sessions_run_as_written(
    cluster: LocalCluster, shell: Shell, wallets: Path, tmp_path: Path
) -> None:
    blocks = {b.key: b for b in all_blocks(REPO)}
    ran: set[str] = set()
    port, ns = _free_port(), f"readme-{uuid.uuid4().hex[:8]}"
    # Only if this machine keeps its cache elsewhere ($SUBNETES_CACHE): the README's path.
    cache = [("~/.cache/subnetes", str(cache_dir()))]
    if cache_dir() == Path.home() / ".cache" / "subnetes":
        cache = []

    def run(key: str, subs: list[tuple[str, str]]) -> None:
        text = substitute(blocks[key], subs)
        text = substitute(Block(key, "", 0, 0, text), cache, optional=True)
        shell.run_block(blocks[key], text)
        ran.add(key)

    # "The local control plane": up (reused), nodes listed with their GPU product.
    run(CONTROL_PLANE, [])
    nodes = shell.transcript[-1]
    assert "GPU.PRODUCT" in nodes and "gpu-node-0" in nodes and "NVIDIA" in nodes, nodes

    # "By hand: the kubectl session", its chain and operator in the background.
    shell.ready = {
        r"subnetes chain run": lambda _cmd: _wait_ready(port),
        r"subnetes operator run": lambda _cmd: _wait_log(tmp_path / "operator.log", LOGGED_IN),
    }
    shell.watch_until = {r"kubectl get miners": lambda: _all_registered(cluster, ns)}
    shell.stdin = {rf"^read .* {name.upper()}_PW\b": pw + "\n" for name, pw in PASSWORDS.items()}
    shell.logs_elsewhere = [tmp_path / "chain.log", tmp_path / "operator.log"]
    try:
        run(
            WALKTHROUGH,
            [
                ("9944", str(port)),
                ("/tmp/", f"{tmp_path}/"),
                ("~/.bittensor/wallets", str(wallets)),
                ("-n compute", f"-n {ns}"),
                ("namespace compute", f"namespace {ns}"),
            ],
        )
        # The walkthrough works: every neuron registered, the validators' stake (100 + 50 TAO)
        # paid by the team's coldkey (the README once funded only the owner's: it could not).
        endpoint = ["--endpoint", f"http://127.0.0.1:{port}"]
        team = str(wallets / "team" / "coldkey")
        staked = _poll(lambda: int(_cli("account", team, "-o", "json", *endpoint)["total_stake"]))
        assert staked >= 150 * TAO, staked
        neurons = _cli("metagraph", "1", "-o", "json", *endpoint)["neurons"]
        assert len(neurons) == NEURONS + 1, neurons  # UID 0: the owner's hotkey, with the subnet
        assert sorted(int(n["stake"]) for n in neurons)[-2:] >= [50 * TAO, 100 * TAO], neurons

        # "While it runs, the cluster is a normal one": the same reads on this namespace.
        run(WHILE_IT_RUNS, [("-n subnetes-demo", f"-n {ns}")])
        assert "miner-0" in shell.transcript[-1]
    finally:
        cluster.kubectl("delete", "namespace", ns, "--wait=false")
        # The operator (still running) lets the finalizers go; then close() stops it.
        _wait_gone(cluster, ns, timeout=30.0)
    assert ran == RUN, f"declared as run but not run: {RUN - ran}"


def _cli(*args: str) -> Any:
    """``subnetes ARGS`` (a read command with ``-o json``): its JSON document."""
    r = subprocess.run(
        [str(REPO / ".venv" / "bin" / "subnetes"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _poll(value: Callable[[], int], at_least: int = 150 * 10**9, timeout: float = 60.0) -> int:
    """``value()`` once it reaches ``at_least``, else its last reading after ``timeout``."""
    deadline = time.monotonic() + timeout
    while (v := value()) < at_least and time.monotonic() < deadline:
        time.sleep(1.0)
    return v


def _wait_gone(cluster: LocalCluster, ns: str, timeout: float) -> None:
    """Until the namespace is gone; then its objects' finalizers are dropped (the Secrets the
    operator needs to finalize go with the namespace, and its chain is thrown away anyway)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.kubectl("get", "namespace", ns).returncode != 0:
            return
        time.sleep(1.0)
    for item in _kubectl_json(cluster, "get", "subnets,miners,validators", "-n", ns)["items"]:
        cluster.kubectl(
            "patch", item["kind"].lower(), item["metadata"]["name"], "-n", ns, "--type=merge",
            "-p", '{"metadata":{"finalizers":null}}',
        )  # fmt: skip
