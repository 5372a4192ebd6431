"""Pure helpers shared by the CRD tests: repository paths, manifests, the invalid corpus."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from subnetes.operator.crds import KINDS, Kind, custom_resource_definition

REPO = Path(__file__).resolve().parents[2]
CRDS_DIR = REPO / "crds"
EXAMPLES_DIR = REPO / "examples"
INVALID_DIR = Path(__file__).resolve().parent / "invalid"


def kind_named(name: str) -> Kind:
    """The Kind whose kind name is ``name``."""
    return next(k for k in KINDS if k.kind == name)


def openapi_schema(kind: Kind) -> dict[str, Any]:
    """The openAPIV3Schema of a kind, as the generated CRD carries it."""
    return custom_resource_definition(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def strip_kubernetes_extensions(schema: Any) -> Any:
    """A copy without x-kubernetes-* keys, for plain JSON Schema validators.

    int-or-string nodes have no ``type``; JSON Schema then applies ``pattern`` to strings and
    ``minimum`` to numbers only, which is what the API server does too.
    """
    if isinstance(schema, dict):
        return {
            k: strip_kubernetes_extensions(v)
            for k, v in schema.items()
            if not k.startswith("x-kubernetes-")
        }
    if isinstance(schema, list):
        return [strip_kubernetes_extensions(v) for v in schema]
    return schema


def walk(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its dotted path (``[]`` for list items, ``{}`` for map values)."""
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk(schema["additionalProperties"], f"{path}{{}}")


def load_documents(path: Path) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a file."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def example_manifests() -> list[dict[str, Any]]:
    """Every object in examples/*.yaml (what `kubectl apply -f examples/` creates)."""
    return [d for f in sorted(EXAMPLES_DIR.glob("*.yaml")) for d in load_documents(f)]


@dataclass(frozen=True)
class InvalidCase:
    """One invalid manifest: a create, or (two documents) an accepted create then an update."""

    path: Path
    expect: str
    documents: tuple[str, ...]

    @property
    def is_update(self) -> bool:
        return len(self.documents) == 2


def invalid_cases() -> list[InvalidCase]:
    """The corpus in tests/crds/invalid; each file starts with `# expect: <field path>`."""
    cases = []
    for path in sorted(INVALID_DIR.glob("*.yaml")):
        text = path.read_text()
        first = text.splitlines()[0]
        assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
        docs = tuple(d for d in text.split("\n---\n") if d.strip())
        cases.append(InvalidCase(path, first.removeprefix("# expect: ").strip(), docs))
    return cases
