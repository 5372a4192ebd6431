"""Flux's own controllers and a Git server, both on loopback, for the live GitOps tests.

- ``GitServer``: a bare repository served over smart HTTP by ``git http-backend`` (CGI) behind a
  tiny threaded HTTP server on 127.0.0.1 (Flux's GitRepository accepts http(s) and ssh URLs only,
  so ``git daemon``'s git:// would not do). Commits are pushed to the bare repository through
  the file system, as a developer's ``git push`` would land them; source-controller fetches
  them over HTTP like any Git host.
- ``FluxControllers``: source-controller, kustomize-controller and helm-controller as processes
  out of cluster with a kubeconfig (built by ``hack/build-control-plane.sh flux``), every
  listener on 127.0.0.1, the artifact server advertised on loopback.
- ``install_flux_crds``: Flux's CRDs from the same Go modules (copied next to each binary).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from subnetes.localnet.cluster import LocalCluster, bin_dir, free_port

CONTROLLERS = ("source-controller", "kustomize-controller", "helm-controller")
#: What `flux install` creates and the examples assume.
FLUX_NAMESPACE = "flux-system"


def controller_binary(name: str) -> Path:
    """The pinned build of a Flux controller; a missing one fails loudly (never a skip)."""
    path = bin_dir() / name
    if not path.exists():
        raise AssertionError(
            f"{path} is missing: build Flux's controllers with `bash hack/build-control-plane.sh"
            " flux` (hack/test.sh builds them with the control plane)"
        )
    return path


def crds_dir(name: str) -> Path:
    """The CRDs shipped in the controller's Go module (config/crd/bases), cached with it."""
    return controller_binary(name).resolve().parent / "crds"


def install_flux_crds(cluster: LocalCluster) -> list[str]:
    """Apply Flux's CRDs (server side: some exceed the client-side annotation limit) and wait
    until they are Established. Returns the CRD names."""
    names: list[str] = []
    for controller in CONTROLLERS:
        for path in sorted(crds_dir(controller).glob("*.yaml")):
            cluster.kubectl(
                "apply", "--server-side", "--force-conflicts", "--field-manager=flux-tests",
                "-f", str(path), check=True,
            )  # fmt: skip
            names.append(f"crd/{path.stem.split('_', 1)[1]}.{path.stem.split('_', 1)[0]}")
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *names, check=True)
    return names


# ---- Git over smart HTTP ---------------------------------------------------------------------


def git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run git in ``cwd`` with a fixed identity (no user config needed)."""
    base = {
        **os.environ,
        "GIT_AUTHOR_NAME": "subnetes-tests",
        "GIT_AUTHOR_EMAIL": "tests@subnetes.invalid",
        "GIT_COMMITTER_NAME": "subnetes-tests",
        "GIT_COMMITTER_EMAIL": "tests@subnetes.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
    }
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=base | (env or {}), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, plain or chunked (Git clients may send either)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _http_backend_handler(project_root: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """CGI bridge to `git http-backend` (read-only: receive-pack stays off)."""

        def do_GET(self) -> None:
            self._cgi()

        def do_POST(self) -> None:
            self._cgi()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test's output stays readable

        def _cgi(self) -> None:
            path, _, query = self.path.partition("?")
            body = _read_body(self)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(project_root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": str(project_root),
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": self.client_address[0],
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            out = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120
            ).stdout
            sep = out.find(b"\r\n\r\n")
            head, payload = (out[:sep], out[sep + 4 :]) if sep >= 0 else out.split(b"\n\n", 1)
            status, headers = 200, []
            for line in head.decode("latin-1").splitlines():
                key, _, value = line.partition(":")
                if key.lower() == "status":
                    status = int(value.strip().split()[0])
                elif key:
                    headers.append((key, value.strip()))
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


class GitServer:
    """A bare repository ``subnetes.git`` on ``http://127.0.0.1:<port>/subnetes.git`` and a
    working clone the test commits to and pushes from."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.projects = root / "srv"
        self.bare = self.projects / "subnetes.git"
        self.work = root / "work"
        self.projects.mkdir(parents=True)
        git("init", "--bare", "-q", "-b", "main", str(self.bare), cwd=root)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _http_backend_handler(self.projects))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/subnetes.git"

    def seed(self, repo_root: Path, folders: Iterable[str]) -> str:
        """First commit: ``folders`` of ``repo_root``'s working tree (tracked and untracked
        files git does not ignore, as they are on disk). Returns the commit SHA."""
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
             *folders],
            cwd=repo_root, capture_output=True, text=True, check=True,
        ).stdout.split("\0")  # fmt: skip
        self.work.mkdir()
        for rel in filter(None, files):
            src = repo_root / rel
            if src.is_file():  # a tracked file deleted in the working tree is not copied
                (self.work / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, self.work / rel)
        git("init", "-q", "-b", "main", cwd=self.work)
        git("remote", "add", "origin", str(self.bare), cwd=self.work)
        return self.commit("seed: charts/ and examples/ from the working tree")

    def commit(self, message: str, edit: Callable[[Path], None] | None = None) -> str:
        """Apply ``edit`` to the working clone, commit everything and push to main."""
        if edit is not None:
            edit(self.work)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", "main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---- the controllers -------------------------------------------------------------------------


class FluxControllers:
    """source-, kustomize- and helm-controller out of cluster, as the operator runs standalone:
    a kubeconfig, no leader election, every listener on loopback."""

    def __init__(self, kubeconfig: Path, workdir: Path) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.storage_addr = f"127.0.0.1:{free_port()}"

    def args(self, name: str) -> list[str]:
        """The command line of one controller."""
        common = [
            f"--metrics-addr=127.0.0.1:{free_port()}",
            f"--health-addr=127.0.0.1:{free_port()}",
            "--enable-leader-election=false",
            "--watch-all-namespaces=true",
            "--log-level=debug",
            "--log-encoding=console",
        ]
        if name == "source-controller":
            storage = self.workdir / "source-storage"
            storage.mkdir(parents=True, exist_ok=True)
            return [
                *common,
                f"--storage-path={storage}",
                f"--storage-addr={self.storage_addr}",
                # Where kustomize- and helm-controller download artifacts from: loopback.
                f"--storage-adv-addr={self.storage_addr}",
            ]
        # A dependency that is not Ready yet is checked again soon (default 30 s).
        return [*common, "--requeue-dependency=5s"]

    def start(self) -> None:
        env = os.environ | {
            "KUBECONFIG": str(self.kubeconfig),
            # Flux's runtime reads its own namespace from here (events, leases).
            "RUNTIME_NAMESPACE": FLUX_NAMESPACE,
        }
        for name in CONTROLLERS:
            log = open(self.log_path(name), "ab")  # noqa: SIM115
            self.procs[name] = subprocess.Popen(
                [str(controller_binary(name)), *self.args(name)],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
            )  # fmt: skip
            log.close()
        time.sleep(1)
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise AssertionError(f"Flux controllers exited at start: {dead}\n{self.output()}")

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def output(self, tail: int = 3000) -> str:
        """The end of each controller's log (for failure messages)."""
        parts = []
        for name in CONTROLLERS:
            path = self.log_path(name)
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- {name} ---\n{text[-tail:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
