"""The node home directory (DESIGN section 7): create it with `init_home`, read it with `load_home`.

Layout::

    <home>/config/config.toml   operator settings (node/config.py)
    <home>/config/genesis.json  the chain's genesis document
    <home>/config/node_key.json this node's Ed25519 identity, mode 0600
    <home>/data/                LevelDB (node/store.py)

`init_home` without a genesis makes a single-validator chain: this node is the validator
and the node key's account is funded, so `agora init && agora start` produces blocks.
`load_home` refuses a bad or tampered genesis (bad_genesis), a malformed node key or one whose
public key does not match its seed (bad_key), a node key that group or others may access (as
ssh refuses such a private key: bad_key, naming `chmod 600`), and a bad config (bad_config),
each in one line.

The node key is a validator's identity: `init_home(overwrite=True)` keeps an existing valid
one, refuses to go on over a malformed one, and replaces either only with `new_key=True`,
moving the old file aside (`node_key.json.replaced-<UTC time>`) rather than deleting it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commerce.address import address_of, to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import (
    MAX_GENESIS_BYTES,
    Genesis,
    genesis_from_record,
    genesis_record,
    load_genesis,
    parse_genesis,
)
from commerce.keys import SEED_BYTES, Keypair
from node.config import (
    NodeConfig,
    NodeSection,
    load_config,
    parse_config,
    read_capped,
    write_config,
)
from node.errors import NodeError, NodeErrorCode
from node.frames import check_genesis_fits
from node.logs import get_logger, log

DEFAULT_CHAIN_ID = "agora-local"
DEFAULT_TOKEN_SYMBOL = "AGR"
DEFAULT_VALIDATOR_BALANCE = "1000000000"
MAX_NODE_KEY_BYTES = 4096
NODE_KEY_TYPE = "ed25519"
NODE_KEY_MODE = 0o600
NODE_KEY_SHARED_BITS = 0o077  # any permission of group or others: the key is not private
REPLACED_KEY_SUFFIX = ".replaced-"
MAX_REPLACED_KEY_FILES = 100  # same-second replacements get -1, -2...; a bound, not a need

assert NODE_KEY_MODE & NODE_KEY_SHARED_BITS == 0, "the node key is written private"


def default_home() -> Path:
    """$AGORA_HOME if set, else ~/.agora."""
    env = os.environ.get("AGORA_HOME")
    return Path(env).expanduser() if env else Path.home() / ".agora"


class _HomePath:
    """A path inside the home, read as an attribute of `NodeHome`."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    def __get__(self, home: NodeHome, owner: type[NodeHome] | None = None) -> Path:
        return home.root.joinpath(*self.parts)


@dataclass(frozen=True)
class NodeHome:
    """The paths of one node home (the layout in the module's docstring); constructing it
    touches nothing on disk."""

    root: Path

    def __init__(self, root: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "root", Path(root).expanduser())

    config_dir = _HomePath("config")
    config_file = _HomePath("config", "config.toml")
    genesis_file = _HomePath("config", "genesis.json")
    node_key_file = _HomePath("config", "node_key.json")  # mode 0600
    data_dir = _HomePath("data")  # the LevelDB store


@dataclass(frozen=True)
class InitResult:
    """What `init_home` did, for the CLI to print."""

    home: Path
    moniker: str
    chain_id: str
    node_public_key: str
    node_address: str
    genesis_hash: str
    genesis_created: bool
    key_created: bool
    data_kept: bool
    replaced_key: str | None = None  # the old key's public key hex, or "malformed"
    replaced_key_file: str | None = None  # where the old key file was moved

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return {
            "home": str(self.home),
            "moniker": self.moniker,
            "chain_id": self.chain_id,
            "node_public_key": self.node_public_key,
            "node_address": self.node_address,
            "genesis_hash": self.genesis_hash,
            "genesis_created": self.genesis_created,
            "key_created": self.key_created,
            "data_kept": self.data_kept,
            "replaced_key": self.replaced_key,
            "replaced_key_file": self.replaced_key_file,
        }


@dataclass(frozen=True)
class LoadedHome:
    """A validated home: the config, the genesis and the node's keypair."""

    home: NodeHome
    config: NodeConfig
    genesis: Genesis
    node_key: Keypair


def make_genesis(
    chain_id: str,
    validators: Sequence[tuple[str, bytes | str]],
    accounts: Sequence[tuple[str, str]] = (),
    params: Mapping[str, Any] | None = None,
    *,
    token_symbol: str = DEFAULT_TOKEN_SYMBOL,
    genesis_time: str | None = None,
) -> Genesis:
    """A validated genesis from (name, public key bytes or hex) validators and
    (address text, decimal balance) accounts; `params` overrides ChainParams fields.

    Raises ValidationError(bad_genesis) naming the bad field.
    """
    document = {
        "chain_id": chain_id,
        "genesis_time": genesis_time or _now_text(),
        "token": {"symbol": token_symbol},
        "validators": [
            {"name": name, "public_key": key.hex() if isinstance(key, bytes) else key}
            for name, key in validators
        ],
        "accounts": [{"address": address, "balance": balance} for address, balance in accounts],
        "params": dict(params or {}),
    }
    return parse_genesis(document)


def init_home(
    path: str | os.PathLike[str],
    *,
    moniker: str = "agora-node",
    chain_id: str = DEFAULT_CHAIN_ID,
    genesis: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    config: NodeConfig | None = None,
    token_symbol: str = DEFAULT_TOKEN_SYMBOL,
    validator_balance: str = DEFAULT_VALIDATOR_BALANCE,
    node_seed: bytes | None = None,
    new_key: bool = False,
) -> InitResult:
    """Create a node home at `path`: node key, config.toml and genesis.json, and `data/`.

    With `genesis`, that file is validated and copied (and `chain_id` is ignored); without it,
    a single-validator genesis names this node the validator and funds its key's account with
    `validator_balance`. An existing home raises NodeError(home_exists) unless `overwrite`;
    with `overwrite` the config and genesis are replaced, a valid node key is kept (a
    validator's identity is never thrown away by accident) and `data/` is left alone. An
    existing key file that does not load raises NodeError(bad_key) and nothing is written,
    unless `new_key`: then, as for a valid key, the old file is moved aside and a new key
    (from `node_seed`, or random) written; the result names what was replaced and where.
    Raises NodeError(bad_config) for a bad moniker, ValidationError(bad_genesis) for a bad
    genesis, OSError when the directory cannot be written.
    """
    home = NodeHome(path)
    existing = [p for p in (home.config_file, home.genesis_file, home.node_key_file) if p.exists()]
    if existing and not overwrite:
        raise NodeError(
            NodeErrorCode.HOME_EXISTS,
            f"{home.root} is already initialized ({existing[0].relative_to(home.root)} exists);"
            " use --overwrite to replace its config and genesis",
        )
    base = config or NodeConfig()
    node_section = parse_config({"node": {**base.node.model_dump(), "moniker": moniker}}).node
    assert isinstance(node_section, NodeSection)
    node_config = base.model_copy(update={"node": node_section})
    genesis_text = _read_genesis_file(Path(genesis)) if genesis is not None else None

    keypair, key_created, replaced_key = _node_key_for_init(home, node_seed, new_key)
    if genesis_text is not None:
        document = load_genesis(genesis_text)
    else:
        document = make_genesis(
            chain_id,
            [(moniker, keypair.public_key)],
            [(to_text(address_of(keypair.public_key)), validator_balance)],
            token_symbol=token_symbol,
        )
        genesis_text = document.to_json().encode("utf-8")

    home.config_dir.mkdir(parents=True, exist_ok=True)
    data_kept = home.data_dir.is_dir() and any(home.data_dir.iterdir())
    home.data_dir.mkdir(parents=True, exist_ok=True)
    replaced_key_file = None
    if key_created:
        if replaced_key is not None:
            replaced_key_file = str(_move_aside(home.node_key_file))
        write_node_key(home.node_key_file, keypair)
    write_config(home.config_file, node_config)
    _write_atomic(home.genesis_file, genesis_text, 0o644)
    return InitResult(
        home=home.root,
        moniker=moniker,
        chain_id=document.chain_id,
        node_public_key=keypair.public_key.hex(),
        node_address=to_text(address_of(keypair.public_key)),
        genesis_hash=document.hash.hex(),
        genesis_created=genesis is None,
        key_created=key_created,
        data_kept=data_kept,
        replaced_key=replaced_key,
        replaced_key_file=replaced_key_file,
    )


def load_home(path: str | os.PathLike[str]) -> LoadedHome:
    """Read and check a home: config (bad_config), genesis (bad_genesis), node key (bad_key).

    Each failure is one line naming the file and what is wrong. The data directory is not
    opened here; node/store.py checks it belongs to this genesis.
    """
    home = NodeHome(path)
    if not home.config_dir.is_dir():
        raise NodeError(
            NodeErrorCode.BAD_CONFIG, f"no node home at {home.root} (run `agora init` first)"
        )
    config = load_config(home.config_file)
    genesis = _load_home_genesis(home)
    check_genesis_fits(genesis)
    node_key = load_node_key(home.node_key_file)
    return LoadedHome(home=home, config=config, genesis=genesis, node_key=node_key)


_log = get_logger("home")
GENESIS_CHECKED_FILE = "genesis.checked"  # in the data directory
GENESIS_CHECKED_MIN_ACCOUNTS = 100_000  # smaller geneses validate in well under a second
MAX_GENESIS_RECORD_BYTES = 1024 * 1024


def _load_home_genesis(home: NodeHome) -> Genesis:
    """The home's genesis, validated.

    A large genesis (>= `GENESIS_CHECKED_MIN_ACCOUNTS` accounts) that validated once leaves
    a record in the data directory (`genesis.checked`, JSON: the SHA-256 of the file's
    bytes, the genesis hash, the accounts' count and total, the rest of the document).
    While the file's bytes have the recorded digest, the node starts from the record and
    leaves the accounts unread (`commerce.genesis.genesis_from_record`): a node whose store
    is initialized needs only the hash. Should they be needed (a store initialized after a
    crash, an export), they are read from the file then, its digest checked again, with
    `load_genesis(checked_before=True)` (no address checksums), and must give the recorded
    genesis. 1,000,000 accounts: ~9 s to validate in full, ~0.2 s from the record. The store
    still compares the genesis hash with the one it was created with.
    """
    path = home.genesis_file
    raw = _read_genesis_file(path)
    digest = hashlib.sha256(raw).hexdigest()
    record_path = home.data_dir / GENESIS_CHECKED_FILE
    record = _read_genesis_record(record_path)
    if record is not None and record.get("file_sha256") == digest:

        def load_accounts() -> Genesis:
            again = _read_genesis_file(path)
            if hashlib.sha256(again).hexdigest() != digest:
                raise ValidationError(ErrorCode.BAD_GENESIS,
                                      f"{path} changed while the node was running")
            return load_genesis(again, checked_before=True)

        try:
            return genesis_from_record(record, load_accounts)
        except ValidationError as exc:  # not a record this node wrote: validate the file
            log(_log, logging.WARNING, "genesis_record_ignored", path=str(record_path),
                error=exc.message)
    genesis = load_genesis(raw)
    if len(genesis.accounts) >= GENESIS_CHECKED_MIN_ACCOUNTS:
        text = json.dumps({"file_sha256": digest, **genesis_record(genesis)},
                          separators=(",", ":")) + "\n"
        try:
            home.data_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(record_path, text.encode("utf-8"), 0o644)
        except OSError as exc:  # a read-only data directory: validate in full next time
            log(_log, logging.WARNING, "genesis_check_not_recorded", path=str(record_path),
                error=str(exc.strerror))
    return genesis


def _read_genesis_record(path: Path) -> dict[str, Any] | None:
    """The JSON object in `genesis.checked`, or None (absent, unreadable, not an object)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_GENESIS_RECORD_BYTES + 1)
        record = json.loads(data) if len(data) <= MAX_GENESIS_RECORD_BYTES else None
    except (OSError, ValueError):
        return None
    return record if type(record) is dict else None


def write_node_key(path: Path, keypair: Keypair) -> None:
    """Write `{"type", "public_key", "seed"}` to `path` with mode 0600, atomically."""
    document = {
        "type": NODE_KEY_TYPE,
        "public_key": keypair.public_key.hex(),
        "seed": keypair.seed.hex(),
    }
    _write_atomic(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"), NODE_KEY_MODE)
    assert load_node_key(path).public_key == keypair.public_key, "node key reads back"


def load_node_key(path: Path, *, require_private: bool = True) -> Keypair:
    """Read a node_key.json; raises NodeError(bad_key) if missing, malformed or mismatched,
    or (`require_private`) if group or others have any permission on it."""
    name = path.name
    try:
        with path.open("rb") as handle:
            if require_private:
                _check_private(path, os.fstat(handle.fileno()).st_mode)
            data = handle.read(MAX_NODE_KEY_BYTES + 1)
    except FileNotFoundError:
        raise NodeError(NodeErrorCode.BAD_KEY, f"{name}: no such file: {path}") from None
    except OSError as exc:
        raise NodeError(NodeErrorCode.BAD_KEY, f"{name}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_NODE_KEY_BYTES:
        raise NodeError(NodeErrorCode.BAD_KEY, f"{name}: larger than {MAX_NODE_KEY_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise NodeError(NodeErrorCode.BAD_KEY, f"{name}: not valid JSON") from None
    return keypair_from_document(document, source=name)


def _check_private(path: Path, mode: int) -> None:
    """Refuse a key file that group or others may read or write (ssh's rule for keys)."""
    if mode & NODE_KEY_SHARED_BITS:
        raise NodeError(
            NodeErrorCode.BAD_KEY,
            f"{path.name}: {path} is accessible by group or others (mode "
            f"{stat.S_IMODE(mode):04o}); a node key must be private: run `chmod 600 {path}`",
        )


def keypair_from_document(document: Any, *, source: str) -> Keypair:
    """The keypair of a `{"type": "ed25519", "public_key": hex, "seed": hex}` object.

    Raises NodeError(bad_key) naming the field when the shape is wrong or the public key is
    not the seed's.
    """
    if not isinstance(document, dict):
        raise NodeError(NodeErrorCode.BAD_KEY, f"{source}: not a JSON object")
    unknown = sorted(set(document) - {"type", "public_key", "seed"})
    if unknown:
        raise NodeError(NodeErrorCode.BAD_KEY, f"{source}: {unknown[0]}: unknown key")
    if document.get("type") != NODE_KEY_TYPE:
        raise NodeError(NodeErrorCode.BAD_KEY, f"{source}: type: must be {NODE_KEY_TYPE!r}")
    seed = _hex_field(document, "seed", SEED_BYTES, source)
    public_key = _hex_field(document, "public_key", 32, source)
    keypair = Keypair.from_seed(seed)
    if keypair.public_key != public_key:
        raise NodeError(NodeErrorCode.BAD_KEY, f"{source}: public_key does not match the seed")
    return keypair


def _hex_field(document: dict[str, Any], field: str, size: int, source: str) -> bytes:
    value = document.get(field)
    if not isinstance(value, str) or len(value) != 2 * size:
        raise NodeError(NodeErrorCode.BAD_KEY, f"{source}: {field}: must be {2 * size} hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise NodeError(NodeErrorCode.BAD_KEY, f"{source}: {field}: not hex") from None


def _node_key_for_init(
    home: NodeHome, seed: bytes | None, new_key: bool
) -> tuple[Keypair, bool, str | None]:
    """The key to use, whether it is new, and what it replaces: the existing valid key
    (kept unless `new_key`), or a new one from `seed` or random.

    An existing file that does not load may still be a validator's identity (a truncated
    copy, an edit): without `new_key` it raises bad_key, and nothing has been written.
    """
    path = home.node_key_file
    old: Keypair | None = None
    replaced: str | None = None
    if path.exists() or path.is_symlink():
        try:
            old = load_node_key(path, require_private=False)
            replaced = old.public_key.hex()
        except NodeError as exc:
            if not new_key:
                raise NodeError(
                    NodeErrorCode.BAD_KEY,
                    f"{exc.message}; it may be this validator's identity: repair it, or pass"
                    f" --new-key to replace it (the old file is then kept as"
                    f" {path.name}{REPLACED_KEY_SUFFIX}<time>)",
                ) from None
            replaced = "malformed"
    if seed is not None:
        try:
            keypair = Keypair.from_seed(seed)
        except ValidationError as exc:
            raise NodeError(NodeErrorCode.BAD_KEY, exc.message) from None
    elif old is not None and not new_key:
        return old, False, None
    else:
        keypair = Keypair.generate()
    if old is not None and old.public_key == keypair.public_key:
        return old, False, None
    if old is not None and not new_key:
        raise NodeError(
            NodeErrorCode.BAD_KEY,
            f"{path.name} holds another key ({replaced}); pass --new-key to replace it",
        )
    return keypair, True, replaced


def _move_aside(path: Path) -> Path:
    """Rename a node key file to `<name>.replaced-<UTC time>[-n]`, mode 0600; its new path."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(MAX_REPLACED_KEY_FILES):
        suffix = f"{REPLACED_KEY_SUFFIX}{stamp}" + (f"-{attempt}" if attempt else "")
        target = path.with_name(path.name + suffix)
        if not target.exists() and not target.is_symlink():
            os.rename(path, target)
            if not target.is_symlink():
                os.chmod(target, NODE_KEY_MODE)
            return target
    raise NodeError(NodeErrorCode.BAD_KEY,
                    f"{path.parent} already holds {MAX_REPLACED_KEY_FILES} replaced keys of"
                    f" this second; move them away first")


def _read_genesis_file(path: Path) -> bytes:
    return read_capped(path, MAX_GENESIS_BYTES,
                       lambda message: ValidationError(ErrorCode.BAD_GENESIS, message),
                       what="genesis file")


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to a temporary file created with `mode`, fsync it, rename it over `path`."""
    temporary = path.with_name(f".{path.name}.tmp")
    if temporary.exists():
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _now_text() -> str:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")
