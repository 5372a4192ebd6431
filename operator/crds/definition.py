"""Assemble a CustomResourceDefinition from a kind's names, schemas and printer columns."""

from __future__ import annotations

from dataclasses import dataclass, field

from .common import CATEGORY, GROUP, VERSION
from .schema import Schema


@dataclass(frozen=True)
class Column:
    """One `kubectl get` printer column."""

    name: str
    json_path: str
    type: str
    description: str
    priority: int = 0

    def to_dict(self) -> Schema:
        column: Schema = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            column["priority"] = self.priority
        return column


AGE = Column("AGE", ".metadata.creationTimestamp", "date", "Time since the resource was created.")


@dataclass(frozen=True)
class Kind:
    """Everything that differs between Subnet, Miner and Validator."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    description: str
    spec: Schema
    status: Schema
    columns: tuple[Column, ...]
    root_rules: tuple[Schema, ...] = field(default=())

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def file_name(self) -> str:
        """File name in crds/, as controller-gen names them."""
        return f"{GROUP}_{self.plural}.yaml"


def root_schema(kind: Kind) -> Schema:
    """The openAPIV3Schema of a kind: apiVersion, kind, metadata, spec, status."""
    schema: Schema = {
        "type": "object",
        "description": kind.description,
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "Versioned schema of this representation: subnetes.io/v1alpha1.",
            },
            "kind": {"type": "string", "description": f"Kind of this resource: {kind.kind}."},
            # The API server forbids anything but the type here (even a description).
            "metadata": {"type": "object"},
            "spec": kind.spec,
            "status": kind.status,
        },
        "required": ["spec"],
    }
    if kind.root_rules:
        schema["x-kubernetes-validations"] = list(kind.root_rules)
    return schema


def custom_resource_definition(kind: Kind) -> Schema:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition object of a kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": kind.crd_name,
            "labels": {
                "app.kubernetes.io/name": "subnetes",
                "app.kubernetes.io/part-of": "subnetes",
            },
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [c.to_dict() for c in kind.columns],
                    "schema": {"openAPIV3Schema": root_schema(kind)},
                }
            ],
        },
    }
