"""A small 4-validator world for tests of what consensus agrees on: the genesis, a genuine
block 1 built and finalized by the primary's own Chain over a real Store, its real commit
certificate, and a tampered copy (the same header over another well-formed body)."""

from __future__ import annotations

from pathlib import Path

from commerce.address import address_of, to_text
from commerce.encoding import decode, encode
from commerce.genesis import Genesis, parse_genesis
from commerce.keys import Keypair
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from consensus.messages import (
    PHASE_COMMIT,
    Certificate,
    Digest,
    Height,
    View,
    encode_certificate,
    sign_vote,
)
from node.chain import Chain, block_digest
from node.mempool import Mempool
from node.store import Store
from tests.foundation.workload import make_keys

CHAIN = "binding-chain"
KEYS = make_keys(6)
VALIDATORS = KEYS[:4]
OBSERVER = KEYS[5]  # an allowed peer that is not a validator
HONEST = 1  # the validator under test; 0 is the primary of view 0


def _genesis() -> Genesis:
    return parse_genesis({
        "chain_id": CHAIN,
        "token": {"symbol": "AGR"},
        "validators": [{"name": f"v{i}", "public_key": k.public_key.hex()}
                       for i, k in enumerate(VALIDATORS)],
        "accounts": [{"address": to_text(address_of(k.public_key)), "balance": "1000"}
                     for k in KEYS],
    })


def _transfer(sender: Keypair, nonce: int, amount: int) -> bytes:
    tx = sign_tx(sender, CHAIN, nonce, Transfer(to=address_of(KEYS[4].public_key),
                                                amount=amount))
    return tx.raw


class World:
    """The genuine block 1 (built and finalized by the primary) and a tampered copy."""

    def __init__(self, tmp_path: Path) -> None:
        self.genesis = _genesis()
        self.primary_store = Store.open(tmp_path / "primary", self.genesis)
        primary = Chain(self.primary_store, self.genesis,
                        Mempool(self.primary_store.state, CHAIN), VALIDATORS[0].public_key)
        for nonce in range(3):
            primary.mempool.admit(
                sign_tx(KEYS[2], CHAIN, nonce, Transfer(to=address_of(KEYS[3].public_key),
                                                        amount=5)))
        self.block = primary.propose(1, 1_000)
        self.digest = Digest(block_digest(self.block))
        header = decode(self.block)[0]
        # The same header (so the same header hash) over another, well-formed body.
        self.tampered = encode([header, [_transfer(KEYS[5], 0, 7)]])
        commits = [sign_vote(VALIDATORS[i].signing_key, CHAIN.encode(), PHASE_COMMIT, 0, 1,
                             self.digest, i) for i in (0, 2, 3)]
        self.cert = Certificate(PHASE_COMMIT, View(0), Height(1), self.digest,
                                tuple((v.signer, v.signature) for v in commits))
        self.commits = commits
        primary.finalize(self.block, encode_certificate(self.cert), self.digest)

    def close(self) -> None:
        self.primary_store.close()
