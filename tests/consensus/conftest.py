"""Hypothesis profiles for the consensus suite, picked by HYPOTHESIS_PROFILE (default "ci").

"ci": 25 examples per property, derandomized (the same examples every run), no deadline — JAX
calls are fast once compiled but the first one compiles. "dev": 300 random examples.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_quiet = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=_quiet
)
settings.register_profile("dev", max_examples=300, deadline=None, suppress_health_check=_quiet)

_profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if _profile in ("ci", "dev"):
    settings.load_profile(_profile)
