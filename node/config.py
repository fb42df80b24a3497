"""The node's configuration: `config/config.toml`, validated into a frozen `NodeConfig`.

`load_config` reads and checks the file; every problem (missing file, TOML syntax, unknown
key, wrong type, out-of-range value) becomes one `NodeError(bad_config)` whose message names
the file and the field, as in ``config.toml: p2p.listen: expected host:port``.
`render_config` writes the TOML back (with a comment per key); the two round-trip exactly.

Values that every validator must share (block size limits that affect validity) live in the
genesis, not here: this file holds what one operator may tune for one node.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    field_validator,
    model_validator,
)

from commerce.limits import MAX_BLOCK_TXS
from node.errors import NodeError, NodeErrorCode
from node.limits import (
    MAX_MEMPOOL_BYTES,
    MAX_MEMPOOL_NONCES_AHEAD,
    MAX_MEMPOOL_TXS,
    MAX_MEMPOOL_TXS_PER_ACCOUNT,
)
from node.rpc.limits import (
    DEFAULT_PAGE_ITEMS,
    DEFAULT_SUBSCRIPTIONS_COUNT,
    MAX_BATCH_CALLS,
    MAX_BODY_BYTES,
    MAX_BODY_BYTES_CEILING,
    MAX_CLIENT_INFLIGHT_CALLS,
    MAX_INFLIGHT_CALLS,
    MAX_PAGE_ITEMS_CEILING,
    MAX_SUBSCRIPTIONS_CEILING,
)
from p2p.limits import MAX_ALLOWED_KEYS, MAX_HOST_BYTES, MAX_PERSISTENT_PEERS

MAX_CONFIG_BYTES = 1024 * 1024
"""A config.toml larger than this is refused before parsing."""

# Hard ceilings the configurable values are checked against.
MAX_PEERS_CEILING = 1_000
MAX_RPC_BATCH_CEILING = MAX_INFLIGHT_CALLS  # the server runs a whole batch at once
MAX_CORS_ORIGINS = 64
MAX_WEB_ROOT_CHARS = 4096  # [web] root, a directory path
MAX_MEMPOOL_TXS_CEILING = 1_000_000
MAX_MEMPOOL_BYTES_CEILING = 4 * 1024 * 1024 * 1024
MAX_TIMEOUT_MS_CEILING = 3_600_000
MIN_TIMER_OVERRIDE_MS = 10  # a [consensus] timer set here (0 leaves it to the chain)

DEFAULT_P2P_PORT = 26656
DEFAULT_RPC_PORT = 26657

_HOST_RE = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)$"
)
_KEY_RE = re.compile(r"^[0-9a-f]{64}$")
MONIKER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def parse_host_port(text: str) -> tuple[str, int]:
    """Split ``host:port`` (IPv6 as ``[::1]:26656``); raises ValueError naming the problem."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not host:port")
    if not _HOST_RE.match(host) or len(host) > MAX_HOST_BYTES:
        raise ValueError(f"{text!r} has an invalid host")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r} has an invalid port (0-65535)")
    return host.strip("[]"), int(port_text)


def parse_peer(text: str) -> tuple[bytes, str, int]:
    """Split ``pubkeyhex@host:port`` into (public key, host, port); raises ValueError."""
    key_hex, sep, address = text.partition("@")
    if not sep or not _KEY_RE.match(key_hex):
        raise ValueError(f"{text!r} is not pubkeyhex@host:port (64 lowercase hex digits)")
    host, port = parse_host_port(address)
    return bytes.fromhex(key_hex), host, port


def _check_host_port(value: str) -> str:
    parse_host_port(value)
    return value


HostPort = Annotated[str, AfterValidator(_check_host_port)]
"""A config value that must be ``host:port`` (`parse_host_port`)."""


def read_capped(path: Path, max_bytes: int, fail: Callable[[str], Exception], *,
                what: str = "file") -> bytes:
    """The first `max_bytes` + 1 bytes of `path` (one past the limit, so the caller sees a
    file too large); raises `fail(message)` when it is missing or cannot be read."""
    try:
        with path.open("rb") as handle:
            return handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise fail(f"no such {what}: {path}") from None
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class NodeSection(_Section):
    """[node]: identity and logging."""

    moniker: Annotated[
        str, Field(pattern=MONIKER_PATTERN, description="a human name for this node")
    ] = "agora-node"
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"],
        Field(description="lowest level logged: debug, info, warning or error"),
    ] = "info"
    log_format: Annotated[
        Literal["json", "text"], Field(description="json (one object per line) or text")
    ] = "json"


class P2PSection(_Section):
    """[p2p]: the peer-to-peer listener and who to connect to."""

    listen: Annotated[HostPort, Field(description="address to accept peers on, host:port")] = (
        f"0.0.0.0:{DEFAULT_P2P_PORT}"
    )
    persistent_peers: Annotated[
        list[str],
        Field(
            max_length=MAX_PERSISTENT_PEERS,
            description="peers always dialed, as pubkeyhex@host:port",
        ),
    ] = []
    max_peers: Annotated[
        int, Field(ge=1, le=MAX_PEERS_CEILING, description="connected peers at most")
    ] = 50
    allowed_keys: Annotated[
        list[str],
        Field(
            max_length=MAX_ALLOWED_KEYS,
            description="public keys (hex) besides the validators allowed to connect",
        ),
    ] = []
    removed_validators: Annotated[
        Literal["observer", "refuse"],
        Field(description="a validator voted out of the set: observer (stays connected,"
                          " its consensus messages no longer count) or refuse (disconnected)"),
    ] = "observer"

    @field_validator("persistent_peers")
    @classmethod
    def _peers(cls, value: list[str]) -> list[str]:
        for index, peer in enumerate(value):
            try:
                parse_peer(peer)
            except ValueError as exc:
                raise ValueError(f"[{index}] {exc}") from None
        return value

    @field_validator("allowed_keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        for index, key in enumerate(value):
            if not _KEY_RE.match(key):
                raise ValueError(f"[{index}] {key!r} is not 64 lowercase hex digits")
        if len(set(value)) != len(value):
            raise ValueError("a key is listed twice")
        return value


class RpcSection(_Section):
    """[rpc]: the JSON-RPC 2.0 server (HTTP POST at / and WebSocket at /ws)."""

    listen: Annotated[
        HostPort, Field(description="address of the JSON-RPC server, host:port")
    ] = (
        f"127.0.0.1:{DEFAULT_RPC_PORT}"
    )
    cors_origins: Annotated[
        list[str],
        Field(max_length=MAX_CORS_ORIGINS, description='origins allowed by CORS ("*" for any)'),
    ] = []
    max_body_bytes: Annotated[
        int,
        Field(ge=1024, le=MAX_BODY_BYTES_CEILING, description="largest request body"),
    ] = MAX_BODY_BYTES
    max_batch: Annotated[
        int, Field(ge=1, le=MAX_RPC_BATCH_CEILING, description="calls in one batch at most")
    ] = MAX_BATCH_CALLS
    max_subscriptions: Annotated[
        int, Field(ge=0, le=MAX_SUBSCRIPTIONS_CEILING,
                   description="open WebSocket subscriptions at most")
    ] = DEFAULT_SUBSCRIPTIONS_COUNT
    max_calls_per_client: Annotated[
        int,
        Field(ge=1, le=MAX_INFLIGHT_CALLS,
              description="calls in flight from one client address (HTTP and WebSocket)"),
    ] = MAX_CLIENT_INFLIGHT_CALLS
    max_page_size: Annotated[
        int, Field(ge=1, le=MAX_PAGE_ITEMS_CEILING,
                   description="items in one page of a list method"),
    ] = DEFAULT_PAGE_ITEMS

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for index, origin in enumerate(value):
            if origin != "*" and not re.match(r"^https?://[^\s/]+$", origin):
                raise ValueError(f"[{index}] {origin!r} is not * or scheme://host[:port]")
        return value


class WebSection(_Section):
    """[web]: the web app served at GET / of the RPC address (node/rpc/webapp.py)."""

    enabled: Annotated[
        bool, Field(description="serve the web app at GET / (POST / is JSON-RPC either way)")
    ] = True
    root: Annotated[
        str,
        Field(max_length=MAX_WEB_ROOT_CHARS,
              description="directory of the built app, relative to the home; empty: "
              "web/app/dist of the source tree"),
    ] = ""


class MempoolSection(_Section):
    """[mempool]: limits of the pending-transaction pool."""

    max_txs: Annotated[
        int, Field(ge=1, le=MAX_MEMPOOL_TXS_CEILING, description="pending transactions at most")
    ] = MAX_MEMPOOL_TXS
    max_bytes: Annotated[
        int,
        Field(ge=1024, le=MAX_MEMPOOL_BYTES_CEILING, description="pending bytes at most"),
    ] = MAX_MEMPOOL_BYTES
    max_per_account: Annotated[
        int, Field(ge=1, le=100_000, description="pending transactions of one sender at most")
    ] = MAX_MEMPOOL_TXS_PER_ACCOUNT
    nonce_window: Annotated[
        int, Field(ge=1, le=100_000, description="how far past the next nonce one is kept")
    ] = MAX_MEMPOOL_NONCES_AHEAD

    @model_validator(mode="after")
    def _relations(self) -> MempoolSection:
        if self.max_per_account > self.max_txs:
            raise ValueError("max_per_account is larger than max_txs")
        return self


# Keys of [consensus] renamed, by their old spelling: a file that uses the old one still
# loads (one name per concept: `view_change_timeout_ms` in the config, the replica and the
# docs); `render_config` writes the new names.
CONSENSUS_KEY_ALIASES = {
    "timeout_view_change_ms": "view_change_timeout_ms",
    "timeout_view_change_max_ms": "view_change_timeout_max_ms",
}


class ConsensusSection(_Section):
    """[consensus]: this replica's limits; the validity rules and the timers every validator
    shares (the chain parameters view_change_timeout_ms and idle_block_interval_ms,
    changed by vote) are in the genesis and the chain."""

    view_change_timeout_ms: Annotated[
        int,
        Field(
            ge=0,
            le=MAX_TIMEOUT_MS_CEILING,
            description="0: the chain parameter (how long a validator waits for progress"
            " before asking for the next view; doubles per consecutive view change). A"
            " value (10 or more) overrides it on this node only: for tests, never on a"
            " production validator, whose peers keep the chain's",
        ),
    ] = 0
    view_change_timeout_max_ms: Annotated[
        int,
        Field(ge=10, le=MAX_TIMEOUT_MS_CEILING,
              description="ceiling of the doubling wait (never below the base in force)"),
    ] = 60_000
    idle_block_interval_ms: Annotated[
        int,
        Field(
            ge=0,
            le=MAX_TIMEOUT_MS_CEILING,
            description="0: the chain parameter (the primary proposes an empty block this"
            " long after the last one). A value (10 or more) overrides it on this node"
            " only, like view_change_timeout_ms",
        ),
    ] = 0
    max_block_txs: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_BLOCK_TXS,
            description="transactions this node puts in a block it proposes (at most the"
            " genesis max_block_txs); kept well below it by default so that a block's"
            " proposal, validation and finalize under load stay far inside"
            " view_change_timeout_ms",
        ),
    ] = 2_000

    @model_validator(mode="wrap")
    @classmethod
    def _aliases_and_relations(
        cls, data: Any, handler: ModelWrapValidatorHandler[ConsensusSection]
    ) -> ConsensusSection:
        """Read the old spellings of `CONSENSUS_KEY_ALIASES`, then check the relations
        between the timers, naming each key as the file spells it."""
        spelled = {new: new for new in CONSENSUS_KEY_ALIASES.values()}
        if isinstance(data, dict):
            data = dict(data)
            for old, new in CONSENSUS_KEY_ALIASES.items():
                if old in data:
                    if new in data:
                        raise ValueError(f"{old} is the old name of {new}: give one of them")
                    data[new] = data.pop(old)
                    spelled[new] = old
        section = handler(data)
        timeout, timeout_max = spelled["view_change_timeout_ms"], spelled[
            "view_change_timeout_max_ms"]
        for name in ("view_change_timeout_ms", "idle_block_interval_ms"):
            if 0 < getattr(section, name) < MIN_TIMER_OVERRIDE_MS:
                raise ValueError(f"{spelled.get(name, name)} is 0 (the chain parameter) "
                                 f"or at least {MIN_TIMER_OVERRIDE_MS}")
        if section.view_change_timeout_ms > section.view_change_timeout_max_ms:
            raise ValueError(f"{timeout} is larger than {timeout_max}")
        if 0 < section.view_change_timeout_ms <= section.idle_block_interval_ms:
            raise ValueError(
                f"idle_block_interval_ms must be below {timeout}, "
                "or an idle chain would change views"
            )
        return section

    def timers_override(self) -> tuple[int | None, int | None]:
        """(view_change_timeout_ms, idle_block_interval_ms) this node sets instead of the
        chain parameters, None for each it leaves to the chain."""
        return (self.view_change_timeout_ms or None, self.idle_block_interval_ms or None)


class StoreSection(_Section):
    """[store]: the node's LevelDBs (the chain's and the state's)."""

    write_buffer_mb: Annotated[
        int,
        Field(
            ge=0,
            le=256,
            description="LevelDB memtable size in MiB, for the chain's and the state's store"
            " each (one being filled, one being written out); 0: automatic - 16 plus 0-50%"
            " set by the node's key, so validators do not compact in step",
        ),
    ] = 0
    compaction_niceness: Annotated[
        int,
        Field(
            ge=0,
            le=19,
            description="nice value of LevelDB's background compaction thread, so the node's"
            " own work runs first (0: as the node's; 19: lowest)",
        ),
    ] = 10


class NodeConfig(_Section):
    """The whole `config.toml`; every section and key is optional and has a default."""

    node: NodeSection = NodeSection()
    p2p: P2PSection = P2PSection()
    rpc: RpcSection = RpcSection()
    mempool: MempoolSection = MempoolSection()
    consensus: ConsensusSection = ConsensusSection()
    store: StoreSection = StoreSection()
    web: WebSection = WebSection()


def parse_config(document: Any, *, source: str = "config.toml") -> NodeConfig:
    """Validate a decoded TOML document; raises NodeError(bad_config) naming the field."""
    try:
        return NodeConfig.model_validate(document)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        # A key of the file may hold a line break: the message stays one line.
        field = " ".join(".".join(str(part) for part in first.get("loc", ())).splitlines())
        field = field or "document"
        if first.get("type") == "extra_forbidden":
            message = "unknown key"
        else:
            message = str(first.get("msg", "invalid")).splitlines()[0]
            message = message.removeprefix("Value error, ")
        raise NodeError(NodeErrorCode.BAD_CONFIG, f"{source}: {field}: {message}") from None


def load_config(path: str | os.PathLike[str]) -> NodeConfig:
    """Read and validate a config.toml; raises NodeError(bad_config) with one line."""
    path = Path(path)
    source = path.name
    data = read_capped(path, MAX_CONFIG_BYTES,
                       lambda message: NodeError(NodeErrorCode.BAD_CONFIG, f"{source}: {message}"))
    if len(data) > MAX_CONFIG_BYTES:
        raise NodeError(NodeErrorCode.BAD_CONFIG, f"{source}: larger than {MAX_CONFIG_BYTES}")
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise NodeError(NodeErrorCode.BAD_CONFIG, f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc).splitlines()[0]
        raise NodeError(NodeErrorCode.BAD_CONFIG, f"{source}: TOML syntax: {message}") from None
    except RecursionError:  # arrays or inline tables nested past the parser's recursion
        raise NodeError(NodeErrorCode.BAD_CONFIG, f"{source}: nested too deeply") from None
    return parse_config(document, source=source)


def render_config(config: NodeConfig) -> str:
    """The configuration as TOML text, one commented key per line; `load_config` reads it."""
    lines = [
        "# Agora node configuration. Every key is optional; the values below are the",
        "# defaults unless changed. Consensus validity rules live in genesis.json.",
    ]
    for section_name in type(config).model_fields:
        section: BaseModel = getattr(config, section_name)
        lines.append("")
        lines.append(f"[{section_name}]")
        for key, info in type(section).model_fields.items():
            if info.description:
                lines.append(f"# {info.description}")
            lines.append(f"{key} = {_toml_value(getattr(section, key))}")
    text = "\n".join(lines) + "\n"
    assert tomllib.loads(text) == config.model_dump(), "rendered TOML reads back the same"
    return text


def write_config(path: str | os.PathLike[str], config: NodeConfig) -> None:
    """Write `config` to `path` atomically (temporary file, then rename)."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(render_config(config), encoding="utf-8")
    os.replace(temporary, path)


def _toml_value(value: Any) -> str:
    """One TOML value: strings, booleans, integers, finite floats and flat lists of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        assert math.isfinite(value), "TOML floats here are finite"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise AssertionError(f"no TOML form for {type(value).__name__}")


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_TOML_ESCAPES["\r"] = "\\r"


def _toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out: list[str] = []
    for char in text:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
