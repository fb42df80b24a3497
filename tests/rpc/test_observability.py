"""rpc.discover, /metrics, /health and CORS. Method: the OpenRPC document's shape and $refs
checked against the registry; the metrics text parsed line by line against the exposition
format; health and CORS through HTTP on a served test registry."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from node.metrics import CONTENT_TYPE, Counter, Histogram, MetricsRegistry, NodeMetrics
from tests.rpc.conftest import MakeRpc, Rpc

SAMPLE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
    r"(-?[0-9.e+-]+|\+Inf|-Inf|NaN)$"
)


async def discover(rpc: Rpc) -> dict[str, Any]:
    _, answer = await rpc.post('{"jsonrpc": "2.0", "method": "rpc.discover", "id": 1}')
    document: dict[str, Any] = answer["result"]
    return document


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


async def test_openrpc_document_lists_every_method_with_params(rpc: Rpc) -> None:
    document = await discover(rpc)
    assert document["openrpc"].startswith("1.2")
    assert document["info"]["title"]
    names = [m["name"] for m in document["methods"]]
    assert names == sorted(names)
    assert {"subtract", "sum", "get_data", "subscribe", "unsubscribe"} <= set(names)
    subtract = next(m for m in document["methods"] if m["name"] == "subtract")
    assert [p["name"] for p in subtract["params"]] == ["minuend", "subtrahend"]
    assert subtract["params"][0] == {"name": "minuend", "required": True,
                                     "description": "the number to subtract from",
                                     "schema": {"description": "the number to subtract from",
                                                "title": "Minuend", "type": "integer"}}
    assert subtract["description"] == "Subtract subtrahend from minuend."
    assert subtract["examples"] == [{
        "name": "forty-two minus twenty-three",
        "params": [{"name": "minuend", "value": 42}, {"name": "subtrahend", "value": 23}],
        "result": {"name": "result", "value": 19},
    }]
    sum_method = next(m for m in document["methods"] if m["name"] == "sum")
    assert [p["required"] for p in sum_method["params"]] == [True, True, False]
    subscribe = next(m for m in document["methods"] if m["name"] == "subscribe")
    assert "WebSocket only" in subscribe["description"]


async def test_openrpc_refs_resolve_inside_the_document(rpc: Rpc) -> None:
    document = await discover(rpc)
    shape = next(m for m in document["methods"] if m["name"] == "shape")
    refs = _refs(shape)
    assert refs, "the nested model is a $ref"
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[-1] in schemas


async def test_metrics_count_rpc_requests_by_method_and_code(rpc: Rpc) -> None:
    await rpc.post('{"jsonrpc": "2.0", "method": "subtract", "params": [1, 2], "id": 1}')
    await rpc.post('{"jsonrpc": "2.0", "method": "subtract", "params": ["1", 2], "id": 1}')
    await rpc.post('{"jsonrpc": "2.0", "method": "no_such_method_123", "id": 1}')
    await rpc.post("{oops")
    rpc.metrics.height.set(12)
    rpc.metrics.commit_latency.observe(0.07)
    response = await rpc.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    text = await response.text()
    assert 'agora_rpc_requests_total{method="subtract",code="0"} 1' in text
    assert 'agora_rpc_requests_total{method="subtract",code="-32602"} 1' in text
    assert 'agora_rpc_requests_total{method="<unknown>",code="-32601"} 1' in text
    assert 'agora_rpc_requests_total{method="<invalid>",code="-32700"} 1' in text
    assert "no_such_method_123" not in text
    assert "agora_chain_height 12" in text
    assert 'agora_block_commit_latency_seconds_bucket{le="0.1"} 1' in text
    for name in ("agora_consensus_view", "agora_consensus_view_changes_total",
                 "agora_mempool_txs", "agora_p2p_peers", "agora_txs_finalized_total"):
        assert f"# TYPE {name} " in text


async def test_metrics_text_is_well_formed(rpc: Rpc) -> None:
    await rpc.post('{"jsonrpc": "2.0", "method": "get_data", "id": 1}')
    text = await (await rpc.client.get("/metrics")).text()
    assert text.endswith("\n")
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in types, f"{name} typed twice"
            types[name] = kind
        elif line.startswith("# HELP "):
            continue
        else:
            assert SAMPLE.match(line), line
            base = line.split("{")[0].split(" ")[0]
            family = re.sub(r"_(bucket|sum|count)$", "", base)
            assert base in types or family in types, line


def test_metrics_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram("h_seconds", "help", buckets=(1.0, 2.0))
    for value in (0.5, 1.5, 1.5, 3.0):
        histogram.observe(value)
    lines = histogram.samples()
    assert lines == ['h_seconds_bucket{le="1"} 1', 'h_seconds_bucket{le="2"} 3',
                     'h_seconds_bucket{le="+Inf"} 4', "h_seconds_sum 6.5", "h_seconds_count 4"]


def test_metrics_label_values_are_escaped() -> None:
    counter = Counter("c_total", "a\\b\nc", ("method",))
    counter.inc(method='a"b\\c\nd')
    assert counter.render() == (
        "# HELP c_total a\\\\b\\nc\n# TYPE c_total counter\n"
        'c_total{method="a\\"b\\\\c\\nd"} 1\n'
    )


def test_metrics_gauge_function_and_duplicate_names() -> None:
    registry = MetricsRegistry()
    gauge = registry.gauge("g", "help")
    gauge.set_function(lambda: 7.5)
    assert "g 7.5\n" in registry.render()
    with pytest.raises(AssertionError):
        registry.gauge("g", "again")
    nan = registry.gauge("n", "help")
    nan.set(math.nan)
    assert "n NaN\n" in registry.render()


def test_metrics_node_metrics_render_every_family() -> None:
    text = NodeMetrics().render()
    assert text.count("# TYPE ") == 17  # 14, and governance's 3 (issue 21)


async def test_health_ok_is_200(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(health_checks=lambda: [("synced", True, "height 5"),
                                               ("database", True, "writable")])
    response = await rpc.client.get("/health")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert [c["name"] for c in body["checks"]] == ["rpc", "synced", "database"]


async def test_health_failed_check_is_503_naming_it(make_rpc: MakeRpc) -> None:
    async def checks() -> list[tuple[str, bool, str]]:
        return [("synced", False, "3 blocks behind"), ("database", True, "writable")]

    rpc = await make_rpc(health_checks=checks)
    response = await rpc.client.get("/health")
    assert response.status == 503
    body = await response.json()
    assert body["failed"] == ["synced"]
    assert body["checks"][1] == {"name": "synced", "ok": False, "detail": "3 blocks behind"}


async def test_health_checks_that_raise_are_503(make_rpc: MakeRpc) -> None:
    def checks() -> list[tuple[str, bool, str]]:
        raise OSError("disk gone")

    rpc = await make_rpc(health_checks=checks)
    response = await rpc.client.get("/health")
    assert response.status == 503
    assert (await response.json())["failed"] == ["health_checks"]


async def test_cors_allowed_origin_gets_headers_and_preflight(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(cors_origins=("https://shop.example",))
    preflight = await rpc.client.options("/", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
    response = await rpc.client.post(
        "/", data='{"jsonrpc":"2.0","method":"get_data","id":1}',
        headers={"Origin": "https://shop.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert response.headers["Vary"] == "Origin"


async def test_cors_other_origin_gets_nothing(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(cors_origins=("https://shop.example",))
    preflight = await rpc.client.options("/", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status == 403
    response = await rpc.client.post(
        "/", data='{"jsonrpc":"2.0","method":"get_data","id":1}',
        headers={"Origin": "https://evil.example"})
    assert response.status == 200
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_wildcard_allows_any_origin(make_rpc: MakeRpc) -> None:
    rpc = await make_rpc(cors_origins=("*",))
    response = await rpc.client.get("/health", headers={"Origin": "https://any.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://any.example"


async def test_cors_off_by_default(rpc: Rpc) -> None:
    response = await rpc.client.post(
        "/", data='{"jsonrpc":"2.0","method":"get_data","id":1}',
        headers={"Origin": "https://shop.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
