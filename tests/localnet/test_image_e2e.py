"""The images built here, for real: `ctr images import` into a throwaway containerd (the
Debian release's, as the node's), then containers from them under runc.

Never skipped: a missing prerequisite (root, containerd, ctr, runc, mmdebstrap, go) fails with
what to install. The containerd runs as a plain process with its root, state and socket in a
temporary folder, CRI off; it is stopped by PID and its folder removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from subnetes.localnet import image

pytestmark = pytest.mark.e2e

PRODUCT = image.PRODUCT_IMAGE
PAUSE = image.PAUSE_IMAGE


def _require(tool: str, package: str) -> str:
    path = shutil.which(tool) or (
        f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None
    )
    if not path:
        pytest.fail(f"{tool} is required (apt-get install {package})")
    return path


class Containerd:
    """containerd as a plain process in ``root``, with a ``ctr`` bound to its socket."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "containerd.sock"
        self.ctr_bin = _require("ctr", "containerd")
        # runc's own state apart from any other containerd's (the node's uses the default).
        self.runtime = ("--runc-binary", _require("runc", "runc"), "--runc-root", f"{root}/runc")
        config = root / "config.toml"
        config.write_text(
            "version = 2\n"
            f'root = "{root}/root"\n'
            f'state = "{root}/state"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            f'[grpc]\n  address = "{self.socket}"\n'
            f'[ttrpc]\n  address = "{self.socket}.ttrpc"\n'
        )
        self.log = (root / "containerd.log").open("w")
        self.proc = subprocess.Popen(
            [_require("containerd", "containerd"), "--config", str(config)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"containerd did not start:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, lines: int = 30) -> str:
        path = self.root / "containerd.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def ctr(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [self.ctr_bin, "--address", str(self.socket), "-n", "k8s.io", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"ctr {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}\n"
                f"containerd log:\n{self.tail()}"
            )
        return proc

    def run(self, ref: str, name: str, *args: str, flags: tuple[str, ...] = ()) -> str:
        """Run a container to completion (removed after); return its output."""
        return self.ctr("run", "--rm", *self.runtime, *flags, ref, name, *args).stdout

    def task_pid(self, name: str) -> int:
        for line in self.ctr("task", "ls").stdout.splitlines()[1:]:
            fields = line.split()
            if fields[0] == name:
                return int(fields[1])
        raise AssertionError(f"no task {name}")

    def remove(self, name: str) -> None:
        """Kill, delete and remove a container (quietly: it may be gone already)."""
        self.ctr("task", "kill", "-s", "SIGKILL", name, check=False)
        self.wait_stopped(name)
        self.ctr("task", "delete", name, check=False)
        self.ctr("container", "rm", name, check=False)

    def wait_stopped(self, name: str, timeout: float = 10.0) -> bool:
        """Wait until the task is no longer RUNNING; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = [line.split() for line in self.ctr("task", "ls").stdout.splitlines()[1:]]
            if not any(row[0] == name and row[2] == "RUNNING" for row in rows):
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        # Snapshots stay mounted only while containers exist; unmount any left over.
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        for target in sorted((m.split()[1] for m in mounts if str(self.root) in m), reverse=True):
            subprocess.run(["umount", "-l", target], check=False)


@pytest.fixture(scope="module")
def images() -> dict[str, Path]:
    if os.geteuid() != 0:
        pytest.fail("the image build and containerd need root")
    _require("mmdebstrap", "mmdebstrap")
    _require("go", "golang (Go >= 1.26)")
    return image.build_images()


@pytest.fixture(scope="module")
def containerd(images: dict[str, Path]) -> Iterator[Containerd]:
    # A short path: the socket's must fit in sun_path (108 bytes).
    root = Path(tempfile.mkdtemp(prefix="ctd-", dir="/tmp"))
    daemon = Containerd(root)
    try:
        for archive in images.values():
            daemon.ctr("images", "import", str(archive))
        yield daemon
    finally:
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_both_archives_import_under_their_names(containerd: Containerd, images) -> None:
    assert set(images) == {PRODUCT, PAUSE}
    listed = set(containerd.ctr("images", "ls", "-q").stdout.split())
    assert {PRODUCT, PAUSE} <= listed
    # A second import of the same archive is accepted (the harness re-imports on each up).
    containerd.ctr("images", "import", str(images[PAUSE]))


def test_product_image_runs_the_cli_as_the_unprivileged_user(containerd: Containerd) -> None:
    out = containerd.run(PRODUCT, "cli-help")  # the image's own ENTRYPOINT + CMD: --help
    assert "Usage: subnetes" in out and "chain" in out
    out = containerd.run(PRODUCT, "whoami", "sh", "-c", 'id -u; id -g; pwd; echo "$PATH"')
    assert out.split() == ["10001", "10001", "/data", image.ENV["PATH"]]
    passwd = containerd.run(PRODUCT, "passwd", "grep", "^subnetes:", "/etc/passwd")
    assert passwd.strip() == image.passwd_line()


def test_product_image_imports_jax_and_the_chain_on_a_read_only_root(
    containerd: Containerd,
) -> None:
    code = (
        "import jax, jax.numpy as jnp, subnetes.chain, subnetes.operator, os; "
        "print(int(jnp.arange(5).sum()), os.environ['SUBNETES_JAX_CACHE'])"
    )
    out = containerd.run(PRODUCT, "jax", "python", "-c", code, flags=("--read-only",))
    assert out.split() == ["10", "/tmp/jax-cache"]


def test_pause_reaps_orphans_and_exits_on_sigterm(containerd: Containerd) -> None:
    containerd.ctr("run", "-d", *containerd.runtime, PAUSE, "pause")
    try:
        pause_pid = containerd.task_pid("pause")
        assert Path(f"/proc/{pause_pid}/status").read_text().count("65535") >= 4  # uid/gid
        # A second container in the pause's PID namespace (as a pod's containers) orphans a
        # child: it becomes the pause's, and must not stay a zombie once it exits.
        containerd.ctr(
            "run", "-d", *containerd.runtime,
            "--with-ns", f"pid:/proc/{pause_pid}/ns/pid",
            PRODUCT, "orphaner", "sh", "-c", "(sleep 1 &); sleep 60",
        )  # fmt: skip
        try:
            time.sleep(0.5)
            assert _children(pause_pid), "the orphan was not re-parented to the pause"
            time.sleep(2.5)
            assert _children(pause_pid) == [], "pause left a zombie"
        finally:
            containerd.remove("orphaner")
        containerd.ctr("task", "kill", "-s", "SIGTERM", "pause")
        assert containerd.wait_stopped("pause"), "pause ignored SIGTERM"
        deleted = containerd.ctr("task", "delete", "pause")
        assert "non-zero exit code" not in deleted.stderr, deleted.stderr
    finally:
        containerd.remove("pause")


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (zombies included: they are listed until reaped)."""
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()]


def test_removing_a_build_folder_never_deletes_through_a_mount(tmp_path: Path) -> None:
    """A killed mmdebstrap can leave host folders bind-mounted inside the rootfs: the cleanup
    unmounts them first instead of deleting the host's files through them."""
    if os.geteuid() != 0:
        pytest.fail("needs root (mount)")
    precious = tmp_path / "host-dev"
    precious.mkdir()
    (precious / "keep").write_text("host file")
    tree = tmp_path / "base-build" / "rootfs"
    (tree / "dev").mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(precious), str(tree / "dev")], check=True)
    try:
        assert (tree / "dev" / "keep").exists()
        assert image.remove_tree(tmp_path / "base-build")
    finally:
        subprocess.run(["umount", "-l", str(tree / "dev")], capture_output=True, check=False)
    assert not (tmp_path / "base-build").exists()
    assert (precious / "keep").read_text() == "host file"
