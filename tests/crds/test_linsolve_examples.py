"""examples/linsolve-subnet/: the second reference subnet's manifests validate against the CRDs,
name one Subnet, and run the linear-solve entrypoints (their container args, parsed by the
real ``subnetes`` command line, reach the linsolve miner and validator)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import jsonschema
import pytest

from subnetes.cli import build_cli
from subnetes.workloads.linsolve import miner, validator

from .helpers import EXAMPLES_DIR, kind_named, load_documents, openapi_schema
from .helpers import strip_kubernetes_extensions as strip

MANIFESTS = [
    d for f in sorted((EXAMPLES_DIR / "linsolve-subnet").glob("*.yaml")) for d in load_documents(f)
]


def test_one_subnet_with_a_linsolve_gateway_its_validator_and_miners() -> None:
    assert Counter(m["kind"] for m in MANIFESTS) == {"Subnet": 1, "Validator": 1, "Miner": 3}
    (subnet,) = [m for m in MANIFESTS if m["kind"] == "Subnet"]
    assert subnet["spec"]["gateway"]["capabilities"] == ["linsolve"]
    refs = {m["spec"]["subnetRef"]["name"] for m in MANIFESTS if m["kind"] != "Subnet"}
    assert refs == {subnet["metadata"]["name"]}


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda m: m["metadata"]["name"])
def test_manifest_validates_against_its_crd(manifest: dict[str, Any]) -> None:
    schema = strip(openapi_schema(kind_named(manifest["kind"])))
    jsonschema.Draft7Validator(schema).validate(manifest)


@pytest.mark.parametrize("manifest", [m for m in MANIFESTS if m["kind"] != "Subnet"])
def test_container_args_run_the_linsolve_entrypoint(
    manifest: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(miner, "main", lambda: ran.append("miner") or 0)
    monkeypatch.setattr(validator, "main", lambda: ran.append("validator") or 0)
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    with pytest.raises(SystemExit) as done:
        build_cli().main(args=container["args"], standalone_mode=False)
    assert done.value.code == 0
    assert ran == [manifest["kind"].lower()]
