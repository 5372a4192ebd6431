"""Issue 19: a large fleet split between operator releases, as docs/operator.md shows it.

The two `helm install` commands are read from the docs and rendered offline (``helm template``
with the pinned helm, see render.py), so the documented commands are the ones checked.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from .render import REPO, env_of, find, one, operator_container, strict_load_all, template

pytestmark = pytest.mark.cluster


def documented_installs() -> list[list[str]]:
    """The argv of each `helm install` in docs/operator.md's sharding example."""
    text = (REPO / "docs" / "operator.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    block = next(b for b in blocks if "chain.enabled=false" in b and "watchNamespaces" in b)
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if line.startswith("helm install")]


def render_install(argv: list[str]) -> list[dict[str, Any]]:
    """`helm install NAME CHART -n NS --create-namespace --set ...` rendered as a template."""
    release, namespace = argv[2], argv[argv.index("-n") + 1]
    sets = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--set"]
    out = template(*sets, release=release, namespace=namespace)
    assert out.returncode == 0, out.stderr
    return strict_load_all(out.stdout)


def lease_of(docs: list[dict[str, Any]]) -> str:
    args = operator_container(docs)["args"]
    return next(a.split("=", 1)[1] for a in args if a.startswith("--leader-election-lease="))


def test_documented_shards_split_namespaces_and_share_the_first_chain() -> None:
    first_argv, second_argv = documented_installs()
    first, second = render_install(first_argv), render_install(second_argv)

    # Each release elects its own leader and watches only its own namespaces.
    assert lease_of(first) != lease_of(second)
    for docs, argv in ((first, first_argv), (second, second_argv)):
        watched = re.search(r"watchNamespaces=\{(.*)\}", " ".join(argv))
        assert watched is not None
        namespaces = watched.group(1).split(",")
        args = operator_container(docs)["args"]
        assert sorted(a for a in args if a.startswith("--namespace=")) == sorted(
            f"--namespace={ns}" for ns in namespaces
        )
        assert "--all-namespaces" not in args
        assert sorted(r["metadata"]["namespace"] for r in find(docs, "Role") if
                      r["metadata"]["name"].endswith("-operator")) == sorted(namespaces)  # fmt: skip

    # The second release runs no chain and points its operator at the first one's Service.
    assert not find(second, "StatefulSet")
    chain_name = lease_of(first).removesuffix("-operator") + "-chain"
    service = one(first, "Service", chain_name)
    namespace = first_argv[first_argv.index("-n") + 1]
    port = service["spec"]["ports"][0]["port"]
    url = f"http://{service['metadata']['name']}.{namespace}.svc:{port}"
    assert env_of(operator_container(second))["SUBNETES_CHAIN_ENDPOINT"] == url
    assert env_of(operator_container(first))["SUBNETES_CHAIN_ENDPOINT"] == url

    # The first release's chain NetworkPolicy admits the second release's operator pod.
    policy = one(first, "NetworkPolicy", chain_name)
    labels = one(second, "Deployment")["spec"]["template"]["metadata"]["labels"]
    peers = [p for rule in policy["spec"]["ingress"] for p in rule.get("from", [])]
    assert any(
        p.get("namespaceSelector") == {}
        and p["podSelector"]["matchLabels"].items() <= labels.items()
        for p in peers
        if "podSelector" in p
    ), (peers, labels)
