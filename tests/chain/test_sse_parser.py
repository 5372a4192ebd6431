"""The one SSE parser both chain clients use (the sync and async clients had a copy each)."""

from __future__ import annotations

from subnetes.chain.client import SSEParser, _sse_events

STREAM = [
    ": comment lines are ignored",
    "id: 7:0",
    "event: epoch",
    'data: {"type": "epoch",',
    'data:  "netuid": 1}',
    "",
    "",  # a second blank line ends nothing
    'data: {"type": "block"}',
    "",
]


def test_events_split_at_blank_lines_with_their_ids() -> None:
    assert list(_sse_events(iter(STREAM))) == [
        ("7:0", {"type": "epoch", "netuid": 1}),
        (None, {"type": "block"}),
    ]


def test_incremental_feed_returns_an_event_only_at_its_end() -> None:
    parser = SSEParser()
    out = [parser.feed(line) for line in STREAM]
    assert [o for o in out if o is not None] == list(_sse_events(iter(STREAM)))
    assert out[:5] == [None] * 5
    # The id does not leak into the next event.
    assert out[-1] == (None, {"type": "block"})
