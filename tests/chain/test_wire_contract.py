"""What the chain serves matches the types declared in subnetes.wire (issue 12 #2).

Every event a scenario emits validates against the payload type of its kind, metagraph rows and
epoch-result rows carry exactly their declared fields, the OpenAPI document is generated from
those types, and an event read from the SSE stream validates against its declared payload.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import TypeAdapter

from subnetes.chain import views
from subnetes.chain.api import create_app
from subnetes.chain.block import BlockRecord
from subnetes.chain.extrinsic import parse, sign
from subnetes.chain.node import Node
from subnetes.chain.units import tao
from subnetes.wire.blocks import BlockRow
from subnetes.wire.events import PAYLOADS, EventKind
from subnetes.wire.rows import EpochUidRow, MetagraphRow, NeuronRow

from .conftest import ALICE, Net, key
from .service import Service

BOB = key("Bob")


def check_exact(row: dict[str, Any], typ: Any) -> None:
    """``row`` validates as ``typ`` and has no field the type does not declare."""
    TypeAdapter(typ).validate_python(row, strict=False)
    declared = typ.__required_keys__ | typ.__optional_keys__
    assert set(row) <= declared, f"{typ.__name__}: undeclared {sorted(set(row) - declared)}"
    assert typ.__required_keys__ <= set(row), typ.__name__


def check_event(ev: dict[str, Any]) -> None:
    kind = EventKind(ev["type"])
    check_exact(ev, PAYLOADS[kind])
    for row in ev.get("uids", []):
        check_exact(row, EpochUidRow)


def recording(net: Net) -> list[BlockRecord]:
    """Keep every block ``net`` produces from now on (the in-memory ledger keeps only its head)."""
    blocks: list[BlockRecord] = []
    step = net.step

    def keep(*xts: Any) -> Any:
        rec, outs = step(*xts)
        blocks.append(rec)
        return rec, outs

    net.step = keep  # type: ignore[method-assign]
    return blocks


def scenario(net: Net) -> list[BlockRecord]:
    """Every call that emits an event, and two epochs; returns the blocks produced."""
    blocks = recording(net)
    owner, v, m1, m2 = key("owner"), key("v1"), key("m1"), key("m2")
    net.ok(ALICE, "transfer", dest=BOB.ss58_address, amount=tao(5))
    tipped = sign(  # dev networks charge no fee; a tip is charged (FeePaid)
        ALICE,
        "transfer",
        {"dest": BOB.ss58_address, "amount": 1},
        net.st.nonce(ALICE.ss58_address),
        net.ledger.genesis_hash,
        tip=1,
    )
    assert not net.step((parse(tipped), False))[1][0].error
    net.ok(BOB, "faucet", amount=tao(10))
    net.ok(ALICE, "sudo_set_balance", who=BOB.ss58_address, amount=tao(20))
    net.ok(ALICE, "register_network", hotkey=owner.ss58_address)
    for hk in (v, m1, m2):
        net.ok(ALICE, "burned_register", netuid=1, hotkey=hk.ss58_address)
    net.ok(ALICE, "add_stake", hotkey=v.ss58_address, amount=tao(100))
    net.ok(m1, "serve_axon", netuid=1, ip="127.64.0.5", port=8091)
    net.run_to(net.block + 11)
    net.ok(v, "set_weights", netuid=1, uids=[2, 3], values=[1, 2])
    net.ok(ALICE, "remove_stake", hotkey=v.ss58_address, amount=tao(1))
    net.ok(ALICE, "set_take", hotkey=owner.ss58_address, take=100)
    net.ok(ALICE, "reset_bonds", netuid=1, uid=1)
    net.ok(ALICE, "set_hyperparameter", netuid=1, name="commit_reveal_enabled", value=True)
    from subnetes.chain.rules.weights import weights_commit_hash

    h = weights_commit_hash(v.ss58_address, 1, [2, 3], [1, 2], [7, 7], 0)
    net.ok(v, "commit_weights", netuid=1, commit_hash=h)
    net.run_to(net.block + 11)
    # governance: v alone in the senate executes on proposing; with r2 in it, r2's nay rejects;
    # r2 unstakes and leaves
    r2 = key("r2")
    net.ok(ALICE, "root_register", hotkey=v.ss58_address)
    net.ok(ALICE, "propose", hotkey=v.ss58_address, name="network_rate_limit", value=3)
    net.ok(ALICE, "root_register", hotkey=r2.ss58_address)
    net.ok(ALICE, "add_stake", hotkey=r2.ss58_address, amount=tao(1))
    net.ok(ALICE, "propose", hotkey=v.ss58_address, name="tempo", value=12, netuid=1)
    net.ok(ALICE, "vote", hotkey=r2.ss58_address, proposal=1, approve=False)
    net.ok(ALICE, "remove_stake", hotkey=r2.ss58_address, amount=tao(1))
    net.step()
    net.ok(ALICE, "dissolve_network", netuid=1)
    return blocks


def test_every_emitted_event_and_row_matches_its_declared_type(dev: Net) -> None:
    blocks = scenario(dev)
    events = [ev for rec in blocks for ev in rec.events]
    for ev in events:
        check_event(ev)
    seen = {ev["type"] for ev in events}
    assert seen == set(EventKind), f"the scenario misses {set(EventKind) - seen}"
    for rec in blocks:
        check_exact(rec.to_json(), BlockRow)


def test_metagraph_rows_carry_exactly_the_declared_fields(dev: Net) -> None:
    dev.ok(ALICE, "register_network", hotkey=key("owner").ss58_address)
    dev.ok(ALICE, "burned_register", netuid=1, hotkey=key("m1").ss58_address)
    dev.ok(key("m1"), "serve_axon", netuid=1, ip="127.64.0.5", port=8091)
    s = dev.st.subnets[1]
    mg = views.metagraph(dev.st, s)
    check_exact(mg, MetagraphRow)
    assert mg["neurons"] and mg["neurons"][1]["axon"]
    for row in mg["neurons"]:
        check_exact(row, NeuronRow)
    assert views.neuron(dev.st, s, 1) == mg["neurons"][1]


def test_openapi_components_are_generated_from_the_wire_types(dev: Net) -> None:
    doc = create_app(Node(dev.ledger, 0.25, manual=True)).openapi()
    comps = doc["components"]["schemas"]
    names = {"MetagraphRow", "NeuronRow", "AxonRow", "EpochUidRow", "BlockRow", "Event"}
    names |= {p.__name__ for p in PAYLOADS.values()}
    assert names <= set(comps), sorted(names - set(comps))
    assert set(comps["NeuronRow"]["properties"]) == set(NeuronRow.__annotations__) | set(
        EpochUidRow.__annotations__
    ) - {"server_emission", "validator_emission"}
    mapping = comps["Event"]["discriminator"]["mapping"]
    assert set(mapping) == {k.value for k in EventKind}
    ok = doc["paths"]["/v1/subnets/{netuid}/metagraph"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/MetagraphRow")
    sse = doc["paths"]["/v1/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    assert sse["x-event-data"]["$ref"].endswith("/Event")


def _sse_messages(url: str, until_block: int) -> list[tuple[str, dict[str, Any]]]:
    """(event field, data) of the raw SSE stream from block 1 through ``until_block``."""
    import json

    out: list[tuple[str, dict[str, Any]]] = []
    kind, data = "", ""
    with httpx.stream("GET", url + "/v1/events", params={"from_block": 1}, timeout=30) as r:
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and data:
                ev = json.loads(data)
                out.append((kind, ev))
                kind, data = "", ""
                if ev["type"] == "Block" and ev["block"] >= until_block:
                    return out
    return out


def test_sse_events_validate_against_their_declared_payload(manual_service: Service) -> None:
    head = httpx.get(manual_service.url + "/v1/blocks/latest").json()["number"]
    msgs = _sse_messages(manual_service.url, head)
    assert {"SubnetRegistered", "NeuronRegistered", "Block"} <= {k for k, _ in msgs}
    for kind, ev in msgs:
        assert kind == ev["type"]
        check_event(ev)


def test_the_documented_extrinsic_body_has_the_wire_fields() -> None:
    from subnetes.chain.api import ExtrinsicBody
    from subnetes.wire.signing import FIELDS, OPTIONAL_FIELDS

    assert tuple(ExtrinsicBody.model_fields) == FIELDS + OPTIONAL_FIELDS
