"""Change a running devnet's validator set by on-chain vote, as a consortium would.

`add_validator` writes a home and key for a new node (next free ports, the devnet's genesis,
every devnet node as a persistent peer), proposes it from a validator of the set, has enough
validators vote yes (more than two thirds of the set), starts the node once the proposal
passed (the validators admit a key to P2P from then on: node/validators.py allows scheduled
keys), and waits until the new key signs a commit certificate. `remove_validator` proposes a
removal, has it voted, waits for the activation height and stops the node. `rotate_key`
proposes a new key signed by the old and the new one, has it voted, waits for the activation
height, and restarts the node with the new key. Every transaction goes through the SDK's
wallet with the validators' keys in the devnet's test keyring (docs/GOVERNANCE.md).

Limits: each transaction waits SUBMIT_TIMEOUT_MS for finality; each command waits at most
its `timeout_s` for the activation and the first signed certificate, polling every
POLL_INTERVAL_S.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from client.keyring import Keyring
from client.rpc import RpcClient, RpcClientError
from client.wallet import AsyncWallet, Receipt
from commerce.address import address_of, to_text
from commerce.governance import ValidatorPropose, ValidatorVote, rotation_message
from commerce.keys import Keypair
from commerce.limits import MIN_GOVERNED_VALIDATORS
from consensus.messages import decode_certificate
from devnet.errors import DevnetError, DevnetErrorCode
from devnet.layout import Layout, NodeSpec, load_layout, node_ports
from devnet.merchants import approvals_needed
from devnet.processes import (
    Endpoint,
    check_ports_free,
    process_state,
    remove_pid,
    spawn_node,
    stop_processes,
    wait_for_chain,
)
from node.config import load_config, write_config
from node.errors import NodeError, NodeErrorCode
from node.home import NodeHome, write_node_key
from node.progress import NoProgress, Progress

SUBMIT_TIMEOUT_MS = 20_000
RECONFIG_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.2
RPC_TIMEOUT_S = 5.0
MAX_SCANNED_BLOCKS = 2_000
_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


@dataclass(frozen=True)
class ReconfigResult:
    """What a reconfiguration did, with the figures an operator asks for."""

    action: str  # add, remove, rotate_key
    name: str
    public_key: str  # the validator's key now (the new one after a rotation)
    proposal: int
    passed_height: int  # the block of the vote that passed the proposal
    activation_height: int
    rpc: str
    home: str
    pid: int | None = None  # the node's process (None once removed)
    first_signed_height: int | None = None  # first certificate the key signed (add, rotate)
    seconds_to_first_vote: float | None = None  # from the passing vote's finality to it

    @property
    def blocks_to_first_vote(self) -> int | None:
        """Blocks from the passing vote's block to the first certificate the key signed."""
        if self.first_signed_height is None:
            return None
        return self.first_signed_height - self.passed_height

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON."""
        return {**asdict(self), "blocks_to_first_vote": self.blocks_to_first_vote}


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name):
        raise ValueError(f"validator name {name!r}: 1 to 32 letters, digits, . _ - only")


def _next_index(layout: Layout) -> int:
    """The first port slot no node of the layout (present or removed) used."""
    used = [(spec.rpc_port - layout.base_port) // 2 for spec in layout.nodes]
    homes = Path(layout.root) / "nodes"
    taken = len(list(homes.iterdir())) if homes.is_dir() else 0
    return max([*used, taken - 1]) + 1


class _Chain:
    """The devnet's running validators, keys and JSON-RPC, for one reconfiguration."""

    def __init__(self, layout: Layout, rpc: RpcClient) -> None:
        self.layout = layout
        self.rpc = rpc
        self.keyring = Keyring(layout.keyring, "test")

    def wallet(self, name: str) -> AsyncWallet:
        return AsyncWallet(self.rpc, self.keyring.keypair(name), chain_id=self.layout.chain_id)

    async def members(self) -> list[str]:
        """Names of the next block's validators that this devnet holds keys for, in order;
        raises DevnetError(not_ready) when the set holds a key the devnet does not know."""
        validators = await self.rpc.call("chain_getValidators")
        by_key = {spec.public_key: spec.name for spec in self.layout.nodes}
        unknown = [str(v["name"]) for v in validators if v["public_key"] not in by_key]
        if unknown:
            raise DevnetError(DevnetErrorCode.NOT_READY,
                              f"validators {unknown} are not nodes of this devnet")
        return [by_key[str(v["public_key"])] for v in validators]

    async def members_with(self, name: str) -> list[str]:
        """`members()`, which must include `name`; raises ValueError when it does not."""
        members = await self.members()
        if name not in members:
            raise ValueError(f"{name} is not in the validator set ({', '.join(members)})")
        return members

    async def send(self, name: str, body: Any) -> Receipt:
        try:
            receipt = await self.wallet(name).submit(body, timeout_ms=SUBMIT_TIMEOUT_MS)
        except RpcClientError as exc:
            raise DevnetError(DevnetErrorCode.NOT_READY,
                              f"{type(body).TYPE} from {name} failed: {exc}") from None
        if not receipt.finalized or receipt.height is None:
            raise DevnetError(DevnetErrorCode.NOT_READY,
                              f"{type(body).TYPE} from {name} was not finalized in time")
        return receipt

    async def decide(self, proposer: str, body: ValidatorPropose, voters: list[str],
                     progress: Progress) -> tuple[int, int, int, float]:
        """Propose, then vote yes from `voters` until it passes: (proposal, passing block,
        activation height, monotonic time the passing vote was seen final)."""
        progress.step(f"{proposer} proposes {body.kind}")
        receipt = await self.send(proposer, body)
        opened = receipt.of_kind("validator_propose")
        assert opened and opened[0].data, "a finalized proposal names its id"
        proposal = int(opened[0].data[0])
        receipts = [receipt]
        if not receipt.of_kind("proposal_closed"):
            progress.step(f"{', '.join(voters)} vote yes on proposal {proposal}")
            receipts += await asyncio.gather(*(
                self.send(voter, ValidatorVote(proposal=proposal, vote="yes"))
                for voter in voters))
        seen = time.monotonic()
        for done in receipts:
            for event in done.of_kind("proposal_closed"):
                status, activation = str(event.data[1]), int(event.data[2] or 0)
                if status != "passed":
                    reason = event.data[3] if len(event.data) > 3 else ""
                    raise DevnetError(DevnetErrorCode.NOT_READY,
                                      f"proposal {proposal} {status} {reason}".strip())
                assert done.height is not None
                return proposal, done.height, activation, seen
        raise DevnetError(DevnetErrorCode.NOT_READY,
                          f"proposal {proposal} did not pass after {len(voters) + 1} votes")

    async def wait_height(self, height: int, deadline: float) -> None:
        while True:
            status = await self.rpc.call("node_status")
            if int(status["height"]) >= height:
                return
            if time.monotonic() >= deadline:
                raise DevnetError(DevnetErrorCode.NOT_READY,
                                  f"the chain did not reach height {height} in time "
                                  f"(height {status['height']})")
            await asyncio.sleep(POLL_INTERVAL_S)


async def signed_by(url: str, height: int, key: str) -> bool | None:
    """Whether `key` (hex) signed the commit certificate the node at `url` stores for
    `height`; None when the node has no such block yet."""
    try:
        async with RpcClient(url, timeout_s=RPC_TIMEOUT_S) as client:
            block = await client.call("chain_getBlock", height=height, full_txs=False)
            validators = await client.call("chain_getValidators", height=height)
    except RpcClientError:
        return None
    if not block.get("certificate"):
        return None
    cert = decode_certificate(bytes.fromhex(str(block["certificate"])))
    keys = [str(v["public_key"]) for v in validators]
    return any(index < len(keys) and keys[index] == key for index, _ in cert.signatures)


async def _first_signed(url: str, key: str, start: int, deadline: float) -> int:
    """The first height >= `start` whose certificate on the node at `url` holds a signature
    by `key`; raises DevnetError(not_ready) at `deadline`."""
    height = start
    while height < start + MAX_SCANNED_BLOCKS:
        signed = await signed_by(url, height, key)
        if signed:
            return height
        if signed is False:
            height += 1
            continue
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_INTERVAL_S)
    raise DevnetError(DevnetErrorCode.NOT_READY,
                      f"key {key[:16]} signed no commit certificate from height {start} to "
                      f"{height} in time")


def _live_url(layout: Layout, exclude: str = "") -> str:
    for spec in layout.nodes:
        if spec.name != exclude and process_state(spec.name, Path(spec.home)).alive:
            return spec.rpc_url
    raise DevnetError(DevnetErrorCode.NOT_READY,
                      f"no node of the devnet at {layout.root} is running (agora devnet up)")


def _write_peers(layout: Layout) -> None:
    """Every home's persistent peers: the other nodes of the layout (read at next start)."""
    for spec in layout.nodes:
        home = NodeHome(spec.home)
        config = load_config(home.config_file)
        host = config.p2p.listen.rpartition(":")[0] or "127.0.0.1"
        peers = [f"{o.public_key}@{host}:{o.p2p_port}" for o in layout.nodes if o is not spec]
        updated = config.model_copy(update={
            "p2p": config.p2p.model_copy(update={"persistent_peers": peers})})
        write_config(home.config_file, updated)


def _set_account(layout: Layout, name: str, keypair: Keypair) -> None:
    address = to_text(address_of(keypair.public_key))
    layout.accounts = [a for a in layout.accounts if a["name"] != name]
    layout.accounts.append({"name": name, "address": address, "role": "validator",
                            "balance": "0"})


def _voters(members: list[str], proposer: str, exclude: str = "") -> list[str]:
    """The fewest other members whose yes votes, with the proposer's, pass a proposal."""
    others = [m for m in members if m not in (proposer, exclude)]
    return others[: approvals_needed(len(members)) - 1]


def add_validator(root: Path, name: str | None = None, *,
                  timeout_s: float = RECONFIG_TIMEOUT_S,
                  progress: Progress | None = None) -> ReconfigResult:
    """Admit a new validator node to the running devnet at `root` by vote (module doc).

    Raises ValueError for a bad or taken name, NodeError(port_in_use), DevnetError(not_ready)
    when a step fails or times out (a node it started is stopped again)."""
    progress = progress or NoProgress()
    layout = load_layout(root.expanduser().resolve())
    index = _next_index(layout)
    name = name if name is not None else f"v{index}"
    _check_name(name)
    home_dir = Path(layout.root) / "nodes" / name
    keyring = Keyring(layout.keyring, "test")
    if any(spec.name == name for spec in layout.nodes) or home_dir.exists() or \
            name in {info.name for info in keyring.list()}:
        raise ValueError(f"the name {name!r} is taken in the devnet at {layout.root}")
    rpc_port, p2p_port = node_ports(layout.base_port, index)
    check_ports_free([(rpc_port, f"{name} rpc"), (p2p_port, f"{name} p2p")])
    url = _live_url(layout)
    progress.step(f"writing the home of {name} (rpc {rpc_port}, p2p {p2p_port}) and its key")
    key = Keypair.generate()
    spec = NodeSpec(name, str(home_dir), rpc_port, p2p_port, key.public_key.hex())
    template = NodeHome(layout.nodes[0].home)
    home = NodeHome(str(home_dir))
    home.config_dir.mkdir(parents=True)
    home.data_dir.mkdir(parents=True)
    config = load_config(template.config_file)
    host = config.p2p.listen.rpartition(":")[0] or "127.0.0.1"
    config = config.model_copy(update={
        "node": config.node.model_copy(update={"moniker": name}),
        "p2p": config.p2p.model_copy(update={"listen": f"{host}:{p2p_port}"}),
        "rpc": config.rpc.model_copy(update={"listen": f"{host}:{rpc_port}"}),
    })
    write_config(home.config_file, config)
    shutil.copyfile(template.genesis_file, home.genesis_file)
    write_node_key(home.node_key_file, key)
    keyring.import_seed_hex(name, key.seed.hex(), passphrase=None)
    layout.nodes.append(spec)
    _set_account(layout, name, key)
    _write_peers(layout)
    layout.save()
    body = ValidatorPropose(kind="add", key=key.public_key, name=name,
                            p2p_address=f"{host}:{p2p_port}")
    return asyncio.run(_add(layout, spec, url, body, timeout_s, progress))


async def _add(layout: Layout, spec: NodeSpec, url: str, body: ValidatorPropose,
               timeout_s: float, progress: Progress) -> ReconfigResult:
    deadline = time.monotonic() + timeout_s
    async with RpcClient(url, timeout_s=SUBMIT_TIMEOUT_MS / 1000 + 5) as rpc:
        chain = _Chain(layout, rpc)
        try:
            members = await chain.members()
            proposer = members[0]
            proposal, passed, activation, seen = await chain.decide(
                proposer, body, _voters(members, proposer), progress)
        except BaseException:
            _forget(layout, spec)  # not admitted: the name and ports are free again
            raise
    progress.step(f"proposal {proposal} passed at height {passed}; starting {spec.name}, "
                  f"a validator from height {activation}")
    pid = spawn_node(spec.name, Path(spec.home))
    try:
        await wait_for_chain([Endpoint(spec.name, Path(spec.home), pid, spec.rpc_url)],
                             min_height=0, timeout_s=max(1.0, deadline - time.monotonic()))
        progress.step(f"waiting for {spec.name} to sign a commit certificate")
        first = await _first_signed(spec.rpc_url, spec.public_key, activation, deadline)
    except BaseException:
        stop_processes([process_state(spec.name, Path(spec.home))])
        raise
    took = time.monotonic() - seen
    return ReconfigResult("add", spec.name, spec.public_key, proposal, passed, activation,
                          spec.rpc_url, spec.home, pid, first, round(took, 2))


def _forget(layout: Layout, spec: NodeSpec) -> None:
    """Undo the home, keyring entry and layout entry of a node the vote did not admit."""
    layout.nodes = [s for s in layout.nodes if s.name != spec.name]
    layout.accounts = [a for a in layout.accounts if a["name"] != spec.name]
    _write_peers(layout)
    layout.save()
    Keyring(layout.keyring, "test").delete(spec.name)
    shutil.rmtree(spec.home, ignore_errors=True)


def _member_spec(layout: Layout, name: str) -> NodeSpec:
    try:
        return layout.node(name)
    except NodeError:
        names = ", ".join(spec.name for spec in layout.nodes)
        raise NodeError(NodeErrorCode.NOT_FOUND,
                        f"no validator {name!r} in the devnet ({names})") from None


_MemberChange = Callable[[Layout, NodeSpec, str, float, Progress],
                         Coroutine[Any, Any, ReconfigResult]]


def _change_member(root: Path, name: str, timeout_s: float, progress: Progress | None,
                   change: _MemberChange) -> ReconfigResult:
    """Run `change` on validator `name` of the devnet at `root`, talking to another live
    node (the one changed may stop or restart on the way)."""
    layout = load_layout(root.expanduser().resolve())
    spec = _member_spec(layout, name)
    url = _live_url(layout, exclude=name)
    return asyncio.run(change(layout, spec, url, timeout_s, progress or NoProgress()))


def remove_validator(root: Path, name: str, *, timeout_s: float = RECONFIG_TIMEOUT_S,
                     progress: Progress | None = None) -> ReconfigResult:
    """Vote validator `name` out of the running devnet at `root`, wait for the activation
    height, stop its node and drop it from devnet.json (its home is kept).

    Raises NodeError(not_found) for an unknown name, ValueError when it is not in the set or
    the set would shrink below the governed minimum, DevnetError(not_ready)."""
    return _change_member(root, name, timeout_s, progress, _remove)


async def _remove(layout: Layout, spec: NodeSpec, url: str, timeout_s: float,
                  progress: Progress) -> ReconfigResult:
    deadline = time.monotonic() + timeout_s
    async with RpcClient(url, timeout_s=SUBMIT_TIMEOUT_MS / 1000 + 5) as rpc:
        chain = _Chain(layout, rpc)
        members = await chain.members_with(spec.name)
        if len(members) <= MIN_GOVERNED_VALIDATORS:
            raise ValueError(f"the set has {len(members)} validators and may not shrink below "
                             f"{MIN_GOVERNED_VALIDATORS}; add one first "
                             "(agora devnet add-validator)")
        proposer = next(m for m in members if m != spec.name)
        body = ValidatorPropose(kind="remove", key=bytes.fromhex(spec.public_key))
        proposal, passed, activation, _ = await chain.decide(
            proposer, body, _voters(members, proposer, spec.name), progress)
        progress.step(f"proposal {proposal} passed at height {passed}; waiting for height "
                      f"{activation}")
        await chain.wait_height(activation, deadline)
    progress.step(f"stopping {spec.name}")
    stop_processes([process_state(spec.name, Path(spec.home))])
    layout.nodes = [s for s in layout.nodes if s.name != spec.name]
    _write_peers(layout)
    layout.save()
    return ReconfigResult("remove", spec.name, spec.public_key, proposal, passed, activation,
                          spec.rpc_url, spec.home)


def rotate_key(root: Path, name: str, *, timeout_s: float = RECONFIG_TIMEOUT_S,
               progress: Progress | None = None) -> ReconfigResult:
    """Replace validator `name`'s consensus key by vote: a new key signs its consent, the
    old key proposes, the others vote; at the activation height the node restarts with the
    new key (and the keyring's entry `name` holds it), then signs with it.

    Raises NodeError(not_found), ValueError when `name` is not in the set,
    DevnetError(not_ready)."""
    return _change_member(root, name, timeout_s, progress, _rotate)


async def _rotate(layout: Layout, spec: NodeSpec, url: str, timeout_s: float,
                  progress: Progress) -> ReconfigResult:
    deadline = time.monotonic() + timeout_s
    keyring = Keyring(layout.keyring, "test")
    old = keyring.keypair(spec.name)
    new = Keypair.generate()
    async with RpcClient(url, timeout_s=SUBMIT_TIMEOUT_MS / 1000 + 5) as rpc:
        chain = _Chain(layout, rpc)
        members = await chain.members_with(spec.name)
        signature = new.sign(rotation_message(layout.chain_id, old.public_key, new.public_key))
        body = ValidatorPropose(kind="rotate_key", key=new.public_key, signature=signature)
        proposal, passed, activation, seen = await chain.decide(
            spec.name, body, _voters(members, spec.name), progress)
        progress.step(f"proposal {proposal} passed at height {passed}; waiting for height "
                      f"{activation}")
        await chain.wait_height(activation, deadline)
    progress.step(f"restarting {spec.name} with its new key")
    home = Path(spec.home)
    stop_processes([process_state(spec.name, home)])
    remove_pid(home)
    write_node_key(NodeHome(spec.home).node_key_file, new)
    keyring.delete(spec.name)
    keyring.import_seed_hex(spec.name, new.seed.hex(), passphrase=None)
    spec.public_key = new.public_key.hex()
    _set_account(layout, spec.name, new)
    _write_peers(layout)
    layout.save()
    pid = spawn_node(spec.name, home)
    await wait_for_chain([Endpoint(spec.name, home, pid, spec.rpc_url)], min_height=0,
                         timeout_s=max(1.0, deadline - time.monotonic()))
    progress.step(f"waiting for {spec.name}'s new key to sign a commit certificate")
    first = await _first_signed(spec.rpc_url, spec.public_key, activation, deadline)
    took = time.monotonic() - seen
    return ReconfigResult("rotate_key", spec.name, spec.public_key, proposal, passed,
                          activation, spec.rpc_url, spec.home, pid, first, round(took, 2))
