"""What a call handler sees besides state: the block being built and the event sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Ctx:
    """Block context for rule code: current block number and events emitted so far."""

    block: int
    events: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, type_: str, **data: Any) -> None:
        self.events.append({"type": type_, **data})
