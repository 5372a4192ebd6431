"""Validate example objects against the openAPIV3Schema of the CRDs their tools serve.

The CRDs come from the tools' own Go modules at the versions pinned in hack/versions.sh,
fetched and cached by hack/fetch-gitops-crds.sh. Validation is strict, as
`kubectl apply --validate=strict` is: a field the schema does not know is an error (the API
server would otherwise drop it silently, and the example would not do what it says).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FETCH = REPO / "hack/fetch-gitops-crds.sh"

Schema = dict[str, Any]


def pinned(name: str) -> str:
    """The version hack/versions.sh pins for ``name`` (e.g. ARGOCD_VERSION)."""
    m = re.search(rf"^{name}=(\S+)$", (REPO / "hack/versions.sh").read_text(), re.M)
    assert m, f"hack/versions.sh pins no {name}"
    return m.group(1)


def fetch_crds(tool: str) -> list[Path]:
    """The cached CRD folders for ``tool``, fetched now if need be. Fails the test loudly (never
    skips) when the module proxy cannot be reached: CI fetches them in hack/test.sh first."""
    out = subprocess.run(["bash", str(FETCH), tool], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        pytest.fail(f"hack/fetch-gitops-crds.sh {tool} failed:\n{out.stderr}", pytrace=False)
    return [Path(line) for line in out.stdout.split()]


def strict(schema: Any) -> Any:
    """``schema`` with unknown properties rejected wherever the CRD does not allow them."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def load_schemas(crd_dirs: list[Path]) -> dict[tuple[str, str], Schema]:
    """(apiVersion, kind) -> strict schema, for every served version of every CRD in the folders."""
    schemas: dict[tuple[str, str], Schema] = {}
    for f in sorted(p for d in crd_dirs for p in d.glob("*.yaml")):
        # libyaml: the ApplicationSet CRD alone is 1.4 MB (15 s with the pure-Python loader).
        for crd in yaml.load_all(f.read_text(), Loader=yaml.CSafeLoader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for v in crd["spec"]["versions"]:
                if v.get("served", True):
                    schema = strict(v["schema"]["openAPIV3Schema"])
                    schemas[(f"{group}/{v['name']}", kind)] = schema
    return schemas


def errors(schemas: dict[tuple[str, str], Schema], obj: dict[str, Any]) -> list[str]:
    """Every way ``obj`` breaks its CRD's schema, one line each (path: message)."""
    key = (obj["apiVersion"], obj["kind"])
    if key not in schemas:
        return [f"no CRD serves {key}"]
    validator = jsonschema.Draft7Validator(schemas[key])
    return [
        f"{obj['kind']}/{obj['metadata']['name']} /{'/'.join(map(str, e.absolute_path))}: "
        f"{e.message}"
        for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path)))
    ]
