"""docs/RPC.md matches the node: every method a started node serves (its registry, the
`rpc.discover` built-in and the WebSocket `subscribe`/`unsubscribe`) has exactly one
``### name`` section, and every section names a real method, has a params table naming only
real params (and every required one), and a request and a response JSON example that parse.

Method: start a real in-process node (a home from `init_home` with ports 0), read the
method names from `build_registry(node)` and from `rpc.discover` over HTTP, and parse the
Markdown page by its ``### `` headings and fenced code blocks.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import commerce  # noqa: F401  (registers transaction types)
from client.rpc import RpcClient
from node.config import parse_config
from node.home import init_home, load_home
from node.rpc.methods import build_registry
from node.service import Node

RPC_DOC = Path(__file__).resolve().parents[2] / "docs" / "RPC.md"
BUILTINS = {"rpc.discover", "subscribe", "unsubscribe"}
FENCE_RE = re.compile(r"```json\n(.*?)```", re.S)
PARAM_ROW_RE = re.compile(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|", re.M)


def doc_sections() -> dict[str, str]:
    """Each ``### name`` section's text (up to the next heading of level 2 or 3)."""
    text = RPC_DOC.read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    parts = re.split(r"^(#{2,3}) (.*)$", text, flags=re.M)
    for index in range(1, len(parts), 3):
        level, title, body = parts[index], parts[index + 1].strip(), parts[index + 2]
        if level == "###":
            assert title not in sections, f"docs/RPC.md documents {title} twice"
            sections[title] = body
    return sections


@pytest.fixture
async def discovered(tmp_path: Path) -> AsyncIterator[tuple[set[str], dict[str, Any]]]:
    config = parse_config({"rpc": {"listen": "127.0.0.1:0"}, "p2p": {"listen": "127.0.0.1:0"}})
    init_home(tmp_path / "home", chain_id="docs-check", config=config)
    node = Node(load_home(tmp_path / "home"), rpc_port=0, p2p_port=0)
    await node.start()
    try:
        registry_names = {spec.name for spec in build_registry(node)}
        async with RpcClient(f"http://127.0.0.1:{node.rpc_port}", timeout_s=10) as client:
            document = await client.call("rpc.discover")
        yield registry_names, document
    finally:
        await node.stop()


async def test_rpc_doc_headings_equal_the_node_methods(
        discovered: tuple[set[str], dict[str, Any]]) -> None:
    registry_names, document = discovered
    discover_names = {m["name"] for m in document["methods"]}
    assert discover_names == registry_names | {"subscribe", "unsubscribe"}
    served = registry_names | BUILTINS
    documented = set(doc_sections())
    assert not served - documented, f"methods missing from docs/RPC.md: {served - documented}"
    assert not documented - served, f"docs/RPC.md names no such method: {documented - served}"


async def test_rpc_doc_params_tables_name_only_real_params(
        discovered: tuple[set[str], dict[str, Any]]) -> None:
    _, document = discovered
    params = {m["name"]: m["params"] for m in document["methods"]}
    params["rpc.discover"] = []
    for name, body in doc_sections().items():
        table = set(PARAM_ROW_RE.findall(body.split("Request:")[0]))
        real = {p["name"] for p in params[name]}
        required = {p["name"] for p in params[name] if p.get("required")}
        assert table <= real, f"{name}: documented params that do not exist: {table - real}"
        assert required <= table, f"{name}: required params not documented: {required - table}"
        if not real:
            assert "Params: none" in body, f"{name}: say that it takes no params"


def test_rpc_doc_each_method_has_a_request_and_a_response_example() -> None:
    for name, body in doc_sections().items():
        assert body.strip().splitlines()[0].strip(), f"{name}: no one-line description"
        assert "Request:" in body and "Response:" in body, f"{name}: no request or response"
        before, after = body.split("Response:", 1)
        requests = FENCE_RE.findall(before.split("Request:", 1)[1])
        responses = FENCE_RE.findall(after)
        assert requests and responses, f"{name}: the examples are not ```json blocks"
        request = json.loads(requests[0])
        response = json.loads(responses[0])
        assert request["jsonrpc"] == "2.0" and request["method"] == name, \
            f"{name}: the request example calls {request.get('method')}"
        assert response["jsonrpc"] == "2.0" and response["id"] == request["id"], \
            f"{name}: the response does not answer the request"
        assert "result" in response, f"{name}: the response example is an error"


def test_rpc_doc_every_websocket_topic_has_a_notification_example() -> None:
    text = RPC_DOC.read_text(encoding="utf-8")
    for topic in ("newBlocks", "tx", "account"):
        match = re.search(rf"^#### Topic `{topic}`\n(.*?)(?=^#)", text, re.S | re.M)
        assert match, f"docs/RPC.md has no section for topic {topic}"
        notes = [json.loads(block) for block in FENCE_RE.findall(match.group(1))]
        assert notes, f"topic {topic}: no notification example"
        for note in notes:
            assert note["method"] == "subscription" and "id" not in note
            assert {"subscription", "result"} <= set(note["params"])
