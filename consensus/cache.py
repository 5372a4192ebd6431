"""JAX persistent compilation cache, so a restarted chain does not recompile the epoch."""

from __future__ import annotations

import os
from pathlib import Path

import jax

ENV_VAR = "SUBNETES_JAX_CACHE"
DEFAULT_DIR = Path.home() / ".cache" / "subnetes" / "jax"


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> Path:
    """Turn on JAX's persistent compilation cache (call once at start-up).

    The directory is ``path``, else ``$SUBNETES_JAX_CACHE``, else ``~/.cache/subnetes/jax``.
    Every compiled program is cached (no minimum compile time / size).
    """
    where = Path(path or os.environ.get(ENV_VAR) or DEFAULT_DIR).expanduser()
    where.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(where))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return where
