"""Chain errors: a rejected extrinsic yields a ``ChainError`` (name + human message).

Declared once in the wire package (``subnetes.wire.errors``), shared with the clients, the
operator and the SDK; rule code imports ``fail``/``require`` from here.
"""

from __future__ import annotations

from subnetes.wire.errors import ChainError, ErrorName, fail, http_status, require

__all__ = ["ChainError", "ErrorName", "fail", "http_status", "require"]
