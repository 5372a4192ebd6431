"""API keys, per-key rate limits and quotas (pure: the caller passes ``now``).

The keys file is YAML (or JSON) mounted from a Secret; Kubernetes updates a mounted Secret in
place, so the key ring re-reads the file when its modification time changes::

    keys:
      - name: alice                # shown in logs and metrics, never the key
        key: "sk-alice-..."        # or sha256: "<hex digest of the key>"
        requestsPerSecond: 5       # token bucket rate (default: the gateway's)
        burst: 10                  # bucket size (default: the gateway's)
        quota: 10000               # requests per quotaPeriodSeconds; 0 = unlimited
        quotaPeriodSeconds: 86400

Only SHA-256 digests of the keys are kept in memory; lookups compare digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class KeysFileError(ValueError):
    """The keys file is missing, unreadable or malformed (the message never quotes a key)."""


@dataclass(frozen=True)
class Limits:
    """A key's token bucket and quota."""

    rate_per_s: float = 10.0
    burst: int = 20
    quota: int = 0  # 0: unlimited
    quota_period_s: float = 86400.0

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1 or self.quota < 0 or self.quota_period_s <= 0:
            raise ValueError("rate_per_s > 0, burst >= 1, quota >= 0, quota_period_s > 0")


@dataclass(frozen=True)
class ApiKey:
    """One client: its name, the digest of its key, its limits."""

    name: str
    digest: str
    limits: Limits


@dataclass(frozen=True)
class Decision:
    """Whether a request may go on; else the HTTP status, error name and message."""

    ok: bool
    key: str = ""  # the key's name when known
    status: int = 200
    error: str = ""
    message: str = ""
    retry_after_s: float = 0.0


def digest(key: str) -> str:
    """The SHA-256 hex digest a key is known by."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_keys(doc: Any, defaults: Limits) -> dict[str, ApiKey]:
    """Keys by digest from a parsed keys file; KeysFileError naming the bad entry."""
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise KeysFileError("the keys file must be a mapping with a 'keys' list")
    out: dict[str, ApiKey] = {}
    names: set[str] = set()
    for i, entry in enumerate(doc["keys"]):
        where = f"keys[{i}]"
        if not isinstance(entry, dict):
            raise KeysFileError(f"{where} must be a mapping")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise KeysFileError(f"{where}: 'name' must be a non-empty string")
        if name in names:
            raise KeysFileError(f"{where}: name {name!r} appears twice")
        raw, hexd = entry.get("key"), entry.get("sha256")
        if (raw is None) == (hexd is None):
            raise KeysFileError(f"{where} ({name}): give exactly one of 'key' or 'sha256'")
        if raw is not None:
            if not isinstance(raw, str) or len(raw) < 16:
                raise KeysFileError(f"{where} ({name}): 'key' must be a string of >= 16 chars")
            d = digest(raw)
        else:
            if not isinstance(hexd, str) or len(hexd) != 64:
                raise KeysFileError(f"{where} ({name}): 'sha256' must be 64 hex digits")
            try:
                bytes.fromhex(hexd)
            except ValueError:
                raise KeysFileError(f"{where} ({name}): 'sha256' is not hex") from None
            d = hexd.lower()
        if d in out:
            raise KeysFileError(f"{where} ({name}): the same key as {out[d].name!r}")
        try:
            limits = Limits(
                rate_per_s=float(entry.get("requestsPerSecond", defaults.rate_per_s)),
                burst=int(entry.get("burst", defaults.burst)),
                quota=int(entry.get("quota", defaults.quota)),
                quota_period_s=float(entry.get("quotaPeriodSeconds", defaults.quota_period_s)),
            )
        except (TypeError, ValueError) as e:
            raise KeysFileError(f"{where} ({name}): bad limits: {e}") from None
        names.add(name)
        out[d] = ApiKey(name, d, limits)
    return out


@dataclass
class _Usage:
    tokens: float
    last: float
    used: int = 0
    window_start: float = 0.0


@dataclass
class KeyRing:
    """The keys and each key's usage. ``path=None``: keys given directly (tests, bench)."""

    path: Path | None = None
    defaults: Limits = field(default_factory=Limits)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    _usage: dict[str, _Usage] = field(default_factory=dict)
    _mtime: float | None = None

    def load(self) -> None:
        """(Re)read the keys file; KeysFileError when it is unusable (old keys stay)."""
        if self.path is None:
            return
        try:
            st = os.stat(self.path)
            text = self.path.read_text()
        except OSError as e:
            raise KeysFileError(f"cannot read keys file {self.path}: {e.strerror}") from None
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            raise KeysFileError(f"keys file {self.path} is not YAML") from None
        self.keys = parse_keys(doc, self.defaults)
        self._mtime = st.st_mtime
        # Usage of keys that were removed is forgotten; kept keys keep theirs.
        self._usage = {d: u for d, u in self._usage.items() if d in self.keys}

    def maybe_reload(self) -> None:
        """Re-read the file if it changed (a bad new file keeps the old keys)."""
        if self.path is None:
            return
        try:
            mtime = os.stat(self.path).st_mtime
        except OSError:
            return
        if mtime != self._mtime:
            try:
                self.load()
            except KeysFileError:
                self._mtime = mtime  # do not retry a broken file on every request

    def identify(self, presented: str | None) -> Decision:
        """Who presents ``presented`` (401 MissingKey / BadKey otherwise)."""
        if not presented:
            return Decision(False, "", 401, "MissingKey", "send 'Authorization: Bearer <key>'")
        d = digest(presented)
        found = next((k for k in self.keys.values() if hmac.compare_digest(k.digest, d)), None)
        if found is None:
            return Decision(False, "", 401, "BadKey", "unknown API key")
        return Decision(True, found.name)

    def _usage_of(self, key: ApiKey, now: float) -> _Usage:
        u = self._usage.get(key.digest)
        if u is None:
            u = self._usage[key.digest] = _Usage(float(key.limits.burst), now, 0, now)
        return u

    def admit(self, presented: str, now: float) -> Decision:
        """Take one token from the key's bucket (429 RateLimited when empty)."""
        who = self.identify(presented)
        if not who.ok:
            return who
        key = self.keys[digest(presented)]
        u = self._usage_of(key, now)
        lim = key.limits
        u.tokens = min(float(lim.burst), u.tokens + (now - u.last) * lim.rate_per_s)
        u.last = now
        if u.tokens < 1.0:
            wait = (1.0 - u.tokens) / lim.rate_per_s
            return Decision(
                False, key.name, 429, "RateLimited",
                f"more than {lim.rate_per_s:g} requests/s (burst {lim.burst})", wait,
            )  # fmt: skip
        u.tokens -= 1.0
        return who

    def charge(self, presented: str, now: float) -> Decision:
        """Count one request against the key's quota (403 QuotaExceeded when used up)."""
        key = self.keys[digest(presented)]
        lim = key.limits
        u = self._usage_of(key, now)
        if now - u.window_start >= lim.quota_period_s:
            u.window_start, u.used = now, 0
        if lim.quota and u.used >= lim.quota:
            left = u.window_start + lim.quota_period_s - now
            return Decision(
                False, key.name, 403, "QuotaExceeded",
                f"quota of {lim.quota} requests per {lim.quota_period_s:g} s used up",
                math.ceil(max(left, 0.0)),
            )  # fmt: skip
        u.used += 1
        return Decision(True, key.name)

    def usage(self, name: str) -> dict[str, Any]:
        """A key's usage (tests and /v1/usage)."""
        key = next(k for k in self.keys.values() if k.name == name)
        u = self._usage.get(key.digest)
        return {"name": name, "used": u.used if u else 0, "quota": key.limits.quota}
