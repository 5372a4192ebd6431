"""metav1.Condition helpers: pure functions over ``status.conditions`` lists.

Conditions are a list keyed by ``type`` (the CRD declares it a map list). ``lastTransitionTime``
only moves when a condition's ``status`` changes, so re-writing the same state is a no-op and the
operator can skip the patch entirely (see :func:`subnetes.operator.status.status_patch`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"

READY = "Ready"
REGISTERED = "Registered"
SCHEDULED = "Scheduled"
DEREGISTERED = "Deregistered"
RECONCILING = "Reconciling"
STALLED = "Stalled"

# Stable order in status so that equal sets compare equal as lists.
ORDER = (READY, REGISTERED, SCHEDULED, DEREGISTERED, RECONCILING, STALLED)

Condition = dict[str, Any]


def now_rfc3339() -> str:
    """Current UTC time as metav1.Time (second precision, 'Z')."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def make(
    type_: str, status: str, reason: str, message: str, generation: int | None, now: str
) -> Condition:
    """One condition in the metav1.Condition shape."""
    cond: Condition = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message[:32768],
        "lastTransitionTime": now,
    }
    if generation is not None:
        cond["observedGeneration"] = int(generation)
    return cond


def get(conditions: Iterable[Condition] | None, type_: str) -> Condition | None:
    """The condition of ``type_``, or None."""
    for cond in conditions or ():
        if cond.get("type") == type_:
            return cond
    return None


def is_true(conditions: Iterable[Condition] | None, type_: str) -> bool:
    """Whether the condition ``type_`` is present with status True."""
    cond = get(conditions, type_)
    return bool(cond and cond.get("status") == TRUE)


def merge(old: list[Condition] | None, updates: Iterable[Condition]) -> list[Condition]:
    """Return ``old`` with ``updates`` applied by type (pure; inputs are not modified).

    A condition whose status did not change keeps its previous ``lastTransitionTime``.
    Types not in ``updates`` are kept as they were. The result is sorted by :data:`ORDER`.
    """
    by_type: dict[str, Condition] = {c["type"]: dict(c) for c in old or () if "type" in c}
    for new in updates:
        prev = by_type.get(new["type"])
        cond = dict(new)
        if prev is not None and prev.get("status") == new["status"]:
            cond["lastTransitionTime"] = prev.get("lastTransitionTime", new["lastTransitionTime"])
        by_type[new["type"]] = cond

    def key(c: Condition) -> tuple[int, str]:
        t = c["type"]
        return (ORDER.index(t) if t in ORDER else len(ORDER), t)

    return sorted(by_type.values(), key=key)


def first_visit(generation: int | None, now: str, message: str = "") -> list[Condition]:
    """Conditions for an object seen for the first time: Ready=Unknown, Reconciling=True.

    Without an explicit Ready, kstatus (Flux, Helm 4 --wait) would call the object Current
    before anything happened.
    """
    msg = message or "The operator has started reconciling this resource."
    return [
        make(READY, UNKNOWN, "Reconciling", msg, generation, now),
        make(RECONCILING, TRUE, "Reconciling", msg, generation, now),
        make(STALLED, FALSE, "Reconciling", "", generation, now),
    ]
