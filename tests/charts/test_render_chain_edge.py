"""Issue 13 #1 and #7 in the chart: the chain's probes point at the right paths (readiness
waits for the start-up compile: /readyz), the JAX compilation cache lives on the data volume,
and the chart's non-loopback bind passes --allow-dev-on-network only for the dev profile, so
the args it renders are exactly what ``subnetes chain run`` accepts.

Rendered offline with the pinned helm (``helm template``, see render.py)."""

from __future__ import annotations

from typing import Any

import click
import pytest

from subnetes.chain.cli import chain_run
from subnetes.chain.params import profile_config
from subnetes.chain.server import DevProfileOnNetwork, check_bind

from .render import chain_container, env_of, render

pytestmark = pytest.mark.cluster


def parsed(args: list[str]) -> dict[str, Any]:
    """The chart's args as the real CLI parses them (after ``chain run``)."""
    assert args[:2] == ["chain", "run"]
    ctx = chain_run.make_context("run", list(args[2:]), resilient_parsing=False)
    assert isinstance(ctx, click.Context)
    return dict(ctx.params)


def test_probes_and_cache() -> None:
    c = chain_container(render())
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert env_of(c)["SUBNETES_JAX_CACHE"] == "/data/jax-cache"
    assert {"name": "data", "mountPath": "/data"} in c["volumeMounts"]


@pytest.mark.parametrize("profile", ["dev", "default"])
def test_the_chart_allows_dev_on_its_network_bind_explicitly(profile: str) -> None:
    args = chain_container(render(values={"chain": {"profile": profile}}))["args"]
    opts = parsed(args)
    assert opts["host"] == "0.0.0.0" and opts["profile"] == profile
    assert opts["allow_dev_on_network"] is (profile == "dev")
    # what serve() checks before binding passes for what the chart renders
    check_bind(profile_config(profile), opts["host"], opts["allow_dev_on_network"])
    if profile == "dev":
        with pytest.raises(DevProfileOnNetwork):
            check_bind(profile_config(profile), opts["host"], False)
