"""Regenerate the examples of docs/RPC.md from a real 4-validator devnet.

    python -m tests.docs.gen_rpc_examples            # starts a devnet in a temp dir, then down
    python -m tests.docs.gen_rpc_examples --home D   # uses the devnet already running at D

Method: the script plays a short shop story over JSON-RPC (transactions signed here with the
devnet's test keyring), records the exact request and response of one call of every method,
the WebSocket notifications of each topic, a few error answers, `/health` and `/metrics`,
and rewrites the regions of docs/RPC.md between ``<!-- generated:NAME -->`` and
``<!-- /generated:NAME -->``. The prose outside those regions is written by hand. Hex longer
than 64 characters is shortened to its first 32 characters, ``…`` and its length, and long
lists are cut, so every example is real but some are abridged (the page says so).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

import commerce  # noqa: F401  (registers transaction types)
from client.keyring import Keyring
from client.profiles import ProfileDraft
from commerce.address import address_of, from_text, to_text
from commerce.follows import Follow
from commerce.keys import Keypair, seal
from commerce.listings import ListingCreate, ListingDelist, ListingUpdate
from commerce.orders import OrderConfirm, OrderShip, Purchase
from commerce.polls import PollCreate, PollVote
from commerce.reviews import Review, ReviewReply
from commerce.rewards import RewardClaim
from commerce.social import Comment, Share
from commerce.transfer import Transfer
from commerce.tx import TxBody, sign_tx

ROOT = Path(__file__).resolve().parents[2]
RPC_DOC = ROOT / "docs" / "RPC.md"
AGORA = str(Path(sys.executable).parent / "agora")
HEX_KEEP_CHARS = 64
LIST_KEEP_ITEMS = 3
HEX_RE = re.compile(r"^(0x)?[0-9a-f]+$")
UNIT = 1_000_000

# One line more than the OpenRPC summary says, for the methods that need it.
NOTES: dict[str, str] = {
    "chain_getBlock": "Omit `height` for the latest block; `full_txs: false` lists only the "
    "transaction ids. The answer carries the commit certificate (hex) and the end-of-block "
    "events (order auto-release, poll closing).",
    "chain_getTransaction": "`status` is `finalized` (with height, index, block hash and the "
    "receipt's events) or `pending` (still in this node's mempool); an unknown id is "
    "`not_found` (-32058).",
    "tx_submit": "`wait: none` (default) answers once the mempool admitted the transaction; "
    "`wait: finalized` (`commit` is accepted as an alias) answers when it is finalized, "
    "with its height, index and events, or "
    "`timeout` (-32060) after `timeout_ms` (the transaction stays pending; `data.id` names "
    "it), or `evicted` (-32061). A refusal carries the "
    "state machine's or the mempool's reason (`bad_nonce`, `insufficient_funds`, "
    "`mempool_full`...).",
    "tx_submitBatch": "Up to 1000 transactions, admitted in order with signatures checked in "
    "parallel. The call itself succeeds; each entry is `{ok: true, id}` or `{ok: false, "
    "reason, message, code}`.",
    "tx_simulate": "Runs the transaction on the latest state, signature included, and keeps "
    "nothing; a transaction that would fail answers with the refusal as an error.",
    "state_getAccount": "`nonce` is the next nonce the chain expects; `pending_nonce` also "
    "counts this node's mempool (sign the next transaction with it).",
    "state_listListings": "Filters combine; `text` matches a substring of the title. Pages "
    "as described under Paging.",
    "state_listOrders": "Give `buyer` or `merchant`.",
    "state_getRewards": "`accrued` is claimable with `reward_claim`; `claimed` is the total "
    "minted to the account so far.",
    "state_getSupply": "`total` = `genesis` + `minted`; `escrow` is the part held for open "
    "orders.",
    "rpc.discover": "The OpenRPC 1.2 document of every method, the WebSocket ones included, "
    "with each param's JSON schema. The example below is abridged to one method.",
}


# --- recording --------------------------------------------------------------------------

def abridge(value: Any) -> Any:
    """The value with long hex shortened and long lists cut (still valid JSON)."""
    if isinstance(value, str):
        if len(value) > HEX_KEEP_CHARS and HEX_RE.match(value):
            return f"{value[:32]}…({len(value)} hex chars)"
        return value
    if isinstance(value, list):
        items = [abridge(v) for v in value[:LIST_KEEP_ITEMS]]
        return items
    if isinstance(value, dict):
        return {k: abridge(v) for k, v in value.items()}
    return value


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


class Recorder:
    """JSON-RPC calls over HTTP; keeps one (request, response) pair per method."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.id_next = 1
        self.examples: dict[str, tuple[Any, Any]] = {}

    async def post(self, message: Any) -> tuple[int, Any]:
        async with self.session.post(self.url, json=message) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text else None)

    async def call(self, method: str, record: bool = False, **params: Any) -> Any:
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params:
            request["params"] = params
        request["id"] = self.id_next
        self.id_next += 1
        _, response = await self.post(request)
        if record:
            self.examples[method] = (request, response)
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response["result"]


class Shop:
    """The devnet's test keys and a way to sign and submit with them."""

    def __init__(self, rec: Recorder, keyring_dir: Path, chain_id: str) -> None:
        self.rec = rec
        self.keyring = Keyring(keyring_dir, "test")
        self.chain_id = chain_id
        self.keys: dict[str, Keypair] = {}

    def key(self, name: str) -> Keypair:
        if name not in self.keys:
            self.keys[name] = self.keyring.keypair(name)
        return self.keys[name]

    def address(self, name: str) -> str:
        return to_text(address_of(self.key(name).public_key))

    async def sign(self, name: str, body: TxBody, nonce_offset: int = 0) -> Any:
        account = await self.rec.call("state_getAccount", address=self.address(name))
        return sign_tx(self.key(name), self.chain_id, account["pending_nonce"] + nonce_offset,
                       body)

    async def send(self, name: str, body: TxBody, record: bool = False) -> dict[str, Any]:
        tx = await self.sign(name, body)
        result: dict[str, Any] = await self.rec.call("tx_submit", record=record,
                                                     tx=tx.raw.hex(), wait="finalized")
        return result


async def media_story(rec: Recorder, shop: Shop, base: str, listing: int) -> None:
    """acme uploads a picture of the mug and makes it the listing's media."""
    from client.blobs import upload_blob
    from client.rpc import RpcClient
    from commerce.media import ListingMediaSet
    from tests.node.blob_images import png

    client = RpcClient(base, session=rec.session)
    blob = await upload_blob(client, shop.key("acme"), shop.chain_id, png(640, 480, seed=7))
    current = await rec.call("state_getListing", id=listing)
    await shop.send("acme", ListingMediaSet(listing=listing, version=current["current_version"],
                                            media=[bytes.fromhex(blob["sha256"])]))
    await rec.call("media_getBlob", record=True, sha256=blob["sha256"])
    await rec.call("media_getListingMedia", record=True, id=listing)
    await rec.call("media_listReferences", record=True, sha256=blob["sha256"])


# --- the story --------------------------------------------------------------------------

async def play(rec: Recorder, keyring_dir: Path, ws_url: str, base: str
               ) -> dict[str, Any]:
    """Play the story; returns the extra captures (errors, ws, health, metrics, batch)."""
    extra: dict[str, Any] = {}
    status = await rec.call("node_status", record=True)
    shop = Shop(rec, keyring_dir, status["chain_id"])
    await rec.call("node_peers", record=True)
    await rec.call("chain_getValidators", record=True)

    created = await shop.send("acme", ListingCreate(
        title="Hand-thrown mug", description="Stoneware, 350 ml", category="kitchen",
        price=12_500_000, stock=10, media=[], referral_bps=500), record=True)
    listing = created["events"][0]["data"][0]
    current = await rec.call("state_getListing", id=listing)
    await shop.send("acme", ListingUpdate(
        listing=listing, version=current["current_version"], title="Hand-thrown mug",
        description="Stoneware, 350 ml, dishwasher safe", category="kitchen",
        price=12_000_000, stock=10, media=[], referral_bps=500))
    shared = await shop.send("alice", Share(listing=listing))
    share_id = shared["events"][0]["data"][0]
    merchant = await rec.call("state_getMerchant", record=True, address=shop.address("acme"))
    current = await rec.call("state_getListing", id=listing)
    sealed = seal(bytes.fromhex(merchant["public_key"]), b"Bob, 1 Main St, Springfield")
    bought = await shop.send("bob", Purchase(listing=listing, version=current["current_version"],
                                             quantity=2, share=share_id, delivery=sealed))
    order = bought["events"][0]["data"][0]
    purchase_tx = bought["id"]
    await shop.send("acme", OrderShip(order=order, tracking=b""))
    await shop.send("bob", OrderConfirm(order=order))
    await shop.send("bob", Review(order=order, rating=5, text="Lovely glaze, fast shipping."))
    await shop.send("acme", ReviewReply(order=order, text="Thank you, Bob!"))
    commented = await shop.send("alice", Comment(listing=listing, parent=0,
                                                 text="Does it come in blue?"))
    comment_id = commented["events"][0]["data"][0]
    height = (await rec.call("node_status"))["height"]
    polled = await shop.send("acme", PollCreate(
        question="Which glaze next?", options=["blue", "green", "speckled"], scope="merchant",
        listing=listing, buyers_only=False, close_height=height + 1000))
    poll_id = polled["events"][0]["data"][0]
    await shop.send("bob", PollVote(poll=poll_id, option=0))
    await shop.send("alice", RewardClaim())

    simulated = await shop.sign("bob", Transfer(to=from_text(shop.address("carol")),
                                                amount=1_000_000, memo="thanks"))
    await rec.call("tx_simulate", record=True, tx=simulated.raw.hex())
    first = await shop.sign("carol", Transfer(to=from_text(shop.address("alice")),
                                              amount=2_000_000, memo=""))
    second = await shop.sign("carol", Transfer(to=from_text(shop.address("bob")),
                                               amount=3_000_000, memo=""), nonce_offset=1)
    await rec.call("tx_submitBatch", record=True, txs=[first.raw.hex(), second.raw.hex()])

    tx_info = await rec.call("chain_getTransaction", record=True, id=purchase_tx)
    block_height = tx_info["height"]
    block = await rec.call("chain_getBlock", record=True, height=block_height)
    await rec.call("chain_getBlockByHash", record=True, hash=block["header"]["hash"],
                   full_txs=False)
    await rec.call("chain_getCertificate", record=True, height=block_height)
    await asyncio.sleep(1.0)  # let the batch finalize before reading balances
    await rec.call("state_getAccount", record=True, address=shop.address("bob"))
    await rec.call("state_getSupply", record=True)
    await rec.call("state_getRewards", record=True, address=shop.address("alice"))
    await rec.call("state_listMerchants", record=True, status="approved", limit=1)
    await rec.call("state_getListing", record=True, id=listing, version=1)
    await rec.call("state_listListingVersions", record=True, id=listing)
    await rec.call("state_listListings", record=True, category="kitchen", text="mug")
    await rec.call("state_getOrder", record=True, id=order)
    await rec.call("state_listOrders", record=True, buyer=shop.address("bob"))
    await rec.call("state_getReview", record=True, order=order)
    await rec.call("state_listReviews", record=True, listing=listing)
    await rec.call("state_getComment", record=True, id=comment_id)
    await rec.call("state_listComments", record=True, listing=listing)
    await rec.call("state_getShare", record=True, id=share_id)
    await rec.call("state_getPoll", record=True, id=poll_id)
    await rec.call("state_listPolls", record=True, limit=10)
    await profile_story(rec, shop)
    await media_story(rec, shop, base, listing)
    await rec.call("rpc.discover", record=True)

    extra["ws"] = await websocket_story(rec, shop, ws_url)
    extra["errors"] = await error_story(rec, shop, listing)
    extra["batch"] = await batch_story(rec, shop)
    async with rec.session.get(base + "/health") as response:
        extra["health"] = (response.status, await response.json())
    async with rec.session.get(base + "/metrics") as response:
        text = await response.text()
    wanted = ("agora_chain_height", "agora_consensus_view ", "agora_mempool_txs ",
              "agora_p2p_peers ", "agora_txs_finalized_total ",
              'agora_rpc_requests_total{method="tx_submit",code="0"}',
              "# HELP agora_chain_height", "# TYPE agora_chain_height")
    extra["metrics"] = [line for line in text.splitlines() if line.startswith(wanted)]
    return extra


async def profile_story(rec: Recorder, shop: Shop) -> None:
    """Bob's profile with his address disclosed to acme; alice follows acme and bob."""
    acme = await rec.call("state_getMerchant", address=shop.address("acme"))
    draft = ProfileDraft(display_name="Bob", bio="Mugs and more mugs")
    draft.set_field(shop.key("bob"), "address", "Bob, 1 Main St, Springfield",
                    [bytes.fromhex(acme["public_key"])])
    await shop.send("bob", draft.body())
    await shop.send("alice", Follow(account=from_text(shop.address("acme"))))
    await shop.send("alice", Follow(account=from_text(shop.address("bob"))))
    await rec.call("state_getProfile", record=True, address=shop.address("bob"))
    await rec.call("state_getDisclosed", record=True, owner=shop.address("bob"),
                   recipient=shop.address("acme"))
    await rec.call("state_listProfileVersions", record=True, address=shop.address("bob"))
    await rec.call("state_getSocial", record=True, address=shop.address("alice"))
    await rec.call("state_listFollowing", record=True, address=shop.address("alice"))
    await rec.call("state_listFollowers", record=True, address=shop.address("acme"))
    await rec.call("state_getFeed", record=True, address=shop.address("alice"), limit=3)
    await rec.call("state_listActivity", record=True, address=shop.address("acme"), limit=2)


async def websocket_story(rec: Recorder, shop: Shop, ws_url: str) -> dict[str, Any]:
    """Subscribe to each topic, send one transfer, keep the first notification of each kind."""
    tx = await shop.sign("carol", Transfer(to=from_text(shop.address("bob")),
                                           amount=250_000, memo="ws demo"))
    out: dict[str, Any] = {"requests": {}, "notifications": {}}
    async with rec.session.ws_connect(ws_url) as ws:
        subs: dict[str, str] = {}
        asks = [("newBlocks", {}), ("tx", {"id": tx.tx_id.hex()}),
                ("account", {"address": shop.address("bob")})]
        for request_id, (topic, filters) in enumerate(asks, start=1):
            request = {"jsonrpc": "2.0", "method": "subscribe",
                       "params": {"topic": topic, **filters}, "id": request_id}
            await ws.send_json(request)
            response = await ws.receive_json(timeout=5)
            subs[response["result"]] = topic
            out["requests"][topic] = (request, response)
        await rec.call("tx_submit", tx=tx.raw.hex(), wait="none")
        seen: dict[str, list[Any]] = {}
        async with asyncio.timeout(15):
            while not ({"newBlocks", "account"} <= set(seen)
                       and len(seen.get("tx", [])) >= 2):
                message = await ws.receive_json()
                topic = subs.get(message.get("params", {}).get("subscription"), "")
                seen.setdefault(topic, []).append(message)
        out["notifications"] = seen
        sub_id = next(s for s, t in subs.items() if t == "newBlocks")
        request = {"jsonrpc": "2.0", "method": "unsubscribe",
                   "params": {"subscription": sub_id}, "id": 4}
        await ws.send_json(request)
        while True:
            response = await ws.receive_json(timeout=5)
            if response.get("id") == 4:
                break
        out["unsubscribe"] = (request, response)
    return out


async def error_story(rec: Recorder, shop: Shop, listing: int) -> list[tuple[str, Any, Any]]:
    """A few refusals as the node answers them: (title, request, response)."""
    out: list[tuple[str, Any, Any]] = []
    async with rec.session.post(rec.url, data=b'{"jsonrpc": "2.0", "method": ') as response:
        out.append(("Parse error", '{"jsonrpc": "2.0", "method": ', await response.json()))
    for title, request in [
        ("Unknown method", {"jsonrpc": "2.0", "method": "state_getWidget", "id": 1}),
        ("Invalid params (a param of the wrong type)",
         {"jsonrpc": "2.0", "method": "state_getOrder", "params": {"id": "seven"}, "id": 2}),
        ("Invalid params (a required param missing)",
         {"jsonrpc": "2.0", "method": "chain_getTransaction", "params": {}, "id": 3}),
        ("A malformed address (its own reason, not -32602)",
         {"jsonrpc": "2.0", "method": "state_getAccount",
          "params": {"address": "agora1notanaddress"}, "id": 4}),
        ("Nothing under that id", {"jsonrpc": "2.0", "method": "state_getOrder",
                                   "params": {"id": 999999}, "id": 5}),
    ]:
        _, response = await rec.post(request)
        out.append((title, request, response))
    await shop.send("acme", ListingDelist(listing=listing))
    current = await rec.call("state_getListing", id=listing)
    tx = await shop.sign("carol", Purchase(listing=listing, version=current["current_version"],
                                           quantity=1, share=0, delivery=b""))
    request = {"jsonrpc": "2.0", "method": "tx_submit", "params": {"tx": tx.raw.hex()}, "id": 6}
    _, response = await rec.post(request)
    out.append(("A refused transaction (the listing is delisted)", request, response))
    return out


async def batch_story(rec: Recorder, shop: Shop) -> tuple[Any, Any]:
    """A batch with a call, a notification and a call of an unknown method."""
    batch = [
        {"jsonrpc": "2.0", "method": "state_getAccount",
         "params": {"address": shop.address("carol")}, "id": 1},
        {"jsonrpc": "2.0", "method": "node_status"},
        {"jsonrpc": "2.0", "method": "no_such_method", "id": 2},
    ]
    _, response = await rec.post(batch)
    return batch, response


# --- rendering --------------------------------------------------------------------------

def _type_of(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        kinds = [_type_of(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return " \\| ".join(kinds)
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    limits = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"),
                       ("maxLength", "length ≤"), ("minItems", "items ≥"),
                       ("maxItems", "items ≤")):
        if key in schema:
            bound = "2^63-1" if schema[key] == 2**63 - 1 else schema[key]
            limits.append(f"{label} {bound}")
    if "pattern" in schema:
        limits.append(f"pattern `{schema['pattern']}`")
    return kind + (f" ({', '.join(limits)})" if limits else "")


def params_table(method: dict[str, Any]) -> str:
    params = method.get("params", [])
    if not params:
        return "Params: none (omit `params`, or send `{}`)."
    rows = ["| name | type | required | default |", "| --- | --- | --- | --- |"]
    for param in params:
        schema = param.get("schema", {})
        default = schema.get("default", "")
        default_text = "" if "default" not in schema else f"`{json.dumps(default)}`"
        rows.append(f"| `{param['name']}` | {_type_of(schema)} | "
                    f"{'yes' if param.get('required') else 'no'} | {default_text} |")
    return "\n".join(rows)


def method_section(method: dict[str, Any], request: Any, response: Any) -> str:
    name = method["name"]
    lines = [f"### {name}", "", method.get("summary", "") + "."]
    if name in NOTES:
        lines += ["", NOTES[name]]
    lines += ["", params_table(method), "", "Request:", "", "```json", dump(abridge(request)),
              "```", "", "Response:", "", "```json", dump(abridge(response)), "```", ""]
    return "\n".join(lines)


def abridge_discover(response: Any) -> Any:
    document = response["result"]
    methods = document["methods"]
    first = next(m for m in methods if m["name"] == "state_getAccount")
    short = {"openrpc": document["openrpc"], "info": document["info"], "methods": [first]}
    return {**response, "result": short}


def render_methods(discover: dict[str, Any], examples: dict[str, tuple[Any, Any]]) -> str:
    sections = []
    groups = [("node_", "Node"), ("chain_", "Chain"), ("tx_", "Transaction"),
              ("state_", "Shop state"), ("media_", "Listing media"), ("rpc.", "Discovery")]
    methods = {m["name"]: m for m in discover["methods"] if m["name"] not in
               ("subscribe", "unsubscribe")}
    methods["rpc.discover"] = {"name": "rpc.discover", "summary": "This document: every "
                               "method, in OpenRPC 1.2", "params": []}
    for prefix, title in groups:
        sections.append(f"## {title} methods\n")
        for name in sorted(n for n in methods if n.startswith(prefix)):
            if name not in examples:
                raise SystemExit(f"no example recorded for {name}")
            request, response = examples[name]
            if name == "rpc.discover":
                response = abridge_discover(response)
            sections.append(method_section(methods[name], request, response))
    missing = set(methods) - {n for n in methods if any(n.startswith(p) for p, _ in groups)}
    assert not missing, f"methods outside every group: {missing}"
    return "\n".join(sections)


def render_ws(discover: dict[str, Any], ws: dict[str, Any]) -> str:
    by_name = {m["name"]: m for m in discover["methods"]}
    out = []
    sub_request, sub_response = ws["requests"]["tx"]
    out.append(method_section(by_name["subscribe"], sub_request, sub_response))
    out.append("Topics and their notifications (each is a JSON-RPC notification with "
               "`method: \"subscription\"`; `params.subscription` is the id `subscribe` "
               "returned):\n")
    topics = [("newBlocks", "every finalized block's header and its transaction count.",
               {}), ("tx", "the transaction with that id: `admitted` (entered this node's "
                     "mempool), then `finalized` with its height, index and events, or "
                     "`dropped` with the reason.", {"id": "<tx id hex>"}),
              ("account", "each finalized transaction that touches the address (as sender "
               "or in an event), and end-of-block events (an order auto-released, ...).",
               {"address": "<agora1...>"})]
    for topic, meaning, _ in topics:
        request, _ = ws["requests"][topic]
        out.append(f"#### Topic `{topic}`\n\nSubscribe with `{json.dumps(request['params'])}`;"
                   f" notifies {meaning}\n")
        for message in ws["notifications"][topic][: (2 if topic == "tx" else 1)]:
            out += ["```json", dump(abridge(message)), "```", ""]
    request, response = ws["unsubscribe"]
    out.append(method_section(by_name["unsubscribe"], request, response))
    return "\n".join(out)


def render_errors(errors: list[tuple[str, Any, Any]], batch: tuple[Any, Any]) -> str:
    out = []
    for title, request, response in errors:
        body = request if isinstance(request, str) else dump(abridge(request))
        out += [f"{title}:", "", "```", body, "```", "", "```json", dump(abridge(response)),
                "```", ""]
    request, response = batch
    out += ["A batch (the notification in the middle gets no answer; the answers may come "
            "in any order, matched by `id`):", "", "```json", dump(request), "```", "",
            "```json", dump(abridge(response)), "```", ""]
    return "\n".join(out)


def render_health(extra: dict[str, Any]) -> str:
    status, body = extra["health"]
    return "\n".join([f"`GET /health` (HTTP {status}):", "", "```json", dump(body), "```", "",
                      "`GET /metrics` (excerpt):", "", "```", *extra["metrics"], "```", ""])


def replace_region(text: str, name: str, body: str) -> str:
    start, end = f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    assert pattern.search(text), f"docs/RPC.md has no region {name}"
    return pattern.sub(lambda _: f"{start}\n\n{body.rstrip()}\n\n{end}", text)


# --- driver -----------------------------------------------------------------------------

def free_base_port(count: int = 8) -> int:
    for _ in range(100):
        base = random.randrange(30_000, 45_000, 2)
        try:
            sockets = []
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise SystemExit("no free port range")


async def capture(home: Path) -> None:
    url = _url_from_status(home)
    async with aiohttp.ClientSession() as session:
        rec = Recorder(session, url + "/")
        extra = await play(rec, Path(home) / "keyring", url.replace("http", "ws") + "/ws", url)
    discover = rec.examples["rpc.discover"][1]["result"]
    text = RPC_DOC.read_text()
    text = replace_region(text, "methods", render_methods(discover, rec.examples))
    text = replace_region(text, "websocket", render_ws(discover, extra["ws"]))
    text = replace_region(text, "errors", render_errors(extra["errors"], extra["batch"]))
    text = replace_region(text, "health", render_health(extra))
    RPC_DOC.write_text(text)
    print(f"wrote {RPC_DOC} ({len(rec.examples)} methods)")


def _url_from_status(home: Path) -> str:
    out = subprocess.run([AGORA, "devnet", "status", "--home", str(home), "--output", "json"],
                         check=True, capture_output=True, text=True).stdout
    first = json.loads(out)["nodes"][0]
    return str(first["rpc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a running devnet's directory")
    args = parser.parse_args()
    if args.home is not None:
        asyncio.run(capture(args.home.resolve()))
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "devnet"
        subprocess.run([AGORA, "devnet", "up", "--detach", "--home", str(home), "--base-port",
                        str(free_base_port()), "--output", "json"], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ})
        try:
            asyncio.run(capture(home))
        finally:
            subprocess.run([AGORA, "devnet", "down", "--home", str(home)], check=False,
                           stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
