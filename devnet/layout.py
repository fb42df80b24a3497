"""The on-disk layout of a local devnet: validator homes sharing one genesis.

`create_layout` writes, under one root directory, a home per validator (its own node key,
config with loopback ports and every other validator as a persistent peer, the shared
genesis, an empty data directory), a test keyring with pre-funded demo accounts, and
`devnet.json` describing it all. Nothing here starts a process (see `devnet.processes`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from client.keyring import Keyring
from commerce.address import address_of, to_text
from commerce.keys import Keypair
from node.config import parse_config, write_config
from node.errors import NodeError, NodeErrorCode
from node.home import NodeHome, make_genesis, write_node_key

LAYOUT_FILE = "devnet.json"
DEFAULT_CHAIN_ID = "agora-devnet"
DEFAULT_BASE_PORT = 27100
VALIDATOR_BALANCE = "1000000"


@dataclass(frozen=True)
class DemoAccount:
    """A pre-funded demo account kept in the devnet's test keyring."""

    name: str
    role: str
    balance: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("alice", "shopper", "10000"),
    DemoAccount("bob", "shopper", "10000"),
    DemoAccount("carol", "shopper", "10000"),
    DemoAccount("acme", "merchant", "5000"),
    DemoAccount("bazaar", "merchant", "5000"),
)


@dataclass
class NodeSpec:
    """One validator of the devnet."""

    name: str
    home: str
    rpc_port: int
    p2p_port: int
    public_key: str

    @property
    def rpc_url(self) -> str:
        """The node's JSON-RPC URL."""
        return f"http://127.0.0.1:{self.rpc_port}"


@dataclass
class Layout:
    """What `devnet.json` records."""

    root: str
    chain_id: str
    base_port: int
    nodes: list[NodeSpec]
    accounts: list[dict[str, str]] = field(default_factory=list)
    keyring: str = ""

    def node(self, name: str) -> NodeSpec:
        """The node called `name` (v0, v1, ...); raises NodeError(not_found)."""
        for spec in self.nodes:
            if spec.name == name:
                return spec
        names = ", ".join(n.name for n in self.nodes)
        raise NodeError(NodeErrorCode.NOT_FOUND, f"no node {name!r} in the devnet ({names})")

    def save(self) -> None:
        """Write `devnet.json` atomically."""
        path = Path(self.root) / LAYOUT_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def load_layout(root: Path) -> Layout:
    """Read `devnet.json` under `root`; raises NodeError(not_found) when there is none."""
    path = root / LAYOUT_FILE
    if not path.is_file():
        raise NodeError(NodeErrorCode.NOT_FOUND,
                        f"no devnet at {root} (run: agora devnet up --home {root})")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        nodes = [NodeSpec(**n) for n in data.pop("nodes")]
        return Layout(nodes=nodes, **data)
    except (ValueError, TypeError, KeyError) as exc:
        raise NodeError(NodeErrorCode.BAD_CONFIG, f"{path} is damaged: {exc}") from exc


def node_ports(base_port: int, index: int) -> tuple[int, int]:
    """(rpc, p2p) ports of validator `index`: rpc = base + 2i, p2p = base + 2i + 1."""
    return base_port + 2 * index, base_port + 2 * index + 1


def create_layout(root: Path, *, validators: int = 4, base_port: int = DEFAULT_BASE_PORT,
                  chain_id: str = DEFAULT_CHAIN_ID,
                  demo_accounts: Sequence[DemoAccount] = DEMO_ACCOUNTS,
                  genesis_params: dict[str, Any] | None = None,
                  extra_accounts: Sequence[tuple[str, str]] = (),
                  consensus: dict[str, Any] | None = None,
                  mempool: dict[str, Any] | None = None,
                  listen_host: str = "127.0.0.1",
                  peer_hosts: Sequence[str] | None = None) -> Layout:
    """Write a fresh devnet under `root` (which must not hold one) and return its layout.

    By default every node listens on and dials 127.0.0.1. For nodes on separate hosts or
    containers, `listen_host` is the address they bind (e.g. 0.0.0.0) and `peer_hosts[i]`
    the host name the others dial validator i at (e.g. the compose service `v1`).
    """
    assert 1 <= validators <= 64, "a devnet has 1 to 64 validators"
    assert peer_hosts is None or len(peer_hosts) == validators, "one peer host per validator"
    hosts = list(peer_hosts) if peer_hosts is not None else [listen_host] * validators
    root.mkdir(parents=True, exist_ok=True)
    if (root / LAYOUT_FILE).exists():
        raise NodeError(NodeErrorCode.HOME_EXISTS,
                        f"{root} already holds a devnet (agora devnet reset to wipe it)")
    keys = [Keypair.generate() for _ in range(validators)]
    keyring_dir = root / "keyring"
    keyring = Keyring(keyring_dir, "test")
    accounts: list[dict[str, str]] = []
    balances: list[tuple[str, str]] = []
    for demo in demo_accounts:
        info = keyring.add(demo.name, passphrase=None)
        accounts.append({"name": demo.name, "address": info.address, "role": demo.role,
                         "balance": demo.balance})
        balances.append((info.address, demo.balance))
    for index, key in enumerate(keys):
        name = f"v{index}"
        keyring.import_seed_hex(name, key.seed.hex(), passphrase=None)
        address = to_text(address_of(key.public_key))
        balances.append((address, VALIDATOR_BALANCE))
        accounts.append({"name": name, "address": address, "role": "validator",
                         "balance": VALIDATOR_BALANCE})
    balances.extend(extra_accounts)
    genesis = make_genesis(chain_id, [(f"v{i}", k.public_key) for i, k in enumerate(keys)],
                           balances, genesis_params)
    # Rendered once: with a large genesis (up to 1,000,000 accounts, ~105 MB of JSON)
    # rendering it per node cost seconds each.
    genesis_bytes = genesis.to_json().encode("utf-8")
    specs: list[NodeSpec] = []
    for index, key in enumerate(keys):
        rpc_port, p2p_port = node_ports(base_port, index)
        specs.append(NodeSpec(f"v{index}", str(root / "nodes" / f"v{index}"), rpc_port,
                              p2p_port, key.public_key.hex()))
    for spec, key in zip(specs, keys, strict=True):
        home = NodeHome(spec.home)
        home.config_dir.mkdir(parents=True, exist_ok=True)
        home.data_dir.mkdir(parents=True, exist_ok=True)
        peers = [f"{o.public_key}@{host}:{o.p2p_port}"
                 for o, host in zip(specs, hosts, strict=True) if o is not spec]
        config = parse_config({
            "node": {"moniker": spec.name, "log_format": "text", "log_level": "info"},
            "p2p": {"listen": f"{listen_host}:{spec.p2p_port}", "persistent_peers": peers},
            "rpc": {"listen": f"{listen_host}:{spec.rpc_port}"},
            "consensus": consensus or {},
            "mempool": mempool or {},
        }, source=f"{spec.name} config")
        write_config(home.config_file, config)
        home.genesis_file.write_bytes(genesis_bytes)
        write_node_key(home.node_key_file, key)
    layout = Layout(str(root), chain_id, base_port, specs, accounts, str(keyring_dir))
    layout.save()
    return layout
