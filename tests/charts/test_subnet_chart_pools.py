"""Several miner pools per subnet in the subnet chart (`minerPools`): say GPU miners next to CPU
miners, as examples/compute-subnet/ has. Each pool inherits the subnet's `miners` settings but
its size and hotkeys, renders Miners `<subnet>-<pool>-miner-<i>`, and fails rendering with a
clear message when names repeat or outgrow the Miner CRD's name limit.

Schema checks are pure; the ones that render need the pinned helm (built with the control
plane), so they carry the ``cluster`` marker like tests/charts' other helm tests.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
import yaml

from subnetes.operator.crds.chart_values import MAX_POOL_NAME, NOT_INHERITED
from subnetes.operator.crds.neuron import MAX_NAME

from .test_subnet_chart_values import (
    CHART,
    SCHEMA,
    _name_rule,
    by_name,
    helm_template,
    render,
)

GPU = "nvidia.com/gpu"
GPU_TOLERATION = {"key": GPU, "operator": "Exists", "effect": "NoSchedule"}

# The compute subnet of the issue's end-to-end run, exactly as a user writes it: CPU miners
# (the default pool) on the real node, GPU miners on GPU nodes.
CPU_AND_GPU = """
subnets:
  - name: compute
    miners:                        # CPU miners: compute-miner-0, -1
      count: 2
      gpus: 0
      image: ghcr.io/subnetes/subnetes:0.1.0
      nodeSelector: {subnetes.io/pool: cpu}
      resources:
        requests: {cpu: 50m, memory: 128Mi}
        limits: {memory: 1536Mi}
      env: [{name: JAX_PLATFORMS, value: cpu}]
      hotkeySecrets: [cpu-hotkey-0]
    minerPools:
      - name: gpu                  # GPU miners: compute-gpu-miner-0, -1
        count: 2
        gpus: 1
        image: ghcr.io/subnetes/subnetes:0.1.0-cuda
        nodeSelector: {nvidia.com/gpu.present: "true"}
        tolerations: [{key: dedicated, operator: Equal, value: miners, effect: NoSchedule}]
        env: []
"""


def miners(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Miner"}


def pod(miner: dict[str, Any]) -> dict[str, Any]:
    return miner["spec"]["template"]["spec"]


def failure(values: dict[str, Any]) -> str:
    out = helm_template(values)
    assert out.returncode != 0, out.stdout
    return out.stderr


# ---- schema-only checks ---------------------------------------------------------------------


def pool_item(where: str) -> dict[str, Any]:
    entry = SCHEMA["properties"][where]
    entry = entry["items"] if where == "subnets" else entry
    return entry["properties"]["minerPools"]["items"]


@pytest.mark.parametrize("where", ["subnets", "defaults"])
def test_a_pool_takes_every_miners_setting_with_the_same_constraints(where: str) -> None:
    item = pool_item(where)
    entry = SCHEMA["properties"][where]
    entry = entry["items"] if where == "subnets" else entry
    base = entry["properties"]["miners"]["properties"]
    assert set(item["properties"]) == set(base) | {"name"}
    for key, node in base.items():
        ours = item["properties"][key]
        if key in NOT_INHERITED:  # same constraints, own description
            ours, node = ({k: v for k, v in n.items() if k != "description"} for n in (ours, node))
        assert ours == node, key
    assert sorted(item["required"]) == ["count", "name"]  # count is never inherited
    assert item["additionalProperties"] is False
    assert set(NOT_INHERITED) == {"count", "hotkeySecrets"}


def test_pool_name_limit_is_derived_from_the_miner_crd() -> None:
    name = pool_item("subnets")["properties"]["name"]
    miner_max, miner_pattern = _name_rule("Miner")
    assert miner_max == MAX_NAME
    # the loosest bound: a one-letter subnet and a single miner, `a-<pool>-miner-0`
    assert name["maxLength"] == MAX_POOL_NAME == miner_max - len("a--miner-0")
    assert re.match(miner_pattern, f"a-{'b' * MAX_POOL_NAME}-miner-0")
    assert len(f"a-{'b' * MAX_POOL_NAME}-miner-0") == miner_max


def test_template_name_limit_is_the_crds() -> None:
    """The template checks whole Miner names against a constant: it must be the CRD's."""
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    m = re.search(r'define "subnet.maxNeuronName" -}}(\d+){{', helpers)
    assert m and int(m.group(1)) == MAX_NAME == _name_rule("Miner")[0]


@pytest.mark.parametrize(
    ("pool", "ok"),
    [
        ({"name": "gpu", "count": 2, "gpus": 1}, True),
        ({"name": "h100-x8", "count": 0}, True),
        ({"count": 2}, False),  # a name is required
        ({"name": "gpu"}, False),  # and a count (never inherited)
        ({"name": "GPU", "count": 1}, False),  # a DNS label
        ({"name": "-gpu", "count": 1}, False),
        ({"name": "", "count": 1}, False),
        ({"name": "b" * (MAX_POOL_NAME + 1), "count": 1}, False),
        ({"name": "gpu", "count": 1, "gpus": 17}, False),
        ({"name": "gpu", "count": 1, "stake": "1"}, False),  # a validator field
        ({"name": "gpu", "count": 1, "nodeselector": {}}, False),  # typos fail
    ],
)
def test_values_schema_checks_pools(pool: dict[str, Any], ok: bool) -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    values["subnets"] = [{"name": "compute", "minerPools": [pool]}]
    errors = list(jsonschema.Draft7Validator(SCHEMA).iter_errors(values))
    assert (not errors) == ok, [e.message for e in errors]


def test_the_documented_example_passes_the_schema() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    values |= yaml.safe_load(CPU_AND_GPU)
    jsonschema.Draft7Validator(SCHEMA).validate(values)


# ---- rendered with the pinned helm ----------------------------------------------------------


@pytest.mark.cluster
def test_default_values_render_the_compute_subnet_of_the_example() -> None:
    """As examples/compute-subnet/: 2 validators, 2 GPU miners and 2 CPU miners."""
    docs = render({})
    assert sorted(d["metadata"]["name"] for d in docs if d["kind"] == "Validator") == [
        "compute-validator-0",
        "compute-validator-1",
    ]
    found = miners(docs)
    assert sorted(found) == [
        "compute-cpu-miner-0",
        "compute-cpu-miner-1",
        "compute-miner-0",
        "compute-miner-1",
    ]
    for name in ("compute-miner-0", "compute-miner-1"):
        spec = pod(found[name])
        assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert spec["tolerations"] == [GPU_TOLERATION]
        assert spec["containers"][0]["resources"]["limits"] == {GPU: 1}
        assert spec["containers"][0]["image"].endswith("-cuda")
    for name in ("compute-cpu-miner-0", "compute-cpu-miner-1"):
        spec = pod(found[name])
        assert not {"nodeSelector", "tolerations"} & set(spec), spec
        assert "limits" not in spec["containers"][0]["resources"]
        assert not spec["containers"][0]["image"].endswith("-cuda")
        assert found[name]["metadata"]["labels"]["subnetes.io/miner-pool"] == "cpu"
        assert found[name]["spec"]["axonPort"] == 8091  # inherited from miners


@pytest.mark.cluster
def test_cpu_miners_and_a_gpu_pool() -> None:
    docs = render(yaml.safe_load(CPU_AND_GPU))
    found = miners(docs)
    assert sorted(found) == [
        "compute-gpu-miner-0",
        "compute-gpu-miner-1",
        "compute-miner-0",
        "compute-miner-1",
    ]
    cpu, gpu = found["compute-miner-0"], found["compute-gpu-miner-0"]
    assert pod(cpu)["nodeSelector"] == {"subnetes.io/pool": "cpu"}
    assert "tolerations" not in pod(cpu)
    assert pod(cpu)["containers"][0]["resources"]["limits"] == {"memory": "1536Mi"}
    assert cpu["spec"]["hotkeySecretRef"] == {"name": "cpu-hotkey-0"}
    assert "subnetes.io/miner-pool" not in cpu["metadata"]["labels"]
    # The GPU pool: its own selector replaces the CPU one (not merged into it), its
    # tolerations get the GPU taint's, its GPU limit joins the inherited memory limit.
    spec = pod(gpu)
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "miners", "effect": "NoSchedule"},
        GPU_TOLERATION,
    ]
    ct = spec["containers"][0]
    assert ct["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"memory": "1536Mi", GPU: 1},
    }
    assert ct["image"] == "ghcr.io/subnetes/subnetes:0.1.0-cuda"
    assert "env" not in ct  # `env: []` replaces the inherited list
    assert ct["args"] == ["workload", "miner"] and ct["name"] == "miner"
    # Inherited from miners (and the defaults): registration, axon port, keys.
    assert gpu["spec"]["axonPort"] == cpu["spec"]["axonPort"] == 8091
    assert gpu["spec"]["registration"] == cpu["spec"]["registration"]
    assert gpu["spec"]["coldkeySecretRef"] == cpu["spec"]["coldkeySecretRef"]
    assert gpu["spec"]["subnetRef"] == {"name": "compute"}
    # Not inherited: the hotkeys of the CPU miners (a shared hotkey is one registration).
    assert "hotkeySecretRef" not in gpu["spec"]
    assert gpu["metadata"]["labels"]["subnetes.io/miner-pool"] == "gpu"
    assert gpu["metadata"]["labels"]["subnetes.io/subnet"] == "compute"


@pytest.mark.cluster
def test_pools_from_defaults_and_their_own_hotkeys() -> None:
    docs = render(
        {
            "defaults": {"minerPools": [{"name": "big", "count": 1, "gpus": 2}]},
            "subnets": [
                {"name": "a", "miners": {"count": 0}},
                {
                    "name": "b",
                    "miners": {"count": 1},
                    "minerPools": [
                        {"name": "x", "count": 2, "hotkeySecrets": ["x-hot-0"], "gpus": 0},
                        {"name": "z", "count": 0},
                    ],
                },
                {"name": "c", "miners": {"count": 1}, "minerPools": []},
            ],
        }
    )
    found = miners(docs)
    assert sorted(found) == [
        "a-big-miner-0",
        "b-miner-0",
        "b-x-miner-0",
        "b-x-miner-1",
        "c-miner-0",
    ]
    assert pod(found["a-big-miner-0"])["containers"][0]["resources"]["limits"] == {GPU: 2}
    assert found["b-x-miner-0"]["spec"]["hotkeySecretRef"] == {"name": "x-hot-0"}
    assert "hotkeySecretRef" not in found["b-x-miner-1"]["spec"]
    assert "tolerations" not in pod(found["b-x-miner-0"])  # gpus: 0 drops the GPU toleration


@pytest.mark.cluster
def test_values_without_pools_render_the_same_miner_names() -> None:
    """Values written before minerPools existed keep their Miner names and GPU miners."""
    docs = render(
        {
            "subnets": [
                {"name": "compute", "miners": {"count": 3}, "validators": {"count": 2}},
                {"name": "text", "miners": {"count": 2, "gpus": 0}, "validators": {"count": 1}},
            ]
        }
    )
    assert sorted(miners(docs)) == [
        "compute-miner-0",
        "compute-miner-1",
        "compute-miner-2",
        "text-miner-0",
        "text-miner-1",
    ]
    spec = pod(by_name(docs, "compute-miner-2"))
    assert spec["containers"][0]["resources"]["limits"] == {GPU: 1}
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}


@pytest.mark.cluster
def test_an_entrys_pool_maps_replace_the_defaults() -> None:
    """A subnet entry's `nodeSelector` used to be merged key by key into the defaults' GPU
    selector (and `{}` kept it), so CPU miners could not leave the GPU nodes; probes merged
    into one with two handlers."""
    probe = {"exec": {"command": ["true"]}}
    docs = render(
        {
            "defaults": {"validators": {"startupProbe": {"httpGet": {"path": "/", "port": 1}}}},
            "subnets": [
                {"name": "t", "miners": {"count": 1, "gpus": 0, "nodeSelector": {}}},
                {
                    "name": "u",
                    "miners": {"count": 1, "gpus": 0, "nodeSelector": {"pool": "cpu"}},
                    "validators": {"count": 1, "startupProbe": probe},
                },
            ],
        }
    )
    spec = pod(by_name(docs, "t-miner-0"))
    assert "nodeSelector" not in spec and "tolerations" not in spec
    assert pod(by_name(docs, "u-miner-0"))["nodeSelector"] == {"pool": "cpu"}
    validator = pod(by_name(docs, "u-validator-0"))["containers"][0]
    assert validator["startupProbe"] == probe
    # what the entry leaves unset still comes from the defaults
    assert validator["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}}


@pytest.mark.cluster
def test_longest_pool_miner_name_fits_the_crd() -> None:
    """The whole name is checked with the real count: 10 miners end in -9, 11 in -10."""
    subnet = "s" * 37
    pool = "p" * (MAX_NAME - len(f"{subnet}--miner-9"))
    docs = render({"subnets": [{"name": subnet, "minerPools": [{"name": pool, "count": 10}]}]})
    longest = f"{subnet}-{pool}-miner-9"
    assert len(longest) == MAX_NAME and by_name(docs, longest)
    max_len, pattern = _name_rule("Miner")
    assert all(len(n) <= max_len and re.match(pattern, n) for n in miners(docs))
    err = failure({"subnets": [{"name": subnet, "minerPools": [{"name": pool, "count": 11}]}]})
    assert (
        f'subnets[{subnet}].minerPools[{pool}]: the Miner name "{subnet}-{pool}-miner-10" is '
        f"{MAX_NAME + 1} characters, over the Miner CRD's {MAX_NAME}"
    ) in err


@pytest.mark.cluster
@pytest.mark.parametrize(
    ("subnets", "message"),
    [
        (
            [
                {
                    "name": "c",
                    "minerPools": [{"name": "gpu", "count": 1}, {"name": "gpu", "count": 2}],
                }
            ],
            'subnets[c].minerPools: the pool name "gpu" appears twice',
        ),
        (
            # subnet a's pool b and subnet a-b's miners would both be `a-b-miner-0`
            [
                {"name": "a", "minerPools": [{"name": "b", "count": 1}]},
                {"name": "a-b", "miners": {"count": 1}},
            ],
            'subnets[a-b].miners: the Miner name "a-b-miner-0" is also rendered by '
            "subnets[a].minerPools[b]",
        ),
        ([{"name": "c"}, {"name": "c"}], 'subnets: the subnet name "c" appears twice'),
        (
            [{"name": "c", "minerPools": [{"name": "g", "count": 1, "hotkeySecrets": ["a", "b"]}]}],
            "subnets[c].minerPools[g]: 2 hotkeySecrets for count 1",
        ),
        (
            [{"name": "c", "minerPools": [{"name": "G", "count": 1}]}],
            "/subnets/0/minerPools/0/name",
        ),
        ([{"name": "c", "minerPools": [{"name": "g"}]}], "count"),
    ],
)
def test_bad_pools_fail_with_a_clear_message(subnets: list[dict[str, Any]], message: str) -> None:
    assert message in failure({"subnets": subnets})
