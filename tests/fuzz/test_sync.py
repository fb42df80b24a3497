"""Goal: a sync request from any peer is answered from a real store or refused with a commerce
ValidationError, never another exception, and the store is unchanged; a sync reply from any
peer decodes to (block, certificate) pairs or raises ValidationError."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import settings as Settings

import commerce  # noqa: F401  (registers transaction types)
from commerce.address import address_of, to_text
from commerce.encoding import decode
from commerce.errors import ValidationError
from commerce.genesis import parse_genesis
from node.chain import Chain, block_digest
from node.mempool import Mempool
from node.store import Store
from node.sync import decode_response, encode_request, serve_request

from .mutate import TIERS, fuzz_bytes, pack
from .samples import ACCOUNTS, CHAIN_ID

HEIGHTS = 3


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store with `HEIGHTS` finalized (empty) blocks, each with a certificate."""
    genesis = parse_genesis({
        "chain_id": CHAIN_ID, "token": {"symbol": "AGR"},
        "validators": [{"name": "v0", "public_key": ACCOUNTS[0].public_key.hex()}],
        "accounts": [{"address": to_text(address_of(ACCOUNTS[1].public_key)),
                      "balance": "1000"}],
    })
    opened = Store.open(Path(tmp_path_factory.mktemp("sync")) / "data", genesis)
    chain = Chain(opened, genesis, Mempool(opened.state, CHAIN_ID), ACCOUNTS[0].public_key)
    for height in range(1, HEIGHTS + 1):
        raw = chain.propose(height, 1_000 * height)
        chain.finalize(raw, b"certificate %d" % height, block_digest(raw))
    yield opened
    opened.close()


def _fingerprint(store: Store) -> tuple[object, ...]:
    """What a request could change: the head, every block and certificate, the log."""
    heights = range(1, store.head.height + 1)
    return (store.head, [store.get_block_raw(h) for h in heights],
            [store.get_certificate(h) for h in heights], store.consensus_records())


REQUESTS = [encode_request(1, 1), encode_request(1, HEIGHTS), encode_request(2, 2**40),
            encode_request(2**63 - 1, 2**64 - 1)]


@pytest.mark.parametrize("tier", TIERS)
def test_serve_request_any_bytes_answers_or_raises_validation_error_store_unchanged(
    tier: Settings, store: Store,
) -> None:
    before = _fingerprint(store)

    @tier
    @given(fuzz_bytes(REQUESTS, max_size=96))
    @example(pack([0, 1]))
    @example(pack([-2**63, 2**64 - 1]))
    @example(pack([True, 2]))
    def check(data: bytes) -> None:
        try:
            reply = serve_request(store, data)
        except ValidationError:
            return
        start, _ = decode(data)
        pairs = decode_response(reply)
        for offset, (block, certificate) in enumerate(pairs):
            assert block == store.get_block_raw(start + offset)
            assert certificate == store.get_certificate(start + offset)

    check()
    assert _fingerprint(store) == before, "a request changed the store"


@pytest.mark.parametrize("tier", TIERS)
def test_decode_response_any_bytes_gives_pairs_or_validation_error(
    tier: Settings, store: Store,
) -> None:
    replies = [serve_request(store, request) for request in REQUESTS]

    @tier
    @given(fuzz_bytes(replies, max_size=2048))
    @example(b"\x91" * 1_000 + b"\xc0")
    def check(data: bytes) -> None:
        try:
            pairs = decode_response(data)
        except ValidationError:
            return
        assert all(type(block) is bytes and type(cert) is bytes for block, cert in pairs)

    check()
