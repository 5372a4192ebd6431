"""The dev runner executes subnetes-image pods as local processes bound to their pod IPs."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

from subnetes.localnet.cluster import LocalCluster
from subnetes.localnet.devrunner import DevRunner
from subnetes.localnet.polling import wait_for

SERVER = """
import http.server, os, pathlib
secret = pathlib.Path(os.environ["SECRET_FILE"]).read_text()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (os.environ["POD_IP"] + " " + secret).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer((os.environ["POD_IP"], 18080), H).serve_forever()
"""


def test_pod_runs_locally_on_its_loopback_pod_ip_and_stops_with_the_pod(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    cluster.kubectl(
        "create", "secret", "generic", "creds", "--from-literal=token=s3cret", "-n", namespace,
        check=True,
    )  # fmt: skip
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "axon"},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "ghcr.io/subnetes/subnetes:dev",
                    "command": ["python", "-c"],
                    "args": [SERVER],
                    "env": [
                        {
                            "name": "POD_IP",
                            "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                        },
                        {"name": "SECRET_FILE", "value": "/var/run/creds/token"},
                    ],
                    "volumeMounts": [{"name": "creds", "mountPath": "/var/run/creds"}],
                }
            ],
            "volumes": [{"name": "creds", "secret": {"secretName": "creds"}}],
        },
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(pod), check=True)
    runner = DevRunner(cluster.kubeconfig, tmp_path, namespaces=[namespace])
    thread = threading.Thread(target=runner.run, kwargs={"interval": 0.3}, daemon=True)
    thread.start()
    try:
        pod_ip = wait_for(
            lambda: json.loads(
                cluster.kubectl("get", "pod", "axon", "-n", namespace, "-o", "json").stdout
            )["status"].get("podIP")
        )
        assert pod_ip.startswith("127.64.")

        def answer() -> str | None:
            try:
                with urllib.request.urlopen(f"http://{pod_ip}:18080/", timeout=1) as resp:
                    return resp.read().decode()
            except OSError:
                return None

        assert wait_for(answer) == f"{pod_ip} s3cret"
        cluster.kubectl("delete", "pod", "axon", "-n", namespace, "--wait=true", check=True)
        wait_for(lambda: not runner.running)
        wait_for(lambda: answer() is None)
    finally:
        runner.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()
