"""The genesis document: chain id, token, validators, initial balances and chain parameters.

`load_genesis` validates a JSON document and names the bad field in its one-line error;
`Genesis.hash` identifies the chain; `genesis_writes` is the state at height 0.

Scale: a genesis may fund `MAX_GENESIS_ACCOUNTS` (1,000,000) accounts. Their balances are
kept packed (`GenesisAccounts`, 28 bytes an account rather than a model object of ~600),
each address is decoded once while validating, and the hash is computed once per document
(`Genesis.hash` is cached), so a node neither holds nor re-reads them after start-up.
A node that validated a large genesis keeps a `genesis_record` of it and starts again from
that (`genesis_from_record`), the accounts read only if something asks for them.
"""

from __future__ import annotations

import contextlib
import json
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Annotated, Any, overload

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from base.limits import DIGEST_BYTES
from commerce.address import ADDRESS_BYTES, Address, from_checked_text, from_text, to_text
from commerce.amount import DECIMALS, UNIT, format_amount, parse_amount
from commerce.encoding import encode, pack_plain, sha256
from commerce.errors import ErrorCode, ValidationError
from commerce.ledger import Account, Supply, put_account, put_supply
from commerce.limits import (
    MAX_ACCOUNT_RESERVE_MINOR,
    MAX_ACTIVATION_BLOCKS,
    MAX_AMOUNT_MINOR,
    MAX_BLOCK_BYTES,
    MAX_BLOCK_TXS,
    MAX_COMMENT_REWARDS_PER_EPOCH,
    MAX_EPOCH_BLOCKS,
    MAX_GENESIS_ACCOUNTS,
    MAX_IDLE_BLOCK_INTERVAL_MS,
    MAX_POLL_BLOCKS,
    MAX_PROPOSAL_BLOCKS,
    MAX_REFERRAL_BPS,
    MAX_REWARD_PRICE_BPS,
    MAX_TIMEOUT_BLOCKS,
    MAX_VALIDATORS,
    MAX_VIEW_CHANGE_TIMEOUT_MS,
    MIN_ACTIVATION_BLOCKS,
    MIN_BLOCK_BYTES,
    MIN_IDLE_BLOCK_INTERVAL_MS,
    MIN_TIMEOUT_TO_IDLE_RATIO,
    MIN_VIEW_CHANGE_TIMEOUT_MS,
)
from commerce.state import MemoryState, Overlay, next_state_root

CHAIN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_GENESIS_BYTES = 256 * 1024 * 1024
ZERO_HASH = bytes(32)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class TokenInfo(_Strict):
    """The token's display symbol and decimals (always 6)."""

    symbol: Annotated[str, Field(min_length=1, max_length=12, pattern=r"^[A-Z][A-Z0-9]*$")]
    decimals: int = DECIMALS

    @field_validator("decimals")
    @classmethod
    def _six(cls, value: int) -> int:
        if value != DECIMALS:
            raise ValueError(f"decimals must be {DECIMALS}")
        return value


class GenesisValidator(_Strict):
    """A validator: a display name and its Ed25519 public key as 64 hex characters."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    public_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

    @property
    def key_bytes(self) -> bytes:
        """The 32-byte public key."""
        return bytes.fromhex(self.public_key)


class GenesisAccount(_Strict):
    """An initial balance: a text address and a decimal amount (`1000.5`)."""

    address: str
    balance: str

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _checked_text(from_text, value)

    @field_validator("balance")
    @classmethod
    def _balance(cls, value: str) -> str:
        return _checked_text(parse_amount, value)


def _checked_text(parse: Callable[[str], object], value: str) -> str:
    """`value` once `parse` accepts it. Its ValidationError becomes a ValueError, which
    lets pydantic name the field."""
    try:
        parse(value)
    except ValidationError as exc:
        raise ValueError(exc.message) from exc
    return value


class GenesisAccounts(Sequence[GenesisAccount]):
    """The validated initial balances of a genesis, packed: a 20-byte address and an
    unsigned 64-bit amount per account, in document order.

    Indexing gives a `GenesisAccount` with the document's text (rebuilt from the packed
    form; text that is not in canonical form, e.g. an upper-case address or `1.50`, is kept
    as written). As a pydantic field it validates a JSON list of `{"address", "balance"}`
    objects: a fast loop accepts the common well-formed case; anything else goes through
    the full `list[GenesisAccount]` validation, so a bad entry gets the same error, naming
    `accounts.<index>.<field>`, as before.
    """

    __slots__ = ("_addresses", "_amounts", "_texts")

    def __init__(self, addresses: bytes | bytearray = b"", amounts: Iterable[int] = (),
                 texts: dict[int, GenesisAccount] | None = None) -> None:
        self._addresses = bytes(addresses)
        self._amounts = array("Q", amounts)
        self._texts: dict[int, GenesisAccount] = dict(texts or {})
        assert len(self._addresses) == ADDRESS_BYTES * len(self._amounts), "one address each"

    @classmethod
    def of(cls, accounts: Iterable[GenesisAccount]) -> GenesisAccounts:
        """Pack validated accounts."""
        return _pack((account.address, account.balance) for account in accounts)

    def __len__(self) -> int:
        return len(self._amounts)

    @overload
    def __getitem__(self, index: int) -> GenesisAccount: ...

    @overload
    def __getitem__(self, index: slice) -> list[GenesisAccount]: ...

    def __getitem__(self, index: int | slice) -> GenesisAccount | list[GenesisAccount]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("genesis account index out of range")
        kept = self._texts.get(index)
        if kept is not None:
            return kept
        start = index * ADDRESS_BYTES
        return GenesisAccount.model_construct(
            address=to_text(self._addresses[start:start + ADDRESS_BYTES]),
            balance=format_amount(self._amounts[index]))

    def entries(self) -> Iterator[tuple[Address, int]]:
        """(20-byte address, amount in base units) per account, in document order."""
        raw = self._addresses
        for index, amount in enumerate(self._amounts):
            start = index * ADDRESS_BYTES
            yield Address(raw[start:start + ADDRESS_BYTES]), amount

    def total(self) -> int:
        """The sum of the balances."""
        return sum(self._amounts)

    def has_duplicates(self) -> bool:
        """True when an address is listed twice."""
        raw = self._addresses
        unique = {raw[i:i + ADDRESS_BYTES] for i in range(0, len(raw), ADDRESS_BYTES)}
        return len(unique) != len(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenesisAccounts):
            return NotImplemented
        return (self._addresses == other._addresses and self._amounts == other._amounts
                and self._kept_texts() == other._kept_texts())

    def _kept_texts(self) -> dict[int, tuple[str, str]]:
        return {i: (a.address, a.balance) for i, a in self._texts.items()}

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"GenesisAccounts({len(self)} accounts)"

    def __copy__(self) -> GenesisAccounts:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> GenesisAccounts:
        return self  # immutable

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        full = core_schema.list_schema(handler.generate_schema(GenesisAccount),
                                       max_length=MAX_GENESIS_ACCOUNTS)
        return core_schema.no_info_wrap_validator_function(
            cls._validate, full,
            serialization=core_schema.plain_serializer_function_ser_schema(
                cls._dump, info_arg=False))

    @classmethod
    def _validate(cls, value: Any, handler: core_schema.ValidatorFunctionWrapHandler
                  ) -> GenesisAccounts:
        if isinstance(value, GenesisAccounts):
            return value
        if type(value) is list and len(value) <= MAX_GENESIS_ACCOUNTS:
            packed = _pack_well_formed(value)
            if packed is not None:
                return packed
        return cls.of(handler(value))

    @staticmethod
    def _dump(value: GenesisAccounts) -> list[dict[str, str]]:
        # The uncached text form: a million addresses would only churn `to_text`'s cache.
        text = to_text.__wrapped__
        kept = value._texts
        out: list[dict[str, str]] = []
        for index, (address, amount) in enumerate(value.entries()):
            account = kept.get(index)
            out.append({"address": account.address, "balance": account.balance} if account
                       else {"address": text(address), "balance": format_amount(amount)})
        return out


class DeferredGenesisAccounts(GenesisAccounts):
    """Accounts known by their count and total, packed from the file on first use.

    A node restarting on a large genesis it validated before (`genesis_from_record`)
    needs only the chain's hash and the accounts' count: the store already holds the
    balances. The packed form (`_addresses`, `_amounts`, `_texts`) is left unset until a
    caller asks for an account, an entry or an equality; then `load()` gives it, and is
    trusted to check that it is the recorded one (`genesis_from_record`'s loader does).
    """

    __slots__ = ("_count", "_total", "_load")

    def __init__(self, count: int, total: int, load: Callable[[], GenesisAccounts]) -> None:
        self._count = count
        self._total = total
        self._load = load

    def __getattr__(self, name: str) -> Any:
        # Reached only for an unset slot: the packed form, on its first use.
        if name not in GenesisAccounts.__slots__:
            raise AttributeError(name)
        packed = self._load()
        self._addresses, self._amounts, self._texts = (
            packed._addresses, packed._amounts, packed._texts)
        return getattr(self, name)

    def __len__(self) -> int:
        return self._count

    def total(self) -> int:
        return self._total

    def has_duplicates(self) -> bool:
        return False  # checked when the record was made

    def __repr__(self) -> str:
        return f"DeferredGenesisAccounts({self._count} accounts)"


def genesis_record(genesis: Genesis) -> dict[str, Any]:
    """What a node may keep of a genesis it validated, to start again without reading the
    accounts (`genesis_from_record`): the document without them, their count and total,
    and the genesis hash."""
    document = genesis.model_dump(mode="json", exclude={"accounts"})
    return {"hash": genesis.hash.hex(), "accounts": len(genesis.accounts),
            "total": genesis.accounts.total(), "document": document}


def genesis_from_record(record: Any, load_accounts: Callable[[], Genesis]) -> Genesis:
    """The genesis a `genesis_record` describes, its accounts deferred: `load_accounts()`
    gives the whole genesis when they are first needed, and its record must be this one.
    Raises ValidationError(bad_genesis) on a record that is not one."""
    if (type(record) is not dict or type(record.get("document")) is not dict
            or type(record.get("hash")) is not str or type(record.get("accounts")) is not int
            or type(record.get("total")) is not int or "accounts" in record["document"]):
        raise ValidationError(ErrorCode.BAD_GENESIS, "not a genesis record")
    try:
        recorded_hash = bytes.fromhex(record["hash"])
    except ValueError as exc:
        raise ValidationError(ErrorCode.BAD_GENESIS, "not a genesis record") from exc
    if (len(recorded_hash) != DIGEST_BYTES or not 0 <= record["accounts"] <= MAX_GENESIS_ACCOUNTS
            or not 0 <= record["total"] <= MAX_AMOUNT_MINOR):
        raise ValidationError(ErrorCode.BAD_GENESIS, "not a genesis record")

    recorded = {key: record[key] for key in ("hash", "accounts", "total", "document")}

    def load() -> GenesisAccounts:
        full = load_accounts()
        if genesis_record(full) != recorded:
            raise ValidationError(ErrorCode.BAD_GENESIS,
                                  "the genesis file is not the one its record describes")
        return full.accounts

    accounts = DeferredGenesisAccounts(record["accounts"], record["total"], load)
    genesis = parse_genesis({**record["document"], "accounts": accounts})
    genesis.__dict__["hash"] = recorded_hash  # the cached property, as recorded
    return genesis


def _canonical(address: str, balance: str, amount: int) -> bool:
    """True when the text is what the packed form gives back (lower-case, shortest amount)."""
    return address.islower() and format_amount(amount) == balance


def _pack(pairs: Iterable[tuple[str, str]], *, checked_before: bool = False) -> GenesisAccounts:
    """Pack (address text, balance text) pairs; raises ValidationError at a bad one.

    `checked_before` (text validated before, unchanged): addresses without their checksum
    (`from_checked_text`, ValueError on anything but the plain lower-case form) and a
    whole-token balance (`1000`) read as an integer - the same amount `parse_amount`
    gives, and canonical text.
    """
    address_of_text: Callable[[str], bytes] = from_checked_text if checked_before else from_text
    addresses = bytearray()
    amounts = array("Q")
    texts: dict[int, GenesisAccount] = {}
    for index, (address, balance) in enumerate(pairs):
        addresses += address_of_text(address)
        if (checked_before and balance.isdigit() and balance.isascii()
                and len(balance) <= _WHOLE_DIGITS and (balance[0] != "0" or balance == "0")):
            amount = int(balance) * UNIT
            if amount <= MAX_AMOUNT_MINOR:
                amounts.append(amount)
                continue  # lower-case address (from_checked_text), shortest amount: canonical
        amount = parse_amount(balance)
        amounts.append(amount)
        if not _canonical(address, balance, amount):
            texts[index] = GenesisAccount.model_construct(address=address, balance=balance)
    return GenesisAccounts(addresses, amounts, texts)


_WHOLE_DIGITS = 13  # the most digits `parse_amount` takes before the point


class _NotWellFormed(Exception):
    """An accounts item that is not exactly `{"address": str, "balance": str}`."""


def _text_pairs(items: list[Any]) -> Iterator[tuple[str, str]]:
    for item in items:
        if type(item) is not dict or len(item) != 2:
            raise _NotWellFormed
        address = item.get("address")
        balance = item.get("balance")
        if type(address) is not str or type(balance) is not str:
            raise _NotWellFormed
        yield address, balance


def _pack_well_formed(items: list[Any]) -> GenesisAccounts | None:
    """The packed accounts when every item is exactly `{"address": str, "balance": str}`
    with a valid address and amount; None at the first item that is not (the caller then
    runs the full validation, which names the field)."""
    try:
        return _pack(_text_pairs(items))
    except (_NotWellFormed, ValidationError):
        return None


class ChainParams(_Strict):
    """Consensus-relevant parameters every validator must share; part of the genesis hash."""

    max_block_txs: Annotated[int, Field(ge=1, le=MAX_BLOCK_TXS)] = 5_000
    max_block_bytes: Annotated[int, Field(ge=MIN_BLOCK_BYTES, le=MAX_BLOCK_BYTES)] = \
        2 * 1024 * 1024
    # Commerce (docs/COMMERCE.md): order timers, in blocks after the triggering action.
    order_auto_release_blocks: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_BLOCKS)] = 100_800
    order_ship_timeout_blocks: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_BLOCKS)] = 201_600
    dispute_timeout_blocks: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_BLOCKS)] = 201_600
    # Commerce: the reward schedule, in base units per action, and its per-epoch cap.
    epoch_blocks: Annotated[int, Field(ge=1, le=MAX_EPOCH_BLOCKS)] = 14_400
    reward_purchase_minor: Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR)] = 1_000_000
    reward_review_minor: Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR)] = 500_000
    reward_share_minor: Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR)] = 500_000
    reward_comment_minor: Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR)] = 100_000
    reward_epoch_cap_minor: Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR)] = 10_000_000_000
    reward_comment_limit: Annotated[int, Field(ge=0, le=MAX_COMMENT_REWARDS_PER_EPOCH)] = 5
    # Commerce: the highest commission a listing may offer sharers, and the longest poll.
    max_referral_bps: Annotated[int, Field(ge=0, le=MAX_REFERRAL_BPS)] = MAX_REFERRAL_BPS
    poll_max_blocks: Annotated[int, Field(ge=1, le=MAX_POLL_BLOCKS)] = 1_000_000
    # Sybil pricing (docs/COMMERCE.md "Accounts and the reserve"): the balance an account
    # must hold to send transactions and to earn rewards, locked once reached; each
    # purchase-linked reward as basis points of the amount paid (capped by its schedule
    # amount above); and what one account may be granted in one epoch.
    account_reserve_minor: Annotated[int, Field(ge=1, le=MAX_ACCOUNT_RESERVE_MINOR)] = 1_000_000
    reward_price_bps: Annotated[int, Field(ge=0, le=MAX_REWARD_PRICE_BPS)] = 1_000
    reward_account_epoch_cap_minor: Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR)] = 10_000_000
    # Governance (docs/GOVERNANCE.md): a passed change applies this many blocks after the
    # block that passed it (at least 2, so the set of h + 1 is known once h is final), and a
    # proposal not passed this many blocks after it was made expires.
    governance_activation_blocks: Annotated[
        int, Field(ge=MIN_ACTIVATION_BLOCKS, le=MAX_ACTIVATION_BLOCKS)] = 2
    governance_expiry_blocks: Annotated[int, Field(ge=1, le=MAX_PROPOSAL_BLOCKS)] = 14_400
    # Consensus timers (docs/CONSENSUS.md section 4): what a validator waits for progress
    # before asking for the next view (doubled per consecutive view change), and how long
    # after the last block an idle chain's primary proposes an empty one. The same on
    # every validator at a height; at least MIN_TIMEOUT_TO_IDLE_RATIO apart.
    view_change_timeout_ms: Annotated[
        int, Field(ge=MIN_VIEW_CHANGE_TIMEOUT_MS, le=MAX_VIEW_CHANGE_TIMEOUT_MS)] = 4_000
    idle_block_interval_ms: Annotated[
        int, Field(ge=MIN_IDLE_BLOCK_INTERVAL_MS, le=MAX_IDLE_BLOCK_INTERVAL_MS)] = 1_000

    @model_validator(mode="after")
    def _timers(self) -> ChainParams:
        error = timers_conflict(self.view_change_timeout_ms, self.idle_block_interval_ms)
        if error:
            raise ValueError(error)
        return self

    def to_array(self) -> list[Any]:
        """The parameters in declaration order."""
        return [getattr(self, name) for name in type(self).model_fields]


def timers_conflict(view_change_timeout_ms: int, idle_block_interval_ms: int) -> str:
    """Why the two consensus timers do not go together, or "" when they do."""
    if view_change_timeout_ms < MIN_TIMEOUT_TO_IDLE_RATIO * idle_block_interval_ms:
        return (f"view_change_timeout_ms ({view_change_timeout_ms}) must be at least "
                f"{MIN_TIMEOUT_TO_IDLE_RATIO} x idle_block_interval_ms "
                f"({idle_block_interval_ms})")
    return ""


class Genesis(_Strict):
    """A validated genesis document."""

    chain_id: str
    genesis_time: Annotated[str, Field(max_length=40)] = "1970-01-01T00:00:00Z"
    token: TokenInfo
    validators: Annotated[list[GenesisValidator], Field(min_length=1, max_length=MAX_VALIDATORS)]
    accounts: GenesisAccounts = Field(default_factory=GenesisAccounts)
    params: ChainParams = ChainParams()

    @field_validator("chain_id")
    @classmethod
    def _chain_id(cls, value: str) -> str:
        if not CHAIN_ID_RE.match(value):
            raise ValueError("chain_id is 1-64 of a-z 0-9 . _ - starting with a letter or digit")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Genesis:
        keys = [v.public_key for v in self.validators]
        if len(set(keys)) != len(keys):
            raise ValueError("validators: a public key is listed twice")
        names = [v.name for v in self.validators]
        if len(set(names)) != len(names):
            raise ValueError("validators: a name is listed twice")
        if self.accounts.has_duplicates():
            raise ValueError("accounts: an address is listed twice")
        # The whole supply fits the amount range, so no credit (a refund, a release) can
        # ever overflow a balance; minting keeps the same bound.
        if self.accounts.total() > MAX_AMOUNT_MINOR:
            raise ValueError("accounts: the total supply is over the maximum amount")
        return self

    @cached_property
    def validator_keys(self) -> tuple[bytes, ...]:
        """The validators' public keys in genesis order (the primary rotation order).

        Cached (the genesis is frozen): every execution context, primary lookup and
        validator check asks for them."""
        return tuple(v.key_bytes for v in self.validators)

    def to_array(self) -> list[Any]:
        """The canonical array form that the genesis hash covers."""
        return self._array([[address, amount] for address, amount in self.accounts.entries()])

    def _array(self, accounts: list[Any]) -> list[Any]:
        return [
            "agora/genesis/v1",
            self.chain_id,
            self.genesis_time,
            [self.token.symbol, self.token.decimals],
            [[v.name, v.key_bytes] for v in self.validators],
            accounts,
            self.params.to_array(),
        ]

    @cached_property
    def hash(self) -> bytes:
        """SHA-256 of the canonical form: the identity of the chain (computed once).

        The same bytes as `encode(self.to_array())`: every field but the accounts goes
        through `encode`'s check; the accounts are 20-byte addresses and amounts within
        `MAX_AMOUNT_MINOR` by construction, so they are packed without walking each leaf
        (msgpack packs a tuple as the same array as a list).
        """
        encode(self._array([]))
        return sha256(pack_plain(self._array(list(self.accounts.entries()))))

    def to_json(self) -> str:
        """The document as indented JSON."""
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"


def parse_genesis(document: Any) -> Genesis:
    """Validate a decoded JSON document; raises ValidationError(bad_genesis) naming the field."""
    try:
        return Genesis.model_validate(document)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        # A key of the document may hold a line break: the message stays one line.
        field = " ".join(".".join(str(part) for part in first.get("loc", ())).splitlines())
        message = str(first.get("msg", "invalid")).splitlines()[0]
        raise ValidationError(ErrorCode.BAD_GENESIS,
                              f"genesis.{field or 'document'}: {message}") from exc
    except ValidationError as exc:
        raise ValidationError(ErrorCode.BAD_GENESIS, f"genesis: {exc.message}") from exc


def load_genesis(text: str | bytes, *, checked_before: bool = False) -> Genesis:
    """Parse and validate genesis JSON text; raises ValidationError(bad_genesis).

    `checked_before`: these exact bytes passed this validation before (the caller knows
    by their digest), so the accounts' address checksums are not verified again and whole
    balances are read as integers - the steps that grow with the accounts (1,000,000
    accounts: ~9 -> ~2 s).
    Everything else is validated as usual, and an entry that is not the plain lower-case
    form goes through the full path.
    """
    if len(text) > MAX_GENESIS_BYTES:
        raise ValidationError(ErrorCode.BAD_GENESIS, "genesis document is too large")
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(ErrorCode.BAD_GENESIS, f"genesis is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # nesting past the parser's recursion limit
        raise ValidationError(ErrorCode.BAD_GENESIS, "genesis JSON is nested too deeply") from exc
    if checked_before and isinstance(document, dict):
        items = document.get("accounts")
        if type(items) is list and len(items) <= MAX_GENESIS_ACCOUNTS:
            with contextlib.suppress(_NotWellFormed, ValidationError, ValueError):
                document["accounts"] = _pack(_text_pairs(items), checked_before=True)
    return parse_genesis(document)


GENESIS_HOOKS: list[tuple[int, str, Any]] = []


def register_genesis_hook(order: int, name: str, hook: Any) -> None:
    """Register `hook(genesis, overlay)` to write extra state at height 0, run by order."""
    assert all(existing[1] != name for existing in GENESIS_HOOKS), f"duplicate hook {name}"
    GENESIS_HOOKS.append((order, name, hook))
    GENESIS_HOOKS.sort(key=lambda item: (item[0], item[1]))


def genesis_writes(genesis: Genesis) -> dict[bytes, bytes | None]:
    """The state writes of height 0: initial balances, supply, and registered hooks."""
    overlay = Overlay(MemoryState())
    total = 0
    for address, amount in genesis.accounts.entries():
        put_account(overlay, address, Account(amount, 0))
        total += amount
    put_supply(overlay, Supply(genesis=total))
    for _, _, hook in GENESIS_HOOKS:
        hook(genesis, overlay)
    return overlay.writes


def genesis_state_root(genesis: Genesis,
                       writes: Mapping[bytes, bytes | None] | None = None) -> bytes:
    """The state root at height 0 (`writes`: `genesis_writes(genesis)` when the caller has
    them already)."""
    return next_state_root(genesis.hash, 0,
                           genesis_writes(genesis) if writes is None else writes)
