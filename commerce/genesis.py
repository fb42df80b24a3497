"""The genesis document: chain id, token, validators, initial balances and chain parameters.

`load_genesis` validates a JSON document and names the bad field in its one-line error;
`Genesis.hash` identifies the chain; `genesis_writes` is the state at height 0.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from commerce.address import from_text
from commerce.amount import DECIMALS, parse_amount
from commerce.encoding import encode, sha256
from commerce.errors import ErrorCode, ValidationError
from commerce.ledger import Account, Supply, put_account, put_supply
from commerce.limits import (
    MAX_AMOUNT_MINOR,
    MAX_BLOCK_BYTES,
    MAX_BLOCK_TXS,
    MAX_COMMENT_REWARDS_PER_EPOCH,
    MAX_EPOCH_BLOCKS,
    MAX_GENESIS_ACCOUNTS,
    MAX_POLL_BLOCKS,
    MAX_REFERRAL_BPS,
    MAX_TIMEOUT_BLOCKS,
    MAX_TX_BYTES,
    MAX_VALIDATORS,
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
        # A ValueError (not our ValidationError) lets pydantic name the field.
        try:
            from_text(value)
        except ValidationError as exc:
            raise ValueError(exc.message) from exc
        return value

    @field_validator("balance")
    @classmethod
    def _balance(cls, value: str) -> str:
        try:
            parse_amount(value)
        except ValidationError as exc:
            raise ValueError(exc.message) from exc
        return value


class ChainParams(_Strict):
    """Consensus-relevant parameters every validator must share; part of the genesis hash."""

    max_block_txs: Annotated[int, Field(ge=1, le=MAX_BLOCK_TXS)] = 5_000
    max_block_bytes: Annotated[int, Field(ge=MAX_TX_BYTES, le=MAX_BLOCK_BYTES)] = 2 * 1024 * 1024
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

    def to_array(self) -> list[Any]:
        """The parameters in declaration order."""
        return [getattr(self, name) for name in type(self).model_fields]


class Genesis(_Strict):
    """A validated genesis document."""

    chain_id: str
    genesis_time: Annotated[str, Field(max_length=40)] = "1970-01-01T00:00:00Z"
    token: TokenInfo
    validators: Annotated[list[GenesisValidator], Field(min_length=1, max_length=MAX_VALIDATORS)]
    accounts: Annotated[list[GenesisAccount], Field(max_length=MAX_GENESIS_ACCOUNTS)] = []
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
        addresses = [from_text(a.address) for a in self.accounts]
        if len(set(addresses)) != len(addresses):
            raise ValueError("accounts: an address is listed twice")
        # The whole supply fits the amount range, so no credit (a refund, a release) can
        # ever overflow a balance; minting keeps the same bound.
        if sum(parse_amount(a.balance) for a in self.accounts) > MAX_AMOUNT_MINOR:
            raise ValueError("accounts: the total supply is over the maximum amount")
        return self

    @property
    def validator_keys(self) -> tuple[bytes, ...]:
        """The validators' public keys in genesis order (the primary rotation order)."""
        return tuple(v.key_bytes for v in self.validators)

    def to_array(self) -> list[Any]:
        """The canonical array form that the genesis hash covers."""
        return [
            "agora/genesis/v1",
            self.chain_id,
            self.genesis_time,
            [self.token.symbol, self.token.decimals],
            [[v.name, v.key_bytes] for v in self.validators],
            [[from_text(a.address), parse_amount(a.balance)] for a in self.accounts],
            self.params.to_array(),
        ]

    @property
    def hash(self) -> bytes:
        """SHA-256 of the canonical form: the identity of the chain."""
        return sha256(encode(self.to_array()))

    def to_json(self) -> str:
        """The document as indented JSON."""
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"


def parse_genesis(document: Any) -> Genesis:
    """Validate a decoded JSON document; raises ValidationError(bad_genesis) naming the field."""
    try:
        return Genesis.model_validate(document)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or "document"
        message = str(first.get("msg", "invalid")).splitlines()[0]
        raise ValidationError(ErrorCode.BAD_GENESIS, f"genesis.{field}: {message}") from exc
    except ValidationError as exc:
        raise ValidationError(ErrorCode.BAD_GENESIS, f"genesis: {exc.message}") from exc


def load_genesis(text: str | bytes) -> Genesis:
    """Parse and validate genesis JSON text; raises ValidationError(bad_genesis)."""
    if len(text) > MAX_GENESIS_BYTES:
        raise ValidationError(ErrorCode.BAD_GENESIS, "genesis document is too large")
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(ErrorCode.BAD_GENESIS, f"genesis is not valid JSON: {exc}") from exc
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
    for entry in genesis.accounts:
        amount = parse_amount(entry.balance)
        put_account(overlay, from_text(entry.address), Account(amount, 0))
        total += amount
    put_supply(overlay, Supply(genesis=total))
    for _, _, hook in GENESIS_HOOKS:
        hook(genesis, overlay)
    return overlay.writes


def genesis_state_root(genesis: Genesis) -> bytes:
    """The state root at height 0."""
    return next_state_root(genesis.hash, 0, genesis_writes(genesis))
