"""A small chain in memory for commerce tests: genesis, keys, blocks, and rejection checks.

`Shop.do` runs one transaction in its own block and returns its events, or raises the
ValidationError the state machine gave (with its own code, not bad_block). `Shop.refuse`
asserts a rejection code and that the rejected transaction wrote nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

import commerce  # noqa: F401  (registers every type)
from commerce.address import address_of, to_text
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import Genesis, genesis_state_root, genesis_writes, parse_genesis
from commerce.keys import Keypair
from commerce.ledger import POOLS, get_account, get_pool, get_supply
from commerce.machine import BlockResult, ChainContext, Event, apply_tx, execute_block
from commerce.state import MemoryState, Overlay
from commerce.tx import Transaction, TxBody, sign_tx

CHAIN_ID = "shop-test"
UNIT = 1_000_000
START_BALANCE = 1_000 * UNIT

FAST_PARAMS: dict[str, int] = {
    "order_auto_release_blocks": 10,
    "order_ship_timeout_blocks": 20,
    "dispute_timeout_blocks": 15,
    "epoch_blocks": 50,
    "reward_purchase_minor": 1_000,
    "reward_review_minor": 500,
    "reward_share_minor": 300,
    "reward_comment_minor": 100,
    "reward_epoch_cap_minor": 1_000_000,
    "reward_comment_limit": 2,
    "max_referral_bps": 5_000,
    "poll_max_blocks": 100,
}


def keypair(tag: str, index: int) -> Keypair:
    """A deterministic keypair for a role and index."""
    seed = (tag.encode() + bytes([index]) * 32)[:32]
    return Keypair.from_seed(seed)


def addr(key: Keypair) -> bytes:
    """The 20-byte address of a key."""
    return address_of(key.public_key)


def make_genesis(validators: list[Keypair], funded: list[Keypair], **params: int) -> Genesis:
    """A genesis with these validators, each funded account at START_BALANCE."""
    merged = dict(FAST_PARAMS)
    merged.update(params)
    return parse_genesis({
        "chain_id": CHAIN_ID,
        "token": {"symbol": "AGR"},
        "validators": [{"name": f"v{i}", "public_key": k.public_key.hex()}
                       for i, k in enumerate(validators)],
        "accounts": [{"address": to_text(addr(k)), "balance": str(START_BALANCE // UNIT)}
                     for k in funded],
        "params": merged,
    })


class Shop:
    """A chain of `n_validators` validators and `n_users` funded users, in memory."""

    def __init__(self, n_validators: int = 4, n_users: int = 6, *,
                 fund_validators: bool = True, **params: int) -> None:
        self.validators = [keypair("val", i) for i in range(n_validators)]
        self.users = [keypair("usr", i) for i in range(n_users)]
        funded = self.validators + self.users if fund_validators else self.users
        self.genesis = make_genesis(self.validators, funded, **params)
        self.state = MemoryState(genesis_writes(self.genesis))
        self.root = genesis_state_root(self.genesis)
        self.height = 0

    @property
    def params(self) -> Any:
        return self.genesis.params

    def ctx(self, height: int | None = None) -> ChainContext:
        # The parameters and set in force, from state (governance may have changed them).
        return ChainContext.at(self.state, self.genesis,
                               self.height + 1 if height is None else height)

    def sign(self, key: Keypair, body: TxBody, nonce: int | None = None) -> Transaction:
        if nonce is None:
            nonce = get_account(self.state, addr(key)).nonce
        return sign_tx(key, CHAIN_ID, nonce, body)

    def block(self, txs: list[Transaction] | None = None, *,
              drop_invalid: bool = True) -> BlockResult:
        """Execute the next block and apply it to the state."""
        self.height += 1
        result = execute_block(self.state, self.ctx(self.height), self.root, txs or [],
                               drop_invalid=drop_invalid, check_signatures=True)
        self.state.apply(result.writes)
        self.root = result.state_root
        return result

    def do(self, key: Keypair, body: TxBody) -> list[Event]:
        """Run one transaction in its own block; raise its ValidationError if refused."""
        result = self.block([self.sign(key, body)])
        if result.rejected:
            _, rejection = result.rejected[0]
            raise ValidationError(rejection.code, rejection.message)
        return list(result.receipts[0].events) + result.end_events

    def refuse(self, code: ErrorCode, key: Keypair, body: TxBody) -> None:
        """Assert `body` from `key` is refused with `code` and writes nothing."""
        view = Overlay(self.state)
        tx = self.sign(key, body)
        with pytest.raises(ValidationError) as info:
            apply_tx(self.ctx(), view, tx)
        assert info.value.code == code, f"expected {code.reason}, got {info.value}"
        assert view.writes == {}, "a refused transaction writes nothing"

    def advance(self, blocks: int) -> list[Event]:
        """Run `blocks` empty blocks; return the end-of-block events."""
        events: list[Event] = []
        for _ in range(blocks):
            events.extend(self.block().end_events)
        return events

    def balance(self, key: Keypair | bytes) -> int:
        address = key if isinstance(key, bytes) else addr(key)
        return get_account(self.state, address).balance

    def check_supply(self) -> None:
        supply = get_supply(self.state)
        balances = sum(get_account(self.state, k[1:]).balance
                       for k, _ in self.state.iterate(b"A"))
        assert supply.total == supply.genesis + supply.minted
        pools = sum(get_pool(self.state, pool) for pool in POOLS)  # teams, campaigns
        assert supply.total == balances + supply.escrow + pools


def listing_body(**fields: Any) -> Any:
    """A listing_create body with sensible defaults."""
    from commerce.listings import ListingCreate

    values: dict[str, Any] = {
        "title": "Blue mug", "description": "A mug, blue.", "category": "kitchen",
        "price": 10 * UNIT, "stock": 5, "media": [bytes(32)], "referral_bps": 1_000,
    }
    values.update(fields)
    return ListingCreate(**values)


def approve(shop: Shop, merchant: Keypair, name: str = "Acme") -> None:
    """Register `merchant` and have enough validators approve it."""
    from commerce.merchants import MerchantRegister, MerchantVote

    shop.do(merchant, MerchantRegister(name=name, profile=""))
    needed = len(shop.validators) * 2 // 3 + 1
    for validator in shop.validators[:needed]:
        shop.do(validator, MerchantVote(merchant=addr(merchant), action="approve"))


def shop_with_merchant(n_users: int = 6) -> Shop:
    """A shop whose first user is an approved merchant ("Acme")."""
    shop = Shop(n_users=n_users)
    approve(shop, shop.users[0])
    return shop


def create_listing(shop: Shop, merchant: Keypair, **fields: Any) -> int:
    """List an item; return its id."""
    events = shop.do(merchant, listing_body(**fields))
    return int(events[0].data[0])


def buy(shop: Shop, buyer: Keypair, listing: int, quantity: int = 1, share: int = 0,
        version: int = 1, delivery: bytes = b"") -> int:
    """Purchase; return the order id."""
    from commerce.orders import Purchase

    events = shop.do(buyer, Purchase(listing=listing, version=version, quantity=quantity,
                                     share=share, delivery=delivery))
    return int(events[0].data[0])


def complete_purchase(shop: Shop, merchant: Keypair, buyer: Keypair, listing: int,
                      share: int = 0) -> int:
    """Buy one of `listing`, ship and confirm it (the escrow is released); return the order."""
    from commerce.orders import OrderConfirm, OrderShip

    order = buy(shop, buyer, listing, share=share)
    shop.do(merchant, OrderShip(order=order))
    shop.do(buyer, OrderConfirm(order=order))
    return order
