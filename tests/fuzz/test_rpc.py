"""Goal: any HTTP body and any params a client sends to a real node's JSON-RPC server get a
JSON-RPC answer (a result or an error object), never an HTTP 500, a traceback or the
catch-all -32603 "internal error", and the node's chain and mempool are unchanged.
Method: one node (single validator, no idle blocks) served on loopback in a thread of its
own; hypothesis posts bodies to it over HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from hypothesis import example, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from commerce.address import address_of, to_text
from node.config import parse_config
from node.home import init_home, load_home
from node.service import Node

from .json_doors import DEEP_JSON, dump
from .mutate import TIERS, json_values, mutated_bytes, mutated_value
from .samples import ACCOUNTS, transactions

T = TypeVar("T")
INTERNAL_ERROR = -32603
ADDRESS = to_text(address_of(ACCOUNTS[0].public_key))
TX_HEX = transactions()[0].raw.hex()
# Valid params of each method, the seeds of the structural mutations.
PARAMS: dict[str, dict[str, Any]] = {
    "node_status": {}, "node_peers": {}, "chain_getValidators": {"height": 1},
    "chain_getParams": {"height": 1},
    "state_getSupply": {},
    "chain_getBlock": {"height": 1, "full_txs": False},
    "chain_getBlockByHash": {"hash": "00" * 32, "full_txs": True},
    "chain_getCertificate": {"height": 1},
    "chain_getTransaction": {"id": "ab" * 32},
    "tx_submit": {"tx": TX_HEX, "wait": "none", "timeout_ms": 1_000},
    "tx_submitBatch": {"txs": [TX_HEX, "zz"]},
    "tx_simulate": {"tx": TX_HEX},
    "state_getAccount": {"address": ADDRESS}, "state_getRewards": {"address": ADDRESS},
    "state_getMerchant": {"address": ADDRESS},
    "state_listMerchants": {"status": "approved", "limit": 5, "cursor": None},
    "state_getListing": {"id": 1, "version": 1},
    "state_listListingVersions": {"id": 1, "limit": 2},
    "state_listListings": {"merchant": ADDRESS, "category": "kitchen", "text": "mug",
                           "active_only": True, "limit": 10},
    "state_getOrder": {"id": 1}, "state_listOrders": {"buyer": ADDRESS, "status": "paid"},
    "state_getReview": {"order": 1}, "state_listReviews": {"listing": 1},
    "state_getComment": {"id": 1}, "state_listComments": {"listing": 1, "limit": 3},
    "state_getShare": {"id": 1}, "state_getPoll": {"id": 1}, "state_listPolls": {"open_at": 3},
    "state_getTeamOffer": {"listing": 1}, "state_getTeam": {"id": 1},
    "state_listListingTeams": {"listing": 1, "limit": 3},
    "state_listAccountTeams": {"address": ADDRESS},
    "state_getCampaign": {"id": 1}, "state_listCampaigns": {"merchant": ADDRESS},
    "state_getFlashSale": {"listing": 1}, "state_getOrderDiscount": {"order": 1},
    "rpc.discover": {},
    "state_getProposal": {"id": 1}, "state_listProposals": {"status": "open", "limit": 4},
}


@dataclass
class Served:
    """A started node and a way to run a coroutine on its loop from the test's thread."""

    node: Node
    url: str
    run: Callable[[Awaitable[Any]], Any]
    session: aiohttp.ClientSession

    def fingerprint(self) -> tuple[object, ...]:
        assert self.node.store is not None and self.node.mempool is not None
        return self.node.store.head, len(self.node.mempool), self.node.mempool.size_bytes

    def post(self, body: bytes) -> tuple[int, str]:
        async def send() -> tuple[int, str]:
            async with self.session.post(self.url, data=body, headers={
                    "Content-Type": "application/json"}) as response:
                return response.status, await response.text()
        status_text: tuple[int, str] = self.run(send())
        return status_text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-node", daemon=True)
    thread.start()

    def run(coroutine: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(60)  # type: ignore[arg-type]

    home = Path(tmp_path_factory.mktemp("rpc")) / "home"
    hour_ms = 3_600_000  # no idle blocks while fuzzing: the head must stay where it is
    config = parse_config({
        "rpc": {"listen": "127.0.0.1:0"}, "p2p": {"listen": "127.0.0.1:0"},
        "consensus": {"idle_block_interval_ms": hour_ms - 1, "view_change_timeout_ms": hour_ms,
                      "view_change_timeout_max_ms": hour_ms},
    })
    init_home(home, chain_id="fuzz-rpc", config=config)
    node = Node(load_home(home))
    run(node.start())

    async def open_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    session = run(open_session())
    try:
        yield Served(node, f"http://127.0.0.1:{node.rpc_port}/", run, session)
    finally:
        run(session.close())
        run(node.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _check_answer(status: int, text: str) -> None:
    """A JSON-RPC answer: 204 with no body, or JSON whose every response is well-formed and
    none the catch-all internal error."""
    assert status in (200, 204, 413), f"HTTP {status}: {text[:200]}"
    if status == 204:
        assert text == ""
        return
    answer = json.loads(text)
    for response in answer if isinstance(answer, list) else [answer]:
        assert response["jsonrpc"] == "2.0" and "id" in response
        assert ("result" in response) != ("error" in response)
        if "error" in response:
            error = response["error"]
            assert type(error["code"]) is int and type(error["message"]) is str
            assert error["code"] != INTERNAL_ERROR, f"an exception escaped: {response}"
            assert "Traceback" not in error["message"]


def _request(method: str, params: Any, request_id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}


VALID_BODIES = [json.dumps(_request(method, params)).encode()
                for method, params in PARAMS.items()]


@pytest.mark.parametrize("tier", TIERS)
def test_rpc_any_body_gets_json_rpc_answer_node_unchanged(
    tier: Settings, served: Served,
) -> None:
    before = served.fingerprint()

    @tier
    @given(st.one_of(
        st.binary(max_size=300), mutated_bytes(VALID_BODIES),
        st.lists(st.sampled_from(VALID_BODIES), min_size=1, max_size=4).map(
            lambda bodies: b"[" + b",".join(bodies) + b"]"),
        json_values.map(dump),
    ))
    @example(DEEP_JSON)
    @example(b"[" + b"[" * 10_000)
    @example(b'{"jsonrpc": "2.0", "method": "chain_getBlock", "params": [1e400], "id": 1}')
    @example(b'{"jsonrpc": "2.0", "method": "no\\nsuch", "id": 1}')
    def check(body: bytes) -> None:
        _check_answer(*served.post(body))

    check()
    assert served.fingerprint() == before, "a request changed the chain or the mempool"


@pytest.mark.parametrize("tier", TIERS)
def test_rpc_any_params_of_every_method_get_json_rpc_answer_node_unchanged(
    tier: Settings, served: Served,
) -> None:
    before = served.fingerprint()
    methods = sorted(PARAMS)

    @tier
    @given(st.sampled_from(methods).flatmap(lambda method: st.tuples(
        st.just(method),
        st.one_of(mutated_value(PARAMS[method], json_values), json_values,
                  st.lists(json_values, max_size=4)),
        st.one_of(st.integers(), st.text(max_size=8), st.none(), json_values))))
    @example(("tx_submit", {"tx": "0x" + "91" * 900 + "c0"}, 1))
    @example(("chain_getBlock", {"height": 2**64}, 1))
    @example(("state_listListings", {"cursor": "\ud800"}, 1))
    @example(("chain_getBlock", {"\n": None}, None))  # a param name with a line break
    def check(call: tuple[str, Any, Any]) -> None:
        method, params, request_id = call
        _check_answer(*served.post(dump(_request(method, params, request_id))))

    check()
    assert served.fingerprint() == before, "a request changed the chain or the mempool"
