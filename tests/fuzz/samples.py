"""Valid encodings for the fuzz tests to mutate: signed transactions, blocks, consensus
messages, certificates and replica log records, all from fixed keys (deterministic)."""

from __future__ import annotations

from nacl.signing import SigningKey

import commerce  # noqa: F401  (registers transaction types)
from commerce.address import address_of
from commerce.block import BlockHeader, encode_block, tx_root
from commerce.keys import Keypair
from commerce.listings import ListingCreate
from commerce.social import Comment
from commerce.transfer import Transfer
from commerce.tx import Transaction, sign_tx
from consensus import messages as wire

CHAIN_ID = "fuzz-chain"
CONSENSUS_CHAIN_ID = CHAIN_ID.encode()
ACCOUNTS = [Keypair.from_seed(bytes([i + 1]) * 32) for i in range(3)]
VALIDATOR_KEYS = [SigningKey(bytes([0x40 + i]) * 32) for i in range(4)]
VALIDATORS = [bytes(key.verify_key) for key in VALIDATOR_KEYS]


def transactions() -> list[Transaction]:
    """One transaction of each of three body shapes (scalars, text, a list field)."""
    to = address_of(ACCOUNTS[1].public_key)
    return [
        sign_tx(ACCOUNTS[0], CHAIN_ID, 0, Transfer(to=to, amount=5, memo="rent")),
        sign_tx(ACCOUNTS[1], CHAIN_ID, 7, Comment(listing=3, parent=0, text="nice")),
        sign_tx(ACCOUNTS[2], CHAIN_ID, 2**40, ListingCreate(
            title="mug", description="a mug", category="kitchen", price=1_000, stock=3,
            media=[bytes(32)], referral_bps=100)),
    ]


def blocks() -> list[bytes]:
    """An empty block and one with the three transactions, each at its own height."""
    txs = tuple(transactions())
    out = []
    for height, body in ((1, ()), (2, txs)):
        header = BlockHeader(CHAIN_ID, height, bytes(32), tx_root(body), bytes([7]) * 32,
                             ACCOUNTS[0].public_key, 1_700_000_000_000, bytes([9]) * 32)
        out.append(encode_block(header, body).raw)
    return out


def certificate(height: int, digest: bytes, view: int = 0, phase: int = wire.PHASE_COMMIT,
                signers: int = 3) -> wire.Certificate:
    """A certificate signed by the first `signers` validators (a quorum of 4 is 3)."""
    sigs = tuple((wire.ValidatorIndex(i),
                  wire.sign_vote(VALIDATOR_KEYS[i], CONSENSUS_CHAIN_ID, phase, view, height,
                                 digest, i).signature)
                 for i in range(signers))
    return wire.Certificate(phase, wire.View(view), wire.Height(height), wire.Digest(digest), sigs)


def view_change(view: int, height: int, block: bytes | None, signer: int) -> wire.ViewChange:
    """A signed VIEW-CHANGE; with `block`, a prepared certificate for it in view 0."""
    last = certificate(height - 1, wire.sha256_digest(b"parent")) if height > 1 else None
    prepared = (certificate(height, wire.sha256_digest(block), 0, wire.PHASE_PREPARE)
                if block is not None else None)
    unsigned = wire.ViewChange(wire.View(view), wire.Height(height), last, prepared,
                               wire.ValidatorIndex(signer), bytes(64), block)
    signature = VALIDATOR_KEYS[signer].sign(
        wire.view_change_payload(CONSENSUS_CHAIN_ID, unsigned)).signature
    return wire.ViewChange(unsigned.view, unsigned.height, last, prepared, unsigned.signer,
                           signature, block)


def messages(height: int = 2, block: bytes | None = None) -> list[bytes]:
    """One wire message of each kind at `height` (view 0, view 1 for the view change),
    with real signatures; `block` defaults to the block with transactions."""
    block = blocks()[1] if block is None else block
    digest = wire.sha256_digest(block)
    keys, chain = VALIDATOR_KEYS, CONSENSUS_CHAIN_ID
    pp = wire.PrePrepare(wire.sign_vote(keys[0], chain, wire.PHASE_PREPARE, 0, height, digest, 0),
                         block)
    prepare = wire.sign_vote(keys[1], chain, wire.PHASE_PREPARE, 0, height, digest, 1)
    commit = wire.sign_vote(keys[2], chain, wire.PHASE_COMMIT, 0, height, digest, 2)
    vcs = tuple(view_change(1, height, block, signer) for signer in (1, 2, 3))
    stripped = tuple(wire.ViewChange(vc.view, vc.height, vc.last_cert, vc.prepared, vc.signer,
                                     vc.signature, None) for vc in vcs)
    reproposal = wire.PrePrepare(wire.sign_vote(keys[1], chain, wire.PHASE_PREPARE, 1, height,
                                                digest, 1), block)
    unsigned = wire.NewView(wire.View(1), stripped, reproposal, wire.ValidatorIndex(1), bytes(64))
    nv = wire.NewView(wire.View(1), stripped, reproposal, wire.ValidatorIndex(1),
                      keys[1].sign(wire.new_view_payload(chain, unsigned)).signature)
    decided = wire.Decided(certificate(height, digest), block)
    return [wire.encode_message(msg) for msg in (pp, prepare, commit, vcs[0], nv, decided)]


def certificates() -> list[bytes]:
    """Encoded commit certificates for block 2 of `blocks()` (sha256 digest)."""
    digest = wire.sha256_digest(blocks()[1])
    return [wire.encode_certificate(certificate(2, digest)),
            wire.encode_certificate(certificate(2, digest, signers=4))]


def records() -> list[bytes]:
    """Replica log records of each kind (vote, commit, view change) for height 1."""
    block = blocks()[0]
    digest = wire.sha256_digest(block)
    prepared = wire.cert_obj(certificate(1, digest, 0, wire.PHASE_PREPARE))
    return [wire.pack([1, wire.PHASE_PREPARE, 0, 1, digest, block]),
            wire.pack([1, wire.PHASE_PREPARE, 0, 1, digest, None]),
            wire.pack([2, 0, 1, digest, prepared, block]),
            wire.pack([3, 1, 1])]

