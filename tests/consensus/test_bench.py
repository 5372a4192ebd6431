"""The benchmark script runs and prints the documented JSON rows (no timing is asserted)."""

from __future__ import annotations

import json

from subnetes.consensus import bench

KEYS = {"subnets", "uids", "validators", "jax_compile_s", "jax_ms", "numpy_ms", "ratio"}


def test_bench_json_rows(capsys) -> None:
    assert bench.main(["--json", "--sizes", "2,32,8", "4,16,4", "--repeats", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["subnets"], r["uids"], r["validators"]) for r in rows] == [(2, 32, 8), (4, 16, 4)]
    for r in rows:
        assert KEYS | {"numpy_vec_ms", "ratio_vec"} <= r.keys()
        assert r["jax_ms"] > 0 and r["numpy_ms"] > 0 and r["numpy_vec_ms"] > 0
        assert r["ratio"] == round(r["numpy_ms"] / r["jax_ms"], 2)
        # with several devices the one-device call is measured beside the default one
        if r["devices"] > 1:
            assert r["shard_speedup"] == round(r["jax_1dev_ms"] / r["jax_ms"], 2)
        else:
            assert "jax_1dev_ms" not in r


def test_bench_table(capsys) -> None:
    assert bench.main(["--sizes", "1,16,4", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "ref/jax" in out and "vec/jax" in out
