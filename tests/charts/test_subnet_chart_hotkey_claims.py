"""The subnet chart and imported hotkeys (issue 13 #8): the operator refuses a hotkey Secret not
claimed for the neuron naming it, and the chart creates no Secrets, so its NOTES.txt prints the
claim for every `hotkeySecrets` entry: one `kubectl annotate` per neuron, with the names the
chart gives the neurons. Renders with the pinned helm, so ``cluster`` like the other helm tests.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from subnetes.operator.labels import HOTKEY_CLAIM_ANNOTATION

from .render import template
from .test_subnet_chart_values import CHART, render

pytestmark = pytest.mark.cluster

NOTES_TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes-under-test}\n"
    'data:\n  notes: {{ tpl (.Files.Get "notes-under-test.txt") . | quote }}\n'
)


def subnet_notes(values: dict[str, Any]) -> str:
    """The subnet chart's NOTES.txt for ``values``, rendered offline (helm template skips
    NOTES.txt: a copy of the chart puts it into a ConfigMap)."""
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "subnet"
        shutil.copytree(CHART, chart)
        (chart / "notes-under-test.txt").write_text((chart / "templates/NOTES.txt").read_text())
        (chart / "templates/zz-notes.yaml").write_text(NOTES_TEMPLATE)
        out = template(values=values, chart=chart, release="net", namespace="ns1")
        assert out.returncode == 0, out.stderr
        docs = [d for d in yaml.safe_load_all(out.stdout) if d]
        cm = next(d for d in docs if d["metadata"]["name"] == "notes-under-test")
        return str(cm["data"]["notes"])


VALUES = {
    "subnets": [
        {
            "name": "compute",
            "validators": {"count": 2, "hotkeySecrets": ["vali-hk-0"]},
            "miners": {"count": 2, "hotkeySecrets": ["cpu-hk-0"]},
            "minerPools": [{"name": "gpu", "count": 1, "hotkeySecrets": ["gpu-hk-0"]}],
        }
    ]
}


def test_notes_say_how_to_claim_each_imported_hotkey() -> None:
    refs = {
        d["metadata"]["name"]: d["spec"]["hotkeySecretRef"]["name"]
        for d in render(VALUES)
        if d["kind"] in ("Miner", "Validator") and "hotkeySecretRef" in d["spec"]
    }
    assert refs == {
        "compute-validator-0": "vali-hk-0",
        "compute-miner-0": "cpu-hk-0",
        "compute-gpu-miner-0": "gpu-hk-0",
    }
    text = subnet_notes(VALUES)
    kinds = {"compute-validator-0": "Validator"}
    for neuron, secret in refs.items():
        kind = kinds.get(neuron, "Miner")
        line = f"kubectl -n ns1 annotate secret {secret} {HOTKEY_CLAIM_ANNOTATION}={kind}/{neuron}"
        assert line in text, text
    assert text.count("annotate secret") == 3  # operator-made hotkeys need no claim


def test_notes_without_imported_hotkeys_mention_no_claims() -> None:
    text = subnet_notes({"subnets": [{"name": "compute"}]})
    assert "annotate" not in text and "get miners" in text
