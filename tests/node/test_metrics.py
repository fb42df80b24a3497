"""node/metrics.py over prometheus_client: each node has its own registry, the text is the
exposition format the node always wrote (pinned here line by line), labels are checked.

Method: fill registries and compare the whole rendered text; count through two NodeMetrics
in one process and read each back."""

from __future__ import annotations

import math

import prometheus_client
import pytest

from node.metrics import MetricsRegistry, NodeMetrics


def test_metrics_render_pins_the_text_format() -> None:
    registry = MetricsRegistry()
    latency = registry.histogram("b_seconds", "Latency", ("method",), buckets=(0.1, 1.0))
    calls = registry.counter("a_calls_total", "Calls", ("method", "code"))
    level = registry.gauge("c_level", "Level")
    for method, code in (("zeta", "0"), ("alpha", "-32601"), ("zeta", "0")):
        calls.inc(method=method, code=code)
    latency.observe(0.05, method="x")
    latency.observe(2.5, method="x")
    level.set(math.inf)
    assert registry.render() == (
        "# HELP a_calls_total Calls\n# TYPE a_calls_total counter\n"
        'a_calls_total{method="alpha",code="-32601"} 1\n'
        'a_calls_total{method="zeta",code="0"} 2\n'
        "# HELP b_seconds Latency\n# TYPE b_seconds histogram\n"
        'b_seconds_bucket{method="x",le="0.1"} 1\n'
        'b_seconds_bucket{method="x",le="1"} 1\n'
        'b_seconds_bucket{method="x",le="+Inf"} 2\n'
        'b_seconds_sum{method="x"} 2.55\n'
        'b_seconds_count{method="x"} 2\n'
        "# HELP c_level Level\n# TYPE c_level gauge\nc_level +Inf\n"
    )


def test_metrics_two_nodes_in_one_process_count_apart() -> None:
    first, second = NodeMetrics(), NodeMetrics()
    first.rpc_requests.inc(method="m", code="0")
    first.commit_latency.observe(0.2)
    second.ws_dropped.inc(reason="shutdown")
    assert first.rpc_requests.value(method="m", code="0") == 1
    assert second.rpc_requests.value(method="m", code="0") == 0
    assert first.commit_latency.count() == 1 and second.commit_latency.count() == 0
    assert first.ws_dropped.value(reason="shutdown") == 0
    assert "agora_chain_height" not in prometheus_client.generate_latest().decode()


def test_metrics_wrong_labels_and_negative_counts_assert() -> None:
    metrics = NodeMetrics()
    with pytest.raises(AssertionError):
        metrics.rpc_requests.inc(method="m")
    with pytest.raises(AssertionError):
        metrics.rpc_requests.inc(method="m", cod="0")
    with pytest.raises(AssertionError):
        metrics.height.set(1, reason="x")
    with pytest.raises(AssertionError):
        metrics.txs_finalized.inc(-1)
