"""Prometheus metrics of one node, kept by `prometheus_client`.

`MetricsRegistry` holds the metrics of one node in a `prometheus_client.CollectorRegistry`
of its own (never the library's global one: a test process runs several nodes);
`NodeMetrics` is the set the node fills (height, view, mempool, peers, finalized
transactions, commit latency) and the RPC server counts into (requests by method and code).
The library counts (thread-safe, so a worker thread may count too); `render()` writes its
samples in the text exposition format 0.0.4 as this node always has: values that are
integers written plain (`1`, `le="1"`), each series' buckets then `_sum` then `_count`,
families and label sets sorted, and no `_created` series.

`Counter`, `Gauge` and `Histogram` keep their child per label set, so an update is a dict
look-up and the library's own lock. A metric holds at most `MAX_LABEL_SETS` label
combinations; more is our bug (labels must come from closed sets), and it asserts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import prometheus_client
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry
from prometheus_client.metrics_core import Metric as Family

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

DEFAULT_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)

LabelValues = tuple[str, ...]

# Label combinations one metric may hold; the RPC layer maps unknown method names to one
# label, so every label here comes from a closed set.
MAX_LABEL_SETS = 1_000

# Sample suffixes of a histogram series, in the order they are written.
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it: integers plain, then +Inf, -Inf, NaN."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels_text(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escape_label(value)}"' for name, value in pairs) + "}"


def _exposed_name(family: Family) -> str:
    """The name a family is written under: a counter's with its `_total`."""
    return family.name + "_total" if family.type == "counter" else family.name


def _family_samples(family: Family) -> list[str]:
    """The sample lines of one family: label sets sorted by their values; in a histogram's
    series the buckets in order, then `_sum`, then `_count`."""
    name = _exposed_name(family)
    series: dict[LabelValues, list[tuple[int, str]]] = defaultdict(list)
    for sample in family.samples:
        suffix = sample.name[len(family.name):]
        if family.type == "histogram":
            if suffix not in _HISTOGRAM_SUFFIXES:
                continue  # the library's `_created`
            rank = _HISTOGRAM_SUFFIXES.index(suffix)
        elif sample.name == name:
            rank = 0
        else:
            continue
        # The library's labels are in the metric's label-name order, `le` last.
        pairs = [(n, v) for n, v in sample.labels.items() if n != "le"]
        key = tuple(v for _, v in pairs)
        if "le" in sample.labels:
            pairs.append(("le", format_value(float(sample.labels["le"]))))
        series[key].append((rank, f"{sample.name}{_labels_text(pairs)} "
                                  f"{format_value(sample.value)}"))
    # sorted() is stable: a series' buckets keep the library's (ascending) order.
    return [line for key in sorted(series)
            for _, line in sorted(series[key], key=lambda ranked: ranked[0])]


def _family_text(family: Family) -> str:
    help_text = family.documentation.replace("\\", "\\\\").replace("\n", "\\n")
    name = _exposed_name(family)
    header = [f"# HELP {name} {help_text}", f"# TYPE {name} {family.type}"]
    return "\n".join(header + _family_samples(family)) + "\n"


class _Metric:
    """One metric of the library, with its children by label values."""

    kind = "untyped"

    def __init__(self, metric: Any, name: str, help_text: str,
                 labelnames: Sequence[str]) -> None:
        self._metric = metric
        self.name = name
        self.help_text = help_text
        self.labelnames = tuple(labelnames)
        self._children: dict[LabelValues, Any] = {}  # an unlabelled metric is its own child

    def _child(self, labels: dict[str, str]) -> Any:
        if not labels and not self.labelnames:
            return self._metric
        if len(labels) == len(self.labelnames):
            try:
                return self._children[tuple([labels[n] for n in self.labelnames])]
            except KeyError:
                pass  # a label set not seen yet, or a wrong label name
        return self._new_child(labels)

    def _new_child(self, labels: dict[str, str]) -> Any:
        assert sorted(labels) == sorted(self.labelnames), (
            f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}"
        )
        assert len(self._children) < MAX_LABEL_SETS, f"{self.name}: too many label sets"
        key = tuple(labels[n] for n in self.labelnames)
        return self._children.setdefault(key, self._metric.labels(*key))

    def _family(self) -> Family:
        (family,) = self._metric.collect()
        return family  # type: ignore[no-any-return]

    def _sample_value(self, sample_name: str, labels: dict[str, str]) -> float:
        assert sorted(labels) == sorted(self.labelnames), (
            f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}"
        )
        wanted = {n: labels[n] for n in self.labelnames}
        for sample in self._family().samples:
            if sample.name == sample_name and sample.labels == wanted:
                return float(sample.value)
        return 0.0

    def samples(self) -> list[str]:
        """The metric's sample lines in the text exposition format."""
        return _family_samples(self._family())

    def render(self) -> str:
        """The metric's HELP, TYPE and sample lines."""
        return _family_text(self._family())


class Counter(_Metric):
    """A value that only goes up. `inc(amount, **labels)`; by convention named `*_total`."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = (),
                 registry: CollectorRegistry | None = None) -> None:
        assert name.endswith("_total"), f"counter {name} is named *_total"
        metric = prometheus_client.Counter(name, help_text, labelnames, registry=registry)
        super().__init__(metric, name, help_text, labelnames)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        assert amount >= 0, f"{self.name}: counters only go up"
        self._child(labels).inc(amount)

    def value(self, **labels: str) -> float:
        return self._sample_value(self.name, labels)


class Gauge(_Metric):
    """A value that goes up and down: `set`, `inc`, `dec`, or `set_function` read at scrape."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = (),
                 registry: CollectorRegistry | None = None) -> None:
        metric = prometheus_client.Gauge(name, help_text, labelnames, registry=registry)
        super().__init__(metric, name, help_text, labelnames)

    def set(self, value: float, **labels: str) -> None:
        self._child(labels).set(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self._child(labels).inc(amount)

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self._child(labels).dec(amount)

    def set_function(self, function: Callable[[], float]) -> None:
        """Read the value from `function` at each scrape (unlabelled gauges only)."""
        assert not self.labelnames, f"{self.name}: set_function needs an unlabelled gauge"
        self._metric.set_function(function)

    def value(self, **labels: str) -> float:
        return self._sample_value(self.name, labels)


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS_S,
        registry: CollectorRegistry | None = None,
    ) -> None:
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        assert bounds, f"{name}: a histogram needs at least one finite bucket"
        assert len(set(bounds)) == len(bounds), f"{name}: buckets must be distinct"
        self.buckets = (*bounds, math.inf)
        metric = prometheus_client.Histogram(name, help_text, labelnames,
                                             buckets=self.buckets, registry=registry)
        super().__init__(metric, name, help_text, labelnames)

    def observe(self, value: float, **labels: str) -> None:
        self._child(labels).observe(value)

    def count(self, **labels: str) -> int:
        return int(self._sample_value(self.name + "_count", labels))


_MetricT = TypeVar("_MetricT", bound=_Metric)


class MetricsRegistry:
    """The metrics of one node, in a `CollectorRegistry` of its own; `render()` is the body
    of `/metrics`."""

    def __init__(self) -> None:
        self.collectors = CollectorRegistry()
        self._metrics: dict[str, _Metric] = {}

    def _add(self, name: str, make: Callable[[], _MetricT]) -> _MetricT:
        assert name not in self._metrics, f"metric {name} registered twice"
        metric = make()
        self._metrics[name] = metric
        return metric

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._add(name, lambda: Counter(name, help_text, labelnames, self.collectors))

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._add(name, lambda: Gauge(name, help_text, labelnames, self.collectors))

    def histogram(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS_S,
    ) -> Histogram:
        return self._add(name, lambda: Histogram(name, help_text, labelnames, buckets,
                                                 self.collectors))

    def get(self, name: str) -> _Metric | None:
        return self._metrics.get(name)

    def render(self) -> str:
        """Every family of the registry in the text exposition format, sorted by name."""
        families = sorted(self.collectors.collect(), key=_exposed_name)
        return "".join(_family_text(family) for family in families)


@dataclass
class NodeMetrics:
    """The metrics of one node: the node sets the chain ones, the RPC server its own."""

    registry: MetricsRegistry = field(default_factory=MetricsRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.height = r.gauge("agora_chain_height", "Height of the latest finalized block")
        self.view = r.gauge("agora_consensus_view", "Current PBFT view number")
        self.view_changes = r.counter(
            "agora_consensus_view_changes_total", "View changes this node has completed"
        )
        self.mempool_txs = r.gauge("agora_mempool_txs", "Transactions waiting in the mempool")
        self.mempool_bytes = r.gauge("agora_mempool_bytes", "Bytes of transactions in the mempool")
        self.peers = r.gauge("agora_p2p_peers", "Connected peers")
        self.peers_blamed = r.counter(
            "agora_p2p_peers_blamed_total",
            "Peers banned for consensus bytes no honest node sends, by reason",
            ("reason",),
        )
        self.txs_finalized = r.counter(
            "agora_txs_finalized_total", "Transactions in blocks this node has finalized"
        )
        self.commit_latency = r.histogram(
            "agora_block_commit_latency_seconds",
            "Seconds from a block's proposal to its commit on this node",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        )
        self.rpc_requests = r.counter(
            "agora_rpc_requests_total",
            "JSON-RPC calls answered, by method and error code (0 is success)",
            ("method", "code"),
        )
        self.rpc_latency = r.histogram(
            "agora_rpc_request_duration_seconds", "Seconds to answer one JSON-RPC call", ("method",)
        )
        self.ws_connections = r.gauge("agora_rpc_ws_connections", "Open WebSocket connections")
        self.ws_subscriptions = r.gauge("agora_rpc_ws_subscriptions", "Active subscriptions")
        self.ws_dropped = r.counter(
            "agora_rpc_ws_dropped_total",
            "WebSocket clients disconnected by the server, by reason",
            ("reason",),
        )
        # Governance (docs/GOVERNANCE.md).
        self.validators = r.gauge(
            "agora_governance_validators", "Validators in the set in force at the next height")
        self.proposals_open = r.gauge(
            "agora_governance_proposals_open", "Governance proposals open for votes")
        self.reconfiguration_height = r.gauge(
            "agora_governance_last_activation_height",
            "Height at which the latest passed set or parameter change takes effect (0: none)")

    def render(self) -> str:
        return self.registry.render()
