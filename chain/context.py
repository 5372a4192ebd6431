"""What a call handler sees besides state: the block being built and the event sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from subnetes.wire.events import EventKind


@dataclass
class Ctx:
    """Block context for rule code: current block number and events emitted so far."""

    block: int
    events: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, kind: EventKind, **data: Any) -> None:
        """Record an event of ``kind`` (one of the kinds declared in subnetes.wire.events)."""
        self.events.append({"type": str(kind), **data})
