"""Evaluate examples/gitops/argocd/health.lua as Argo CD does (shared by the Lua unit tests and
the operator's cluster tests, which run it on live objects).

Real Lua (lupa) with the sandbox Argo CD gives custom checks: no ``string``, ``io`` or
``debug`` library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lupa import LuaRuntime

REPO = Path(__file__).resolve().parents[1]
SCRIPT = (REPO / "examples/gitops/argocd/health.lua").read_text()


def argo_health(obj: dict[str, Any]) -> dict[str, str]:
    """Evaluate the health script on ``obj`` (a custom resource as JSON) as Argo CD would."""
    lua = LuaRuntime(unpack_returned_tuples=True)
    for lib in ("string", "io", "debug"):
        lua.execute(f"{lib} = nil")
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(SCRIPT)
    return {"status": result["status"], "message": result["message"]}
