"""Build the product image and the pod sandbox (pause) image here: no Docker, no registry.

Both come out as OCI archives that ``ctr -n k8s.io images import`` takes (containerd 1.6+):

- the product image ``localhost/subnetes:dev``, two layers:
  1. base: a minimal Debian bookworm root filesystem (mmdebstrap, Debian's own packages:
     python3, python3-venv, ca-certificates), a venv at ``/opt/subnetes`` holding the locked
     dependencies (``requirements.lock``, installed offline from a wheelhouse with pip's hash
     checking), the ``subnetes`` user (10001) and ``/data``. Cached by a hash of its inputs
     (lock file, package list, recipe); a cold build takes minutes and needs root (chroot).
  2. app: only the subnetes wheel, unpacked into the venv with its console script and
     bytecode. Cached by a hash of the sources; rebuilt in seconds when they change.
- the pause image ``localhost/subnetes/pause:3.10``: one layer holding ``/pause``, the static
  Go program from ``hack/tools/pause``.

The Dockerfile builds the same layout (same venv, user, workdir, env, entrypoint, lock file).
The facts both share are the constants below; tests/localnet/test_image_dockerfile.py fails
when the Dockerfile says otherwise.

Entry points: ``bash hack/build-images.sh`` or ``python -m subnetes.localnet.image`` (prints
``NAME PATH`` per image), and ``build_images()`` (returns ``{name: archive path}``).
"""

from __future__ import annotations

import argparse
import base64
import configparser
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from subnetes.localnet import oci

REPO_ROOT = Path(__file__).resolve().parent.parent

# ---- Shared facts: the Dockerfile states each of these too (a test compares) ---------------
VENV = "/opt/subnetes"
PYTHON_VERSION = "3.11"  # Debian bookworm's python3; the lock is resolved for it
USER_NAME = "subnetes"
UID = 10001
GID = 10001
HOME = "/nonexistent"
SHELL = "/usr/sbin/nologin"
WORKDIR = "/data"
ENTRYPOINT = ("subnetes",)
CMD = ("--help",)
ENV = {
    "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "PYTHONUNBUFFERED": "1",
    "SUBNETES_JAX_CACHE": "/tmp/jax-cache",
}
EXPOSED_PORTS = (9944, 8091)
DEBIAN_SUITE = "bookworm"
# libstdc++6: manylinux wheels (jaxlib) expect the system's, and debian:bookworm-slim has it.
DEBIAN_PACKAGES = ("python3", "python3-venv", "ca-certificates", "libstdc++6")
LOCK_FILE = "requirements.lock"  # the CPU image's; requirements-cuda.lock adds the gpu extra
CUDA_LOCK_FILE = "requirements-cuda.lock"
# Besides the package folders of [tool.setuptools.package-dir], the wheel build reads these.
WHEEL_SOURCE_FILES = ("pyproject.toml", "README.md")

# ---- Local build only -------------------------------------------------------------------------
PRODUCT_IMAGE = "localhost/subnetes:dev"
PAUSE_IMAGE = "localhost/subnetes/pause:3.10"
PAUSE_USER = "65535:65535"  # as the upstream pause image
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# Bump one when its layer's recipe changes in a way that its hashed inputs do not show.
BASE_RECIPE = 1
APP_RECIPE = 1
PAUSE_RECIPE = 1
# The mtime of every file in the app and pause layers (reproducible layers, same digests).
SOURCE_DATE_EPOCH = 315532800  # 1980-01-01, the zip epoch
# Directories whose contents stay out of the base layer: the runtime mounts its own there.
SKIP_CONTENTS = ("dev", "proc", "sys", "tmp", "run")
KEEP_LAYER_VERSIONS = 2  # base and app layers kept per kind (older blobs are deleted)
# Layers are gzipped (level 1: fast to make). ctr import streams every blob of an archive to
# containerd, even one it already has, so a smaller archive re-imports faster: measured with
# containerd 1.6.20, the product image imports in 16 s either way the first time, and again
# in 3.5 s gzipped against 10.5 s uncompressed (the archive: 285 MiB against 880 MiB).
LAYER_GZIP_LEVEL: int | None = 1

Log = Callable[[str], None]


class ImageBuildError(RuntimeError):
    """An image could not be built (a missing tool, a failed step)."""


def _stderr(msg: str) -> None:
    print(f"[build-images] {msg}", file=sys.stderr, flush=True)


def default_cache_dir() -> Path:
    """``$SUBNETES_CACHE/images`` (default ``~/.cache/subnetes/images``)."""
    root = Path(os.environ.get("SUBNETES_CACHE", Path.home() / ".cache" / "subnetes"))
    return root / "images"


# ---- Facts as files and config ----------------------------------------------------------------
def passwd_line() -> str:
    """The /etc/passwd entry of the image's user (what Docker's ``useradd`` writes)."""
    return f"{USER_NAME}:x:{UID}:{GID}::{HOME}:{SHELL}"


def group_line() -> str:
    """The /etc/group entry of the image's group."""
    return f"{USER_NAME}:x:{GID}:"


def product_runtime_config() -> dict:
    """The OCI image config's ``config`` section of the product image."""
    return {
        "User": f"{UID}:{GID}",
        "Env": [f"{k}={v}" for k, v in ENV.items()],
        "Entrypoint": list(ENTRYPOINT),
        "Cmd": list(CMD),
        "WorkingDir": WORKDIR,
        "ExposedPorts": {f"{port}/tcp": {} for port in EXPOSED_PORTS},
    }


def pause_runtime_config() -> dict:
    """The OCI image config's ``config`` section of the pause image."""
    return {"User": PAUSE_USER, "Entrypoint": ["/pause"], "WorkingDir": "/"}


def site_packages() -> str:
    """The venv's site-packages, absolute inside the image."""
    return f"{VENV}/lib/python{PYTHON_VERSION}/site-packages"


# ---- Lock file --------------------------------------------------------------------------------
_REQ_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def canonical_name(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, dict]:
    """Parse a ``--generate-hashes`` lock: {name: {"version", "extras", "hashes"}}."""
    pins: dict[str, dict] = {}
    current: dict | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _REQ_LINE.match(line)
        if match:
            extras = match.group(2)
            current = {
                "version": match.group(3),
                "extras": sorted(e.strip() for e in extras[1:-1].split(",")) if extras else [],
                "hashes": [],
            }
            pins[canonical_name(match.group(1))] = current
        for token in line.split():
            if token.startswith("--hash=") and current is not None:
                current["hashes"].append(token.split("=", 1)[1])
    return pins


# ---- Helpers ----------------------------------------------------------------------------------
def _key(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(args: list[str], *, log_file: Path | None = None, **kwargs: Any) -> None:
    """Run a command; on failure raise with its output's tail."""
    proc = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if log_file is not None:
        with log_file.open("a") as fh:
            fh.write(f"$ {' '.join(args)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise ImageBuildError(f"{args[0]} failed (exit {proc.returncode}):\n{tail}")


def _need(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise ImageBuildError(f"{tool} is required for {why} (apt-get install {tool})")
    return path


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve()).rstrip("/") + "/"
    targets = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [t for t in targets if t.startswith(prefix)]


def remove_tree(path: Path, log: Log = _stderr) -> bool:
    """Delete a build folder, first unmounting what a killed mmdebstrap may have left mounted
    in it (rmtree would walk into the host's /proc or /dev). Leaves it, with a warning, if
    something stays mounted. True if it is gone."""
    if not path.exists():
        return True
    for target in sorted(_mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)
    if left := _mounts_under(path):
        log(f"warning: not removing {path}: still mounted: {left}")
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    """One build at a time per cache (the harness may build while a developer does)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _LayerStore:
    """Built layers under the cache: records in layers/, blobs in blobs/sha256/."""

    def __init__(self, cache: Path, gzip_level: int | None = LAYER_GZIP_LEVEL) -> None:
        self.cache = cache
        self.records = cache / "layers"
        self.blobs = cache / "blobs" / "sha256"
        self.tmp = cache / "tmp"
        self.gzip_level = gzip_level

    def _record(self, kind: str, key: str) -> Path:
        suffix = "" if self.gzip_level is None else f"-gz{self.gzip_level}"
        return self.records / f"{kind}{suffix}-{key}.json"

    def make_layer(self, tar: Path, diff_id: str, created_by: str) -> oci.Layer:
        """Store a layer tar as a blob (gzipped if this store compresses)."""
        return oci.make_layer(
            tar, self.blobs, gzip_level=self.gzip_level, created_by=created_by, diff_id=diff_id
        )

    def get(self, kind: str, key: str) -> oci.Layer | None:
        record = self._record(kind, key)
        if not record.exists():
            return None
        layer = oci.Layer.from_json(json.loads(record.read_text()))
        if not layer.path.exists() or layer.path.stat().st_size != layer.size:
            return None
        os.utime(record)  # most recently used: pruning keeps it
        return layer

    def put(self, kind: str, key: str, layer: oci.Layer) -> None:
        self.records.mkdir(parents=True, exist_ok=True)
        record = self._record(kind, key)
        tmp = record.with_name(f".{record.name}.tmp")
        tmp.write_text(json.dumps(layer.to_json(), indent=1))
        os.replace(tmp, record)
        self._prune(kind)

    def clean_tmp(self, log: Log) -> None:
        """Remove what an interrupted build left (only called under the build lock)."""
        if self.tmp.is_dir():
            for entry in self.tmp.iterdir():
                if entry.is_dir():
                    remove_tree(entry, log)

    def workdir(self, prefix: str) -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.tmp))

    def _prune(self, kind: str) -> None:
        """Keep the newest few records of ``kind`` (any compression); delete unnamed blobs."""
        records = sorted(
            self.records.glob(f"{kind}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in records[KEEP_LAYER_VERSIONS:]:
            old.unlink()
        referenced = {
            Path(json.loads(r.read_text())["path"]).name for r in self.records.glob("*.json")
        }
        for blob in self.blobs.glob("*"):
            if blob.name not in referenced:
                blob.unlink()


# ---- Base layer: Debian + Python + locked dependencies --------------------------------------
def base_key(repo: Path = REPO_ROOT) -> str:
    """What the base layer depends on; a change of any builds a new one."""
    return _key(
        {
            "recipe": BASE_RECIPE,
            "suite": DEBIAN_SUITE,
            "mirror": DEBIAN_MIRROR,
            "packages": DEBIAN_PACKAGES,
            "lock": _file_hash(repo / LOCK_FILE),
            "venv": VENV,
            "users": [passwd_line(), group_line()],
            "workdir": WORKDIR,
            "skip": SKIP_CONTENTS,
        }
    )


def _manylinux_platforms() -> list[str]:
    """pip --platform values bookworm (glibc 2.36) on x86_64 runs: pip does not expand them."""
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)]
    return [*tags, "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


def download_wheels(lock: Path, wheelhouse: Path, log_file: Path | None = None) -> None:
    """Fetch every locked wheel for CPython 3.11 / linux x86_64 (hash-checked) into a cache
    folder; files already there are not fetched again."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    platforms = [arg for tag in _manylinux_platforms() for arg in ("--platform", tag)]
    _run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--require-hashes", "--only-binary=:all:",
            "--python-version", PYTHON_VERSION, "--implementation", "cp",
            "--abi", "cp" + PYTHON_VERSION.replace(".", ""), *platforms,
            "-r", str(lock.resolve()), "-d", str(wheelhouse),
        ],
        log_file=log_file,
        cwd=wheelhouse,
    )  # fmt: skip


def mmdebstrap_args(rootfs: Path) -> list[str]:
    """The mmdebstrap command for the base root filesystem (root mode, into a directory)."""
    args = [
        "mmdebstrap", "--mode=root", "--variant=essential",
        "--aptopt=APT::Install-Recommends \"false\"",
        f"--include={','.join(DEBIAN_PACKAGES)}",
        # What no container reads: manuals, docs (their copyright files stay), translations.
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        "--dpkgopt=path-exclude=/usr/share/info/*",
    ]  # fmt: skip
    merged_usr = Path("/usr/share/mmdebstrap/hooks/merged-usr")
    if merged_usr.is_dir():
        # Merged /usr without the usrmerge package (which would pull in perl: 25 MB).
        args.append(f"--hook-dir={merged_usr}")
    return [*args, DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR]


def _chroot(rootfs: Path, *args: str, log_file: Path) -> None:
    env = ["/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"]
    _run(["chroot", str(rootfs), *env, *args], log_file=log_file)


def build_base_layer(store: _LayerStore, repo: Path, log: Log) -> oci.Layer:
    """The base layer (cached): Debian, Python, the venv with the locked dependencies."""
    key = base_key(repo)
    if cached := store.get("base", key):
        return cached
    if os.geteuid() != 0:
        raise ImageBuildError("building the base layer needs root (mmdebstrap --mode=root, chroot)")
    _need("mmdebstrap", "the base layer")
    started = time.monotonic()
    work = store.workdir("base-")
    log_file = work.parent / f"base-{key}.log"
    log_file.write_text("")
    try:
        log(f"base layer {key}: downloading locked wheels (log: {log_file})")
        download_wheels(repo / LOCK_FILE, store.cache / "wheelhouse", log_file)
        rootfs = work / "rootfs"
        log(f"base layer {key}: mmdebstrap {DEBIAN_SUITE} {' '.join(DEBIAN_PACKAGES)}")
        _run(mmdebstrap_args(rootfs), log_file=log_file)
        _install_locked_venv(rootfs, repo / LOCK_FILE, store.cache / "wheelhouse", log_file)
        _check_shared_libraries(rootfs, log_file)
        _add_user_and_workdir(rootfs)
        log(f"base layer {key}: writing the layer tar")
        tar = work / "layer.tar"
        diff_id, _ = oci.write_layer_tar(rootfs, tar, skip_contents=SKIP_CONTENTS)
        created_by = (
            f"mmdebstrap --variant=essential {DEBIAN_SUITE} {' '.join(DEBIAN_PACKAGES)}; "
            f"python3 -m venv {VENV}; pip install --require-hashes -r {LOCK_FILE}"
        )
        layer = store.make_layer(tar, diff_id, created_by)
        store.put("base", key, layer)
        log(f"base layer {key}: {layer.size / 2**20:.0f} MiB in {time.monotonic() - started:.0f}s")
        return layer
    finally:
        remove_tree(work, log)


def _install_locked_venv(rootfs: Path, lock: Path, wheelhouse: Path, log_file: Path) -> None:
    """Create the venv inside the rootfs and install the lock offline, hash-checked."""
    inside = rootfs / "tmp" / "wheels"
    inside.mkdir(parents=True)
    pins = read_lock(lock)
    for wheel in wheelhouse.glob("*.whl"):
        name = canonical_name(wheel.name.split("-", 1)[0])
        version = wheel.name.split("-")[1]
        if name in pins and pins[name]["version"] == version:
            try:
                os.link(wheel, inside / wheel.name)  # same filesystem: no copy
            except OSError:
                shutil.copy2(wheel, inside / wheel.name)
    shutil.copy2(lock, inside / LOCK_FILE)
    _chroot(rootfs, "python3", "-m", "venv", VENV, log_file=log_file)
    _chroot(
        rootfs, f"{VENV}/bin/pip", "install", "--no-cache-dir", "--disable-pip-version-check",
        "--no-index", "--find-links", "/tmp/wheels", "--require-hashes",
        "-r", f"/tmp/wheels/{LOCK_FILE}", log_file=log_file,
    )  # fmt: skip
    shutil.rmtree(inside)


def _check_shared_libraries(rootfs: Path, log_file: Path) -> None:
    """Fail the build if an extension module in the venv needs a library the rootfs lacks
    (manylinux wheels rely on the system's libstdc++, libgcc_s, ...)."""
    script = (
        # Extension modules only: the libraries that wheels vendor in <name>.libs/ find
        # their siblings through the loading module's rpath, which ldd on them cannot see.
        f"find {VENV} -name '*.so' -type f -not -path '*.libs/*' | while read -r f; do "
        'ldd "$f" 2>/dev/null | grep "not found" | sed "s|^|$f: |"; done'
    )
    proc = subprocess.run(
        ["chroot", str(rootfs), "/bin/sh", "-c", script], capture_output=True, text=True
    )
    with log_file.open("a") as fh:
        fh.write(f"$ ldd check\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0 or proc.stdout.strip():
        missing = "\n".join(proc.stdout.splitlines()[:20])
        raise ImageBuildError(
            f"shared libraries missing in the base image (add their Debian packages to "
            f"DEBIAN_PACKAGES):\n{missing}{proc.stderr[-2000:]}"
        )


def _add_user_and_workdir(rootfs: Path) -> None:
    """The non-root user and the working directory (as the Dockerfile's useradd/mkdir)."""
    etc = rootfs / "etc"
    for name, line in (("passwd", passwd_line()), ("group", group_line())):
        path = etc / name
        text = path.read_text()
        if f"\n{USER_NAME}:" not in f"\n{text}":
            path.write_text(text + ("" if text.endswith("\n") else "\n") + line + "\n")
    for name, line in (("shadow", f"{USER_NAME}:!:::::::"), ("gshadow", f"{USER_NAME}:!::")):
        path = etc / name
        if path.exists() and f"\n{USER_NAME}:" not in f"\n{path.read_text()}":
            with path.open("a") as fh:
                fh.write(line + "\n")
    workdir = rootfs / WORKDIR.lstrip("/")
    workdir.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.chown(workdir, UID, GID)


# ---- App layer: the subnetes wheel ------------------------------------------------------------
def package_dirs(repo: Path = REPO_ROOT) -> list[str]:
    """The source folders the wheel is built from ([tool.setuptools.package-dir])."""
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())
    return sorted(set(pyproject["tool"]["setuptools"]["package-dir"].values()))


def _ignored(name: str) -> bool:
    """Build litter the wheel must not depend on (as .dockerignore leaves it out)."""
    return (
        name == "__pycache__"
        or name.endswith((".pyc", ".egg-info"))
        or re.search(r"\.db(-journal|-wal|-shm)?$", name) is not None
    )


def wheel_sources(repo: Path = REPO_ROOT) -> list[str]:
    """Relative paths of every file the wheel build reads (the Dockerfile COPYs the same)."""
    files = [f for f in WHEEL_SOURCE_FILES if (repo / f).is_file()]
    for folder in package_dirs(repo):
        for path in sorted((repo / folder).rglob("*")):
            rel = path.relative_to(repo)
            if path.is_file() and not any(_ignored(part) for part in rel.parts):
                files.append(rel.as_posix())
    return files


def app_key(repo: Path = REPO_ROOT) -> str:
    """What the app layer depends on: the sources (contents and exec bits) and the recipe."""
    sha = hashlib.sha256()
    for rel in wheel_sources(repo):
        path = repo / rel
        sha.update(f"{rel}\0{os.access(path, os.X_OK)}\0".encode())
        sha.update(hashlib.sha256(path.read_bytes()).digest())
    recipe = {"recipe": APP_RECIPE, "venv": VENV, "python": PYTHON_VERSION}
    return _key({**recipe, "sources": sha.hexdigest(), "compile": _can_compile()})


def _can_compile() -> bool:
    """Bytecode made here runs there only if this interpreter's version is the image's."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}" == PYTHON_VERSION


def _wheel_builder(store: _LayerStore, repo: Path) -> Path:
    """A cached venv with the project's build requirements (no network per build)."""
    requires = tomllib.loads((repo / "pyproject.toml").read_text())["build-system"]["requires"]
    env = store.cache / "tools" / f"wheel-builder-{_key([requires, sys.version])}"
    python = env / "bin" / "python"
    ready = env / ".ready"  # written last: a half-made builder is made again
    if not ready.exists():
        shutil.rmtree(env, ignore_errors=True)
        env.parent.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", str(env)], cwd=env.parent)
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              *requires], cwd=env.parent)  # fmt: skip
        ready.write_text(json.dumps(requires))
    return python


def build_wheel(store: _LayerStore, repo: Path, out_dir: Path) -> Path:
    """Build the subnetes wheel from a copy of its sources (the tree stays clean)."""
    src = out_dir / "src"
    for rel in wheel_sources(repo):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, src / rel)
    python = _wheel_builder(store, repo)
    dist = out_dir / "dist"
    _run(
        [str(python), "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(src)],
        env={**os.environ, "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)},
        cwd=out_dir,  # not the repo: its operator/ folder would shadow the stdlib's operator
    )  # fmt: skip
    wheels = list(dist.glob("*.whl"))
    if len(wheels) != 1:
        raise ImageBuildError(f"expected one wheel, got {wheels}")
    return wheels[0]


_SCRIPT = """\
#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {attr}
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit({call}())
"""


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def install_wheel(wheel: Path, root: Path, *, compile_bytecode: bool = True) -> list[str]:
    """Install a pure-Python wheel into ``root`` + the venv, as pip would; return the paths.

    Files go to site-packages, console scripts to the venv's bin (pip's script text, shebang
    the venv's python3), bytecode next to the sources (checked-hash .pyc: valid whatever the
    files' mtimes), and the dist-info gets INSTALLER, REQUESTED and a complete RECORD, so
    ``pip list`` and ``importlib.metadata`` inside the image see subnetes.
    """
    site = root / site_packages().lstrip("/")
    bindir = root / VENV.lstrip("/") / "bin"
    written: list[Path] = []
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        meta = zf.read(f"{dist_info}/WHEEL").decode()
        if "Root-Is-Purelib: true" not in meta:
            raise ImageBuildError(f"{wheel.name}: only pure-Python wheels are supported")
        if any(n.split("/")[0].endswith(".data") for n in names):
            raise ImageBuildError(f"{wheel.name}: .data folders are not supported")
        for name in names:
            if name == f"{dist_info}/RECORD":
                continue
            target = site / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(name))
            mode = (zf.getinfo(name).external_attr >> 16) & 0o777
            target.chmod(0o755 if mode & 0o111 else 0o644)
            written.append(target)
    entry_points = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    entry_points.optionxform = str  # type: ignore[assignment,method-assign]
    ep_file = site / dist_info / "entry_points.txt"
    if ep_file.exists():
        entry_points.read_string(ep_file.read_text())
    if entry_points.has_section("console_scripts"):
        bindir.mkdir(parents=True, exist_ok=True)
        for script, target_ref in entry_points.items("console_scripts"):
            module, _, attr = target_ref.strip().partition(":")
            path = bindir / script
            path.write_text(
                _SCRIPT.format(
                    python=f"{VENV}/bin/python3",
                    module=module,
                    attr=attr.split(".")[0],
                    call=attr,
                )
            )
            path.chmod(0o755)
            written.append(path)
    for name, text in (("INSTALLER", "subnetes.localnet.image\n"), ("REQUESTED", "")):
        (site / dist_info / name).write_text(text)
        written.append(site / dist_info / name)
    if compile_bytecode:
        for source in [p for p in written if p.suffix == ".py"]:
            pyc = Path(importlib.util.cache_from_source(str(source)))
            py_compile.compile(
                str(source),
                cfile=str(pyc),
                dfile="/" + source.relative_to(root).as_posix(),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            )
            pyc.chmod(0o644)
            written.append(pyc)
    record = site / dist_info / "RECORD"
    lines = []
    for path in sorted(written, key=lambda p: p.as_posix()):
        rel = os.path.relpath(path, site)
        data = path.read_bytes()
        lines.append(f"{rel},{_record_hash(data)},{len(data)}")
    lines.append(f"{os.path.relpath(record, site)},,")
    record.write_text("\n".join(lines) + "\n")
    return ["/" + p.relative_to(root).as_posix() for p in [*written, record]]


def _add_parent_dirs(root: Path) -> None:
    """Every folder in the staged tree gets the base layer's mode for it (root, 0755)."""
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)


def build_app_layer(store: _LayerStore, repo: Path, log: Log) -> oci.Layer:
    """The app layer (cached by source hash): the subnetes wheel installed into the venv."""
    key = app_key(repo)
    if cached := store.get("app", key):
        return cached
    started = time.monotonic()
    work = store.workdir("app-")
    try:
        wheel = build_wheel(store, repo, work)
        staged = work / "root"
        install_wheel(wheel, staged, compile_bytecode=_can_compile())
        _add_parent_dirs(staged)
        tar = work / "layer.tar"
        diff_id, _ = oci.write_layer_tar(staged, tar, mtime=SOURCE_DATE_EPOCH, owner=(0, 0))
        layer = store.make_layer(tar, diff_id, f"install {wheel.name} into {VENV}")
        store.put("app", key, layer)
        log(f"app layer {key}: {wheel.name}, {layer.size / 1024:.0f} KiB in "
            f"{time.monotonic() - started:.1f}s")  # fmt: skip
        return layer
    finally:
        remove_tree(work, log)


# ---- Pause image ------------------------------------------------------------------------------
def build_pause_layer(store: _LayerStore, repo: Path, log: Log) -> oci.Layer:
    """The pause image's only layer: /pause, static, from hack/tools/pause (cached)."""
    src = repo / "hack" / "tools" / "pause"
    go = _need("go", "the pause image")
    go_version = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=True
    ).stdout.strip()
    files = {p.name: _file_hash(p) for p in sorted(src.iterdir()) if p.is_file()}
    key = _key({"recipe": PAUSE_RECIPE, "go": go_version, "files": files})
    if cached := store.get("pause", key):
        return cached
    work = store.workdir("pause-")
    try:
        staged = work / "root"
        staged.mkdir()
        env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOOS": "linux",
               "GOARCH": "amd64", "GOFLAGS": "-mod=mod"}  # fmt: skip
        _run(
            [go, "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o",
             str(staged / "pause"), "."],
            cwd=src, env=env,
        )  # fmt: skip
        (staged / "pause").chmod(0o755)
        tar = work / "layer.tar"
        diff_id, _ = oci.write_layer_tar(staged, tar, mtime=SOURCE_DATE_EPOCH, owner=(0, 0))
        layer = store.make_layer(tar, diff_id, f"go build hack/tools/pause ({go_version})")
        store.put("pause", key, layer)
        log(f"pause layer {key}: {layer.size / 1024:.0f} KiB")
        return layer
    finally:
        remove_tree(work, log)


# ---- Archives ---------------------------------------------------------------------------------
def archive_path(cache: Path, name: str) -> Path:
    """Where the archive of image ``name`` is written (a file name safe for any name)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    return cache / "archives" / f"{safe}.oci.tar"


def _write_archive(cache: Path, name: str, layers: list[oci.Layer], config: dict, log: Log) -> Path:
    """Write the archive unless the one there already holds this exact manifest."""
    out = archive_path(cache, name)
    stamp = out.with_name(out.name + ".json")
    want = {"name": name, "layers": [layer.digest for layer in layers], "config": config}
    if out.exists() and stamp.exists() and json.loads(stamp.read_text()) == want:
        return out
    started = time.monotonic()
    digest = oci.write_oci_archive(out, name=name, layers=layers, config=config)
    stamp.write_text(json.dumps(want))
    log(f"{name}: {out} ({out.stat().st_size / 2**20:.0f} MiB, manifest {digest[:19]}) "
        f"in {time.monotonic() - started:.1f}s")  # fmt: skip
    return out


def _created(layer: oci.Layer) -> str:
    """The config's creation time: when the (newest) base blob was made, so it is stable."""
    stamp = int(layer.path.stat().st_mtime)
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_images(
    cache_dir: Path | None = None,
    *,
    product_name: str = PRODUCT_IMAGE,
    pause_name: str = PAUSE_IMAGE,
    repo: Path = REPO_ROOT,
    log: Log = _stderr,
) -> dict[str, Path]:
    """Build (cached) the product and pause images; return {image name: OCI archive path}.

    Idempotent: with nothing changed it only checks hashes (well under a second); a source
    change rebuilds the app layer and rewrites the product archive (seconds); a lock file
    change rebuilds the base layer (about two minutes, needs root and Debian's mirror).
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    started = time.monotonic()
    with _locked(cache):
        store = _LayerStore(cache)
        store.clean_tmp(log)
        base = build_base_layer(store, repo, log)
        app = build_app_layer(store, repo, log)
        product_config = oci.image_config(
            [base, app], config=product_runtime_config(), created=_created(base)
        )
        product = _write_archive(cache, product_name, [base, app], product_config, log)
        pause_layer = build_pause_layer(store, repo, log)
        pause_config = oci.image_config(
            [pause_layer],
            config=pause_runtime_config(),
            created=datetime.fromtimestamp(SOURCE_DATE_EPOCH, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        pause = _write_archive(cache, pause_name, [pause_layer], pause_config, log)
    log(f"images ready in {time.monotonic() - started:.1f}s")
    return {product_name: product, pause_name: pause}


def main(argv: list[str] | None = None) -> int:
    """CLI: build both images; print ``NAME PATH`` per image (or JSON with --json)."""
    parser = argparse.ArgumentParser(prog="python -m subnetes.localnet.image", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: %(default)s")
    parser.add_argument("--product-name", default=PRODUCT_IMAGE)
    parser.add_argument("--pause-name", default=PAUSE_IMAGE)
    parser.add_argument("--json", action="store_true", help="print {name: path} as JSON")
    args = parser.parse_args(argv)
    try:
        images = build_images(
            args.cache_dir,
            product_name=args.product_name,
            pause_name=args.pause_name,
        )
    except ImageBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({name: str(path) for name, path in images.items()}, indent=1))
    else:
        for name, path in images.items():
            print(f"{name} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
