"""A temporary answer of the API server (429 "storage is (re)initializing" while a CRD is
re-established, or a 5xx) requeues the object quietly instead of raising into Kopf, which logged
a traceback for it (seen in CI: a Subnet's reconcile listed Validators at that moment)."""

from __future__ import annotations

import httpx2
import pytest
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import Status, StatusDetails

from subnetes.operator import handlers
from subnetes.operator.kube import transient_delay


def api_error(code: int, retry_after: int | None = None) -> ApiError:
    details = StatusDetails(retryAfterSeconds=retry_after) if retry_after is not None else None
    return ApiError(
        status=Status(code=code, message="storage is (re)initializing", details=details)
    )


def test_temporary_api_answers_are_retried_after_their_delay() -> None:
    assert transient_delay(api_error(429, retry_after=3)) == 3.0
    assert transient_delay(api_error(429)) == 1.0
    assert transient_delay(api_error(503)) == 1.0
    # No answer in time (a loaded API server at 1,000 neurons): before, Kopf logged a
    # traceback and retried after 60 s.
    assert transient_delay(httpx2.ReadTimeout("")) == 2.0
    assert transient_delay(httpx2.ConnectError("refused")) == 2.0


def test_other_errors_are_not_transient() -> None:
    assert transient_delay(api_error(404)) is None
    assert transient_delay(api_error(409)) is None
    assert transient_delay(ValueError("a bug")) is None
    assert transient_delay(httpx2.HTTPError("not an API answer")) is None


class _Runtime:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.kicked: list[tuple[tuple[str, str, str], float | None]] = []

    async def run(self, key: tuple[str, str, str]) -> None:
        raise self.exc

    def kick(self, key: tuple[str, str, str], delay: float | None = None) -> None:
        self.kicked.append((key, delay))


async def test_handler_requeues_a_busy_api_server_and_raises_anything_else() -> None:
    busy = _Runtime(api_error(429, retry_after=2))
    handlers.STATE["runtime"] = busy
    try:
        await handlers._run("Subnet", "ns", "tiny")  # no exception reaches Kopf
        assert busy.kicked == [(("Subnet", "ns", "tiny"), 2.0)]
        handlers.STATE["runtime"] = _Runtime(RuntimeError("a bug"))
        with pytest.raises(RuntimeError):
            await handlers._run("Subnet", "ns", "tiny")
    finally:
        handlers.STATE.pop("runtime", None)
