"""Accounts: balances and nonces, and the supply counters every transfer must keep whole.

Accounts exist only above a reserve (`account_reserve_minor`, as on the XRP Ledger and
Stellar): a transfer that would create an account refuses an amount below it, and a debit
never takes a balance that holds the reserve below it (the reserve is locked). So a balance
at or above the reserve stays there for ever, and "holds the reserve now" is the same as
"has ever held it": the balance is its own marker, nothing else is stored. Only a genesis
account funded below the reserve can be in state below it, until it is topped up.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgpack  # type: ignore[import-untyped]

from commerce.address import ADDRESS_BYTES
from commerce.encoding import pack_plain
from commerce.errors import ErrorCode, ValidationError
from commerce.limits import MAX_AMOUNT_MINOR
from commerce.state import Overlay, StateReader

ACCOUNT_PREFIX = b"A"
SUPPLY_KEY = b"Z:supply"

_unpackb = msgpack.unpackb


@dataclass(slots=True)
class Account:
    """An account's balance in base units and the nonce its next transaction must carry."""

    balance: int = 0
    nonce: int = 0


def account_key(address: bytes) -> bytes:
    """The state key of an account."""
    assert len(address) == ADDRESS_BYTES, "addresses are 20 bytes"
    return ACCOUNT_PREFIX + address


def get_account(view: StateReader | Overlay, address: bytes) -> Account:
    """The account at `address` (a fresh one when absent)."""
    assert len(address) == ADDRESS_BYTES, "addresses are 20 bytes"
    raw = view.get(ACCOUNT_PREFIX + address)
    if raw is None:
        return Account()
    balance, nonce = _unpackb(raw)
    return Account(balance, nonce)


def put_account(view: Overlay, address: bytes, account: Account) -> None:
    """Store `account` at `address`."""
    assert 0 <= account.balance <= MAX_AMOUNT_MINOR, "balances stay in range"
    assert account.nonce >= 0
    assert len(address) == ADDRESS_BYTES, "addresses are 20 bytes"
    view.put(ACCOUNT_PREFIX + address, pack_plain((account.balance, account.nonce)))


def bump_nonce(view: Overlay, address: bytes, nonce: int) -> int:
    """Check that `nonce` is the account's next one and advance it; raises
    ValidationError(bad_nonce). Returns the balance (the caller checks the reserve).
    (`get_account` + `put_account` without the Account object: every transaction runs
    this.)"""
    key = ACCOUNT_PREFIX + address
    raw = view.get(key)
    balance, expected = (0, 0) if raw is None else _unpackb(raw)
    if nonce != expected:
        raise ValidationError(ErrorCode.BAD_NONCE, f"expected nonce {expected}, got {nonce}")
    view.put(key, pack_plain((balance, expected + 1)))
    return int(balance)


def holds_reserve(view: StateReader | Overlay, address: bytes, reserve: int) -> bool:
    """True when the account's balance is at least `reserve` (and so always was since it
    first reached it: see the module docstring)."""
    assert reserve > 0, "the reserve is at least one base unit"
    return get_account(view, address).balance >= reserve


def require_can_act(balance: int, sender_key: bytes, reserve: int,
                    validators: tuple[bytes, ...]) -> None:
    """Raise ValidationError(reserve_required) unless an account of `balance` may send
    transactions: it holds the reserve, or its key is a validator's (a bounded, permissioned
    set that votes on merchants and disputes whether or not it holds tokens)."""
    if balance < reserve and sender_key not in validators:
        raise ValidationError(
            ErrorCode.RESERVE_REQUIRED,
            f"balance {balance} is below the account reserve {reserve}")


def debit(view: Overlay, address: bytes, amount: int, reserve: int) -> None:
    """Take `amount` from an account, leaving at least `reserve` (locked); raises
    ValidationError(insufficient_funds) or ValidationError(below_reserve)."""
    assert amount >= 0, "debits are not negative"
    assert reserve > 0, "the reserve is at least one base unit"
    assert len(address) == ADDRESS_BYTES, "addresses are 20 bytes"
    key = ACCOUNT_PREFIX + address
    raw = view.get(key)
    balance, nonce = (0, 0) if raw is None else _unpackb(raw)
    if balance < amount:
        raise ValidationError(
            ErrorCode.INSUFFICIENT_FUNDS, f"balance {balance} is below {amount}"
        )
    if balance - amount < reserve:
        raise ValidationError(
            ErrorCode.BELOW_RESERVE,
            f"balance {balance} less {amount} is below the account reserve {reserve}")
    view.put(key, pack_plain((balance - amount, nonce)))


def credit(view: Overlay, address: bytes, amount: int) -> None:
    """Add `amount` to an account."""
    assert amount >= 0, "credits are not negative"
    assert len(address) == ADDRESS_BYTES, "addresses are 20 bytes"
    key = ACCOUNT_PREFIX + address
    raw = view.get(key)
    balance, nonce = (0, 0) if raw is None else _unpackb(raw)
    if balance + amount > MAX_AMOUNT_MINOR:
        raise ValidationError(ErrorCode.AMOUNT_OUT_OF_RANGE, "balance would exceed the maximum")
    view.put(key, pack_plain((balance + amount, nonce)))


@dataclass(slots=True)
class Supply:
    """The parts of the token supply: genesis + minted = balances + escrow."""

    genesis: int = 0
    minted: int = 0
    escrow: int = 0

    @property
    def total(self) -> int:
        """Genesis supply plus minted rewards."""
        return self.genesis + self.minted


def get_supply(view: StateReader | Overlay) -> Supply:
    """The supply counters."""
    raw = view.get(SUPPLY_KEY)
    if raw is None:
        return Supply()
    return Supply(*msgpack.unpackb(raw))


def put_supply(view: Overlay, supply: Supply) -> None:
    """Store the supply counters."""
    assert supply.genesis >= 0 and supply.minted >= 0 and supply.escrow >= 0
    view.put(SUPPLY_KEY, pack_plain([supply.genesis, supply.minted, supply.escrow]))


# The parts of the supply held by group buying and promotions, each a counter of its own
# (so the Supply record of round 1 keeps its form): what open teams hold in escrow, and
# the budgets locked in campaigns. genesis + minted = balances + escrow + both of these.
POOL_TEAM_ESCROW = b"Z:team_escrow"
POOL_CAMPAIGNS = b"Z:campaigns"
POOLS = (POOL_TEAM_ESCROW, POOL_CAMPAIGNS)


def get_pool(view: StateReader | Overlay, pool: bytes) -> int:
    """The amount a pool holds (0 when never used)."""
    assert pool in POOLS, "a known pool"
    raw = view.get(pool)
    return 0 if raw is None else int(_unpackb(raw))


def pool_add(view: Overlay, pool: bytes, amount: int) -> None:
    """Move `amount` into a pool's counter (negative: out of it); the pool never goes below
    zero (the caller took or gives back exactly what it holds for a record)."""
    held = get_pool(view, pool) + amount
    assert 0 <= held <= MAX_AMOUNT_MINOR, "a pool holds what its records hold"
    view.put(pool, pack_plain(held))
