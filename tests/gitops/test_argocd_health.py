"""The Argo CD health check (Lua) on status objects produced by the operator's own code.

Runs the script in real Lua (lupa) with Argo CD's sandbox (``argocd_health``); the operator's
cluster tests also run it on live objects.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from argocd_health import REPO, SCRIPT, argo_health

from subnetes.operator import status as st

NOW = "2026-11-25T00:00:00Z"


def miner(view: st.NeuronView, generation: int = 1, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "subnetes.io/v1alpha1",
        "kind": "Miner",
        "metadata": {"name": "m", "generation": generation, **meta},
        "status": st.neuron_status(view, None, NOW),
    }


RUNNING = st.PodState(name="m-0", node="gpu-node-0", ip="127.64.0.5", running=True)


def test_registered_and_running_is_healthy() -> None:
    view = st.NeuronView(generation=1, phase=st.REGISTERED, uid=3, netuid=1, pod=RUNNING)
    assert argo_health(miner(view))["status"] == "Healthy"


@pytest.mark.parametrize(
    "view",
    [
        st.NeuronView(generation=1, phase=st.PENDING),
        st.NeuronView(generation=1, phase=st.REGISTERING),
        st.NeuronView(generation=1, phase=st.REGISTERED, uid=3, netuid=1),  # pod pending
        st.NeuronView(generation=1, phase=st.DEREGISTERED, deregistered_block=90),  # re-registering
    ],
    ids=["pending", "registering", "pod-pending", "reregistering"],
)
def test_work_in_progress_is_progressing(view: st.NeuronView) -> None:
    assert argo_health(miner(view))["status"] == "Progressing"


def test_stale_generation_is_progressing_even_if_ready() -> None:
    view = st.NeuronView(generation=1, phase=st.REGISTERED, uid=3, netuid=1, pod=RUNNING)
    health = argo_health(miner(view, generation=2))
    assert health["status"] == "Progressing"
    assert "latest spec" in health["message"]


def test_deregistered_and_stopped_is_degraded_with_the_reason() -> None:
    view = st.NeuronView(generation=1, phase=st.DEREGISTERED, deregistered_block=120, stopped=True)
    health = argo_health(miner(view))
    assert health["status"] == "Degraded"
    assert "policy Stop" in health["message"]


def test_user_action_needed_is_degraded() -> None:
    view = st.NeuronView(
        generation=1, phase=st.REGISTERING, problem=("BurnAboveMax", "Burn 2 TAO > maxBurn 1 TAO.")
    )
    assert argo_health(miner(view)) == {
        "status": "Degraded",
        "message": "Burn 2 TAO > maxBurn 1 TAO.",
    }


def test_no_status_and_deletion_are_progressing() -> None:
    bare = {"metadata": {"name": "m", "generation": 1}}
    assert argo_health(bare)["status"] == "Progressing"
    deleting = {
        "metadata": {
            "name": "m",
            "generation": 1,
            "deletionTimestamp": NOW,
            "finalizers": ["subnetes.io/stake"],
        }
    }
    health = argo_health(deleting)
    assert health["status"] == "Progressing"
    assert "subnetes.io/stake" in health["message"]


def test_argocd_cm_patch_carries_the_same_script_for_each_kind() -> None:
    patch = yaml.safe_load((REPO / "examples/gitops/argocd/argocd-cm-patch.yaml").read_text())
    keys = {
        f"resource.customizations.health.subnetes.io_{k}" for k in ("Subnet", "Miner", "Validator")
    }
    assert set(patch["data"]) == keys
    for key in keys:
        assert patch["data"][key] == SCRIPT
