"""API keys, rate limits and quotas (pure), the keys file, the capability check, settings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from subnetes.gateway.auth import KeyRing, KeysFileError, Limits, digest, parse_keys
from subnetes.gateway.capabilities import MatmulCapability, builtin
from subnetes.gateway.config import GatewaySettings
from subnetes.sdk.config import ConfigError
from subnetes.workloads.compute.challenge import Challenge, operands
from subnetes.workloads.compute.protocol import MatmulRequest, MatmulResponse

KEY = "sk-test-0123456789abcdef"


def ring(**limits: float) -> KeyRing:
    r = KeyRing(defaults=Limits(**limits))  # type: ignore[arg-type]
    r.keys = parse_keys({"keys": [{"name": "alice", "key": KEY}]}, r.defaults)
    return r


def test_missing_and_unknown_keys_are_told_apart() -> None:
    r = ring()
    assert (r.admit("", 0).status, r.admit("", 0).error) == (401, "MissingKey")
    assert (r.admit("sk-nope-0123456789", 0).status, r.admit("x", 0).error) == (401, "BadKey")
    assert r.admit(KEY, 0).ok and r.admit(KEY, 0).key == "alice"


def test_token_bucket_refills_at_the_rate() -> None:
    r = ring(rate_per_s=2.0, burst=3)
    assert all(r.admit(KEY, 0.0).ok for _ in range(3))
    d = r.admit(KEY, 0.0)
    assert (d.status, d.error) == (429, "RateLimited") and 0 < d.retry_after_s <= 0.5
    assert r.admit(KEY, 0.5).ok  # one token back after 1/rate seconds
    assert not r.admit(KEY, 0.5).ok


def test_quota_per_period() -> None:
    r = ring(quota=2, quota_period_s=100.0)
    assert r.charge(KEY, 0).ok and r.charge(KEY, 1).ok
    d = r.charge(KEY, 2)
    assert (d.status, d.error) == (403, "QuotaExceeded") and d.retry_after_s == 98
    assert r.charge(KEY, 100).ok  # a new period
    assert r.usage("alice") == {"name": "alice", "used": 1, "quota": 2}


def test_keys_file_by_digest_with_per_key_limits_and_reload(tmp_path: Path) -> None:
    f = tmp_path / "keys.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "keys": [
                    {"name": "a", "key": KEY, "requestsPerSecond": 1, "burst": 1},
                    {"name": "b", "sha256": digest("sk-bbbbbbbbbbbbbbbbbb"), "quota": 5},
                ]
            }
        )
    )
    r = KeyRing(f)
    r.load()
    assert r.admit(KEY, 0).ok and not r.admit(KEY, 0).ok
    assert r.keys[digest("sk-bbbbbbbbbbbbbbbbbb")].limits.quota == 5
    assert KEY not in repr(r.keys)  # only digests are kept
    f.write_text(yaml.safe_dump({"keys": [{"name": "c", "key": "sk-cccccccccccccccccc"}]}))
    os.utime(f, (1, 1))  # a new mtime, as a Secret update gives
    r.maybe_reload()
    assert r.admit(KEY, 5).error == "BadKey" and r.admit("sk-cccccccccccccccccc", 5).ok
    f.write_text("keys: [")  # a broken update keeps the old keys
    os.utime(f, (2, 2))
    r.maybe_reload()
    assert r.admit("sk-cccccccccccccccccc", 6).ok


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ([], "'keys' list"),
        ({"keys": [{"key": KEY}]}, "'name'"),
        ({"keys": [{"name": "a"}]}, "exactly one"),
        ({"keys": [{"name": "a", "key": "short"}]}, ">= 16"),
        ({"keys": [{"name": "a", "sha256": "zz" * 32}]}, "not hex"),
        ({"keys": [{"name": "a", "key": KEY}, {"name": "a", "key": KEY + "x"}]}, "twice"),
        ({"keys": [{"name": "a", "key": KEY}, {"name": "b", "key": KEY}]}, "same key"),
        ({"keys": [{"name": "a", "key": KEY, "burst": 0}]}, "bad limits"),
    ],
)
def test_malformed_keys_files_are_named_without_the_key(doc: object, says: str) -> None:
    with pytest.raises(KeysFileError, match=says) as e:
        parse_keys(doc, Limits())
    assert KEY not in str(e.value)


def test_missing_keys_file(tmp_path: Path) -> None:
    with pytest.raises(KeysFileError, match="cannot read"):
        KeyRing(tmp_path / "nope.yaml").load()


def test_matmul_capability_accepts_the_product_and_rejects_a_forgery() -> None:
    cap = MatmulCapability(max_dim=64, rounds=16)
    ch = Challenge(seed=7, m=16, k=24, n=8)
    a, b = operands(ch)
    req = MatmulRequest.of(ch)
    good = MatmulResponse.of(a @ b)
    assert cap.verify(req, good)
    bad = (a @ b).copy()
    bad[3, 5] += 1.0
    assert not cap.verify(req, MatmulResponse.of(bad))
    assert not cap.verify(req, MatmulResponse.of(np.zeros((8, 16), np.float32)))  # shape
    assert cap.too_large(MatmulRequest(seed=1, m=65, k=1, n=1)) is not None
    assert cap.too_large(req) is None
    with pytest.raises(ValueError, match="unknown capabilities"):
        builtin(["matmul", "text"])


def test_settings_from_env(tmp_path: Path) -> None:
    env = {
        "SUBNETES_CHAIN_ENDPOINT": "http://127.0.0.1:9944",
        "SUBNETES_NETUID": "3",
        "SUBNETES_HOTKEY_PATH": str(tmp_path / "hk"),
        "SUBNETES_GATEWAY_PORT": "8088",
        "SUBNETES_GATEWAY_RATE": "2.5",
        "SUBNETES_GATEWAY_HEDGE_AFTER": "0",
        "SUBNETES_GATEWAY_POLICY": "health",
    }
    s = GatewaySettings.from_env(env)
    assert (s.netuid, s.port, s.limits.rate_per_s) == (3, 8088, 2.5)
    assert s.dispatch.hedge_after_s is None and s.routing.mode == "health"
    with pytest.raises(ConfigError, match="routing mode"):
        GatewaySettings.from_env({**env, "SUBNETES_GATEWAY_POLICY": "random"})
    with pytest.raises(ConfigError, match="SUBNETES_GATEWAY_DEADLINE"):
        GatewaySettings.from_env({**env, "SUBNETES_GATEWAY_DEADLINE": "soon"})
