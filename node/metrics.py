"""Prometheus metrics without a dependency: counters, gauges and histograms with labels,
rendered in the text exposition format 0.0.4.

`MetricsRegistry` holds metrics by name and renders them all; `NodeMetrics` is the set the
node fills (height, view, mempool, peers, finalized transactions, commit latency) and the
RPC server counts into (requests by method and code). Updates take a lock, so a worker
thread may count too. A metric holds at most `MAX_LABEL_SETS` label combinations; more is
our bug (labels must come from closed sets), and it asserts.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

DEFAULT_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)

LabelValues = tuple[str, ...]

# Label combinations one metric may hold; the RPC layer maps unknown method names to one
# label, so every label here comes from a closed set.
MAX_LABEL_SETS = 1_000


def _check_name(name: str) -> None:
    assert name, "a metric or label needs a name"
    assert name.replace("_", "a").replace(":", "a").isalnum(), f"bad metric name {name!r}"
    assert not name[0].isdigit(), f"bad metric name {name!r}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it: integers plain, then +Inf, -Inf, NaN."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _labels_text(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    pairs = ",".join(f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


class _Metric(ABC):
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        _check_name(name)
        for label in labelnames:
            _check_name(label)
            assert label != "le", "le is reserved for histogram buckets"
        self.name = name
        self.help_text = help_text
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> LabelValues:
        assert set(labels) == set(self.labelnames), (
            f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}"
        )
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [
            f"# HELP {self.name} {_escape_help(self.help_text)}",
            f"# TYPE {self.name} {self.kind}",
        ]

    @abstractmethod
    def samples(self) -> list[str]:
        """The metric's sample lines in the text exposition format."""

    def render(self) -> str:
        return "\n".join(self.header() + self.samples()) + "\n"


class Counter(_Metric):
    """A value that only goes up. `inc(amount, **labels)`; by convention named `*_total`."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self._values: dict[LabelValues, float] = {}
        if not self.labelnames:
            self._values[()] = 0.0

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        assert amount >= 0, f"{self.name}: counters only go up"
        key = self._key(labels)
        with self._lock:
            if key not in self._values:
                assert len(self._values) < MAX_LABEL_SETS, f"{self.name}: too many label sets"
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [
            f"{self.name}{_labels_text(self.labelnames, k)} {format_value(v)}" for k, v in items
        ]


class Gauge(_Metric):
    """A value that goes up and down: `set`, `inc`, `dec`, or `set_function` read at scrape."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self._values: dict[LabelValues, float] = {}
        self._function: Callable[[], float] | None = None
        if not self.labelnames:
            self._values[()] = 0.0

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            if key not in self._values:
                assert len(self._values) < MAX_LABEL_SETS, f"{self.name}: too many label sets"
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            if key not in self._values:
                assert len(self._values) < MAX_LABEL_SETS, f"{self.name}: too many label sets"
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)

    def set_function(self, function: Callable[[], float]) -> None:
        """Read the value from `function` at each scrape (unlabelled gauges only)."""
        assert not self.labelnames, f"{self.name}: set_function needs an unlabelled gauge"
        self._function = function

    def value(self, **labels: str) -> float:
        if self._function is not None:
            return float(self._function())
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        if self._function is not None:
            return [f"{self.name} {format_value(float(self._function()))}"]
        with self._lock:
            items = sorted(self._values.items())
        return [
            f"{self.name}{_labels_text(self.labelnames, k)} {format_value(v)}" for k, v in items
        ]


@dataclass(slots=True)
class _HistogramState:
    bucket_counts: list[int]
    sum_value: float = 0.0
    count: int = 0


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS_S,
    ) -> None:
        super().__init__(name, help_text, labelnames)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        assert bounds, f"{self.name}: a histogram needs at least one finite bucket"
        assert len(set(bounds)) == len(bounds), f"{self.name}: buckets must be distinct"
        self.buckets = (*bounds, math.inf)
        self._states: dict[LabelValues, _HistogramState] = {}
        if not self.labelnames:
            self._states[()] = self._new_state()

    def _new_state(self) -> _HistogramState:
        return _HistogramState(bucket_counts=[0] * len(self.buckets))

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            state = self._states.get(key)
            if state is None:
                assert len(self._states) < MAX_LABEL_SETS, f"{self.name}: too many label sets"
                state = self._states[key] = self._new_state()
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    state.bucket_counts[index] += 1
                    break
            state.sum_value += value
            state.count += 1

    def count(self, **labels: str) -> int:
        state = self._states.get(self._key(labels))
        return 0 if state is None else state.count

    def samples(self) -> list[str]:
        lines: list[str] = []
        with self._lock:
            items = sorted(
                (k, list(s.bucket_counts), s.sum_value, s.count) for k, s in self._states.items()
            )
        names = (*self.labelnames, "le")
        for key, bucket_counts, sum_value, count in items:
            cumulative = 0
            for bound, bucket_count in zip(self.buckets, bucket_counts, strict=True):
                cumulative += bucket_count
                labels = _labels_text(names, (*key, format_value(bound)))
                lines.append(f"{self.name}_bucket{labels} {cumulative}")
            labels = _labels_text(self.labelnames, key)
            lines.append(f"{self.name}_sum{labels} {format_value(sum_value)}")
            lines.append(f"{self.name}_count{labels} {count}")
        return lines


class MetricsRegistry:
    """Metrics by name; `render()` is the body of `/metrics`."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def _add(self, metric: _Metric) -> None:
        assert metric.name not in self._metrics, f"metric {metric.name} registered twice"
        self._metrics[metric.name] = metric

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        metric = Counter(name, help_text, labelnames)
        self._add(metric)
        return metric

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        metric = Gauge(name, help_text, labelnames)
        self._add(metric)
        return metric

    def histogram(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS_S,
    ) -> Histogram:
        metric = Histogram(name, help_text, labelnames, buckets)
        self._add(metric)
        return metric

    def get(self, name: str) -> _Metric | None:
        return self._metrics.get(name)

    def render(self) -> str:
        """All metrics in the text exposition format, sorted by name."""
        return "".join(self._metrics[name].render() for name in sorted(self._metrics))


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

    def render(self) -> str:
        return self.registry.render()
