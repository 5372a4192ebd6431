"""DEV ONLY: run the subnetes-image pods of the simulated cluster as local processes.

kwok nodes run no containers: a pod bound to one is reported Running but nothing executes.
For the local network, this runner plays the kubelet for pods of the subnetes image only:
it watches pods, and for each Running pod whose container image is the subnetes image it
starts the container's command as a local process, with the pod's environment (downward API
and Secret references resolved) and its Secret volumes materialized in a scratch directory.
The pod IP kwok assigned lies in 127.64.0.0/16, a loopback range, so a miner binding its
SUBNETES_AXON_IP is reachable exactly where the chain's metagraph says it is.

It goes through the operator's pods, never around them: no pod, no process. Deleting the pod
(or scaling its StatefulSet to zero) stops the process. Never use this on a real cluster.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("subnetes.devrunner")

DEFAULT_IMAGE_PATTERN = r"(^|/)subnetes(:|@|$)"
SecretLookup = Callable[[str, str], Mapping[str, bytes]]  # (namespace, name) -> data


@dataclass(frozen=True)
class ProcessSpec:
    """What to execute for one pod: argv, environment and the files to write first."""

    argv: list[str]
    env: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)  # absolute path -> content


def runs_here(pod: Mapping[str, Any], image_pattern: str = DEFAULT_IMAGE_PATTERN) -> bool:
    """True for a live, Running pod with an IP whose first container is the subnetes image."""
    meta, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    containers = spec.get("containers") or []
    return bool(
        containers
        and not meta.get("deletionTimestamp")
        and status.get("phase") == "Running"
        and status.get("podIP")
        and re.search(image_pattern, containers[0].get("image", ""))
    )


def _field_ref(pod: Mapping[str, Any], path: str) -> str:
    refs = {
        "status.podIP": pod.get("status", {}).get("podIP", ""),
        "status.hostIP": pod.get("status", {}).get("hostIP", ""),
        "metadata.name": pod.get("metadata", {}).get("name", ""),
        "metadata.namespace": pod.get("metadata", {}).get("namespace", ""),
        "spec.nodeName": pod.get("spec", {}).get("nodeName", ""),
    }
    if path not in refs:
        raise ValueError(f"unsupported downward API field {path!r}")
    return refs[path]


def build_process_spec(
    pod: Mapping[str, Any], secrets: SecretLookup, scratch: Path, python: str = sys.executable
) -> ProcessSpec:
    """Translate a pod's first container into a local process (pure but for ``secrets``).

    Mounted Secret volumes become files under ``scratch``; any env value or argument that
    points into a mount path is rewritten to the materialized location. The image's
    entrypoint ``subnetes`` runs as ``python -m subnetes.cli`` from this checkout.
    """
    namespace = pod["metadata"]["namespace"]
    spec = pod["spec"]
    container = spec["containers"][0]

    # Secret volumes -> files; remember mountPath -> local dir for path rewriting.
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    mounts: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"], {})
        if "secret" not in volume:
            continue
        local = scratch / mount["mountPath"].lstrip("/")
        mounts[mount["mountPath"].rstrip("/")] = str(local)
        data = secrets(namespace, volume["secret"]["secretName"])
        items = volume["secret"].get("items")
        selected = {i["key"]: i["path"] for i in items} if items else {k: k for k in data}
        for key, rel in selected.items():
            files[str(local / rel)] = data[key]

    def rewrite(value: str) -> str:
        for mount_path, local in mounts.items():
            if value == mount_path or value.startswith(mount_path + "/"):
                return local + value[len(mount_path) :]
        return value

    env: dict[str, str] = {}
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = rewrite(var["value"])
        elif "fieldRef" in var.get("valueFrom", {}):
            env[var["name"]] = _field_ref(pod, var["valueFrom"]["fieldRef"]["fieldPath"])
        elif "secretKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets(namespace, ref["name"])[ref["key"]].decode()

    command = list(container.get("command") or ["subnetes"])
    args = [rewrite(a) for a in container.get("args") or []]
    if command[0] == "subnetes":
        command = [python, "-m", "subnetes.cli", *command[1:]]
    elif command[0] in ("python", "python3"):
        command = [python, *command[1:]]
    return ProcessSpec(argv=[*command, *args], env=env, files=files)


@dataclass
class _Running:
    uid: str
    proc: subprocess.Popen
    spec: ProcessSpec
    restarts: int = 0
    next_start: float = 0.0


class DevRunner:
    """Keeps one local process per eligible pod; stops it when the pod goes away."""

    def __init__(
        self,
        kubeconfig: Path,
        workdir: Path,
        namespaces: list[str] | None = None,
        image_pattern: str = DEFAULT_IMAGE_PATTERN,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        from lightkube import Client, KubeConfig

        self.client = Client(KubeConfig.from_file(str(kubeconfig)))
        self.workdir = workdir
        self.namespaces = namespaces
        self.image_pattern = image_pattern
        self.base_env = dict(base_env if base_env is not None else os.environ)
        self.running: dict[str, _Running] = {}  # "ns/name" -> process
        self._stop = threading.Event()

    def _secret(self, namespace: str, name: str) -> dict[str, bytes]:
        from lightkube.resources.core_v1 import Secret

        obj = self.client.get(Secret, name=name, namespace=namespace)
        return {k: base64.b64decode(v) for k, v in (obj.data or {}).items()}

    def _pods(self) -> list[dict[str, Any]]:
        from lightkube.resources.core_v1 import Pod

        pods: list[dict[str, Any]] = []
        for ns in self.namespaces or ["*"]:
            pods += [p.to_dict() for p in self.client.list(Pod, namespace=ns)]
        return pods

    def _start(self, key: str, pod: dict[str, Any], restarts: int = 0) -> None:
        scratch = self.workdir / "pods" / pod["metadata"]["uid"]
        spec = build_process_spec(pod, self._secret, scratch)
        for path, content in spec.files.items():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_bytes(content)
            Path(path).chmod(0o400)
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / f"{key.replace('/', '_')}.log", "ab")  # noqa: SIM115 - child owns it
        proc = subprocess.Popen(
            spec.argv,
            env={**self.base_env, **spec.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=scratch if scratch.exists() else self.workdir,
            start_new_session=True,
        )
        out.close()
        self.running[key] = _Running(pod["metadata"]["uid"], proc, spec, restarts)
        log.info("started %s (pid %d): %s", key, proc.pid, " ".join(spec.argv[:4]))

    def _stop_one(self, key: str) -> None:
        entry = self.running.pop(key)
        stop_process(entry.proc)
        shutil.rmtree(self.workdir / "pods" / entry.uid, ignore_errors=True)
        log.info("stopped %s", key)

    def sync(self) -> None:
        """One reconcile pass: start, restart (with backoff) and stop processes."""
        wanted = {
            f"{p['metadata']['namespace']}/{p['metadata']['name']}": p
            for p in self._pods()
            if runs_here(p, self.image_pattern)
        }
        for key in list(self.running):
            pod = wanted.get(key)
            if pod is None or pod["metadata"]["uid"] != self.running[key].uid:
                self._stop_one(key)
        now = time.monotonic()
        for key, pod in wanted.items():
            entry = self.running.get(key)
            if entry is None:
                self._start(key, pod)
            elif entry.proc.poll() is not None:
                # Like the kubelet's CrashLoopBackOff: 1 s doubling to 30 s.
                if entry.next_start == 0.0:
                    delay = min(30.0, 2.0**entry.restarts)
                    entry.next_start = now + delay
                    log.warning(
                        "%s exited (%s); restarting in %.0fs", key, entry.proc.returncode, delay
                    )
                elif now >= entry.next_start:
                    self.running.pop(key)
                    self._start(key, pod, entry.restarts + 1)

    def run(self, interval: float = 1.0) -> None:
        """Sync until :meth:`stop` is called, then stop every process started."""
        try:
            while not self._stop.is_set():
                try:
                    self.sync()
                except Exception:  # an API hiccup must not kill the dev network
                    log.exception("sync failed; retrying")
                self._stop.wait(interval)
        finally:
            for key in list(self.running):
                self._stop_one(key)

    def stop(self) -> None:
        self._stop.set()


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m subnetes.localnet.devrunner --kubeconfig ... --workdir ...``."""
    from .cluster import LocalCluster

    parser = argparse.ArgumentParser(description="DEV ONLY: run subnetes pods as local processes")
    parser.add_argument("--kubeconfig", type=Path, default=LocalCluster().kubeconfig)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/subnetes-devrunner"))
    parser.add_argument("-n", "--namespace", action="append", dest="namespaces")
    parser.add_argument("--image-pattern", default=DEFAULT_IMAGE_PATTERN)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s devrunner %(message)s")
    runner = DevRunner(args.kubeconfig, args.workdir, args.namespaces, args.image_pattern)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    signal.signal(signal.SIGINT, lambda *_: runner.stop())
    runner.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
