"""Governance reads over JSON-RPC: `chain_getValidators` and `chain_getParams` by height,
`state_getProposal`, `state_listProposals`, the governance metrics, and a passed parameter
change taking effect.

Method: the one-validator node of conftest.py (real Node, LevelDB, HTTP); its validator's
proposal passes on its own vote (1 of 1 is more than two thirds), so a `set_param` goes
from proposal to activation in a few blocks without a second process.
"""

from __future__ import annotations

import pytest

from client.rpc import RpcCallError
from commerce.genesis import ChainParams
from commerce.governance import ValidatorPropose
from commerce.governance_state import validator_set_hash
from commerce.tx import sign_tx
from tests.rpc_methods.conftest import CHAIN_ID, Running


async def _submit(running: Running, body: ValidatorPropose, nonce: int) -> dict[str, object]:
    tx = sign_tx(running.key, CHAIN_ID, nonce, body)
    done: dict[str, object] = await running.client.call(
        "tx_submit", tx=tx.raw.hex(), wait="commit", timeout_ms=10_000)
    return done


async def test_a_passed_set_param_is_listed_and_applies_at_its_height(running: Running) -> None:
    await running.wait_height(1)
    done = await _submit(running, ValidatorPropose(kind="set_param", param="poll_max_blocks",
                                                   value=777), 0)
    kinds = [e["kind"] for e in done["events"]]  # type: ignore[attr-defined]
    assert kinds == ["validator_propose", "proposal_closed"]
    proposal = await running.client.call("state_getProposal", id=1)
    assert (proposal["status"], proposal["yes"], proposal["param"], proposal["value"]) == \
        ("passed", 1, "poll_max_blocks", 777)
    assert proposal["activation_height"] == done["height"] + 2  # type: ignore[operator]
    assert proposal["proposer"] == running.key.public_key.hex()
    page = await running.client.call("state_listProposals", status="passed")
    assert [item["id"] for item in page["items"]] == [1] and page["next"] is None
    assert (await running.client.call("state_listProposals", status="open"))["items"] == []
    await running.wait_height(proposal["activation_height"])
    chain = running.node.chain
    assert chain is not None
    assert chain.context(proposal["activation_height"]).params.poll_max_blocks == 777
    assert chain.context(proposal["activation_height"] - 1).params.poll_max_blocks != 777
    text = running.node.metrics.render()
    assert "agora_governance_validators 1\n" in text
    assert f"agora_governance_last_activation_height {proposal['activation_height']}" in text


async def test_validators_by_height_and_the_header_commitment(running: Running) -> None:
    await running.wait_height(2)
    head = (await running.client.call("chain_getBlock", height=2))["header"]
    keys = [bytes.fromhex(v["public_key"])
            for v in await running.client.call("chain_getValidators", height=3)]
    assert head["next_validators_hash"] == validator_set_hash(keys).hex()
    assert await running.client.call("chain_getValidators", height=1) == \
        await running.client.call("chain_getValidators")
    with pytest.raises(RpcCallError) as caught:
        await running.client.call("chain_getValidators", height=10**9)
    assert caught.value.reason == "not_found"
    with pytest.raises(RpcCallError) as caught:
        await running.client.call("state_getProposal", id=5)
    assert caught.value.reason == "not_found"
    with pytest.raises(RpcCallError) as caught:
        await running.client.call("state_listProposals", status="lost")
    assert caught.value.reason == "invalid_params"


async def test_params_by_height_show_a_voted_change_from_its_activation(
        running: Running) -> None:
    await running.wait_height(1)
    before = await running.client.call("chain_getParams")
    assert before["since_height"] == 1 and before["proposals"] == []
    assert set(ChainParams.model_fields) <= set(before["params"])
    assert before["params"]["reward_review_minor"] == 500_000
    assert before["params"]["reward_review_minor_decimal"] == "0.5"
    assert before["params"]["view_change_timeout_ms"] == 4_000
    done = await _submit(running, ValidatorPropose(kind="set_param", param="reward_review_minor",
                                                   value=250_000), 0)
    activation = int(done["height"]) + 2  # type: ignore[call-overload]
    await running.wait_height(activation)
    after = await running.client.call("chain_getParams", height=activation)
    assert (after["height"], after["since_height"], after["proposals"]) == (activation,
                                                                           activation, [1])
    assert after["params"]["reward_review_minor"] == 250_000
    assert after["params"]["reward_review_minor_decimal"] == "0.25"
    assert {k: v for k, v in after["params"].items() if not k.startswith("reward_review")} \
        == {k: v for k, v in before["params"].items() if not k.startswith("reward_review")}
    earlier = await running.client.call("chain_getParams", height=activation - 1)
    assert earlier["params"] == before["params"] and earlier["since_height"] == 1
    head = (await running.client.call("chain_getParams"))["height"]
    assert head >= activation
    with pytest.raises(RpcCallError) as caught:
        await running.client.call("chain_getParams", height=head + 1_000)
    assert caught.value.reason == "not_found"
    with pytest.raises(RpcCallError) as caught:
        await running.client.call("chain_getParams", height=0)
    assert caught.value.reason == "invalid_params"
