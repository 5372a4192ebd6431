"""Chain errors: a rejected extrinsic yields one of these (name + human message)."""

from __future__ import annotations


class ChainError(Exception):
    """A rule the chain refused; ``name`` follows Subtensor's error names where one exists."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The HTTP/JSON form ``{"error", "message"}``."""
        return {"error": self.name, "message": self.message}


def fail(name: str, message: str) -> None:
    """Raise a :class:`ChainError` (a small helper that keeps rule code one line per check)."""
    raise ChainError(name, message)


def require(cond: object, name: str, message: str) -> None:
    """Raise ``ChainError(name, message)`` unless ``cond`` holds."""
    if not cond:
        raise ChainError(name, message)
