"""Small pure builders for structural OpenAPI v3 schemas (the subset CRDs accept).

Every builder takes a description first: `kubectl explain` shows it, and a test checks that no
property is left without one. Builders return plain dicts so the CRDs stay data, not classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Schema = dict[str, Any]


def _put(schema: Schema, **values: Any) -> Schema:
    """Add the keyword arguments that are not None (OpenAPI names, x-kubernetes-* keys)."""
    for key, value in values.items():
        if value is not None:
            schema[key.replace("_", "-") if key.startswith("x_") else key] = value
    return schema


def rule(
    expression: str,
    message: str,
    *,
    field_path: str | None = None,
    reason: str | None = None,
    message_expression: str | None = None,
) -> Schema:
    """A CEL validation rule (`x-kubernetes-validations` entry)."""
    return _put(
        {"rule": expression, "message": message},
        fieldPath=field_path,
        reason=reason,
        messageExpression=message_expression,
    )


def immutable(what: str) -> Schema:
    """Transition rule: the value may be set on create but never changed afterwards."""
    return rule("self == oldSelf", f"{what} is immutable", reason="FieldValueForbidden")


def string(
    description: str,
    *,
    pattern: str | None = None,
    enum: Iterable[str] | None = None,
    default: str | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    format: str | None = None,
    rules: Iterable[Schema] = (),
) -> Schema:
    """A string, optionally constrained by pattern, enum or length."""
    return _put(
        {"type": "string", "description": description},
        format=format,
        pattern=pattern,
        enum=list(enum) if enum is not None else None,
        default=default,
        minLength=min_length,
        maxLength=max_length,
        x_kubernetes_validations=list(rules) or None,
    )


def integer(
    description: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    default: int | None = None,
    enum: Iterable[int] | None = None,
    wide: bool = False,
) -> Schema:
    """An integer; ``wide`` selects int64 (block numbers, generations), else int32."""
    return _put(
        {"type": "integer", "format": "int64" if wide else "int32", "description": description},
        minimum=minimum,
        maximum=maximum,
        enum=list(enum) if enum is not None else None,
        default=default,
    )


def boolean(description: str, *, default: bool | None = None) -> Schema:
    """A boolean."""
    return _put({"type": "boolean", "description": description}, default=default)


def obj(
    description: str,
    properties: Mapping[str, Schema],
    *,
    required: Iterable[str] = (),
    rules: Iterable[Schema] = (),
    default: Mapping[str, Any] | None = None,
    preserve_unknown: bool = False,
) -> Schema:
    """An object with named properties (unknown fields pruned unless ``preserve_unknown``)."""
    return _put(
        {"type": "object", "description": description, "properties": dict(properties)},
        required=sorted(required) or None,
        default=dict(default) if default is not None else None,
        x_kubernetes_preserve_unknown_fields=True if preserve_unknown else None,
        x_kubernetes_validations=list(rules) or None,
    )


def opaque(description: str) -> Schema:
    """An object kept as written (the API server validates it where it ends up, e.g. a Pod)."""
    return {
        "type": "object",
        "description": description,
        "x-kubernetes-preserve-unknown-fields": True,
    }


def string_map(description: str, *, max_properties: int, values: Schema | None = None) -> Schema:
    """A map from string keys to strings (labels, nodeSelector) or to ``values``."""
    return {
        "type": "object",
        "description": description,
        "maxProperties": max_properties,
        "additionalProperties": values if values is not None else {"type": "string"},
    }


def array(
    description: str,
    items: Schema,
    *,
    max_items: int,
    min_items: int | None = None,
    map_keys: Iterable[str] | None = None,
    rules: Iterable[Schema] = (),
) -> Schema:
    """A bounded list (bounds keep CEL cost estimates finite); a map list when keyed."""
    keys = list(map_keys) if map_keys is not None else None
    return _put(
        {"type": "array", "description": description, "items": items},
        minItems=min_items,
        maxItems=max_items,
        x_kubernetes_list_type="map" if keys else "atomic",
        x_kubernetes_list_map_keys=keys,
        x_kubernetes_validations=list(rules) or None,
    )


def int_or_string(
    description: str, *, pattern: str, minimum: int = 0, max_length: int = 64
) -> Schema:
    """A value written either as an integer or a string (Kubernetes resource quantities)."""
    return {
        "x-kubernetes-int-or-string": True,
        "description": description,
        "pattern": pattern,
        "maxLength": max_length,
        "minimum": minimum,
    }
