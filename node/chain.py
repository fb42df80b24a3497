"""The chain application: builds, validates and finalizes blocks for the consensus core.

The consensus core treats blocks as opaque bytes; this module gives them meaning. The
primary calls `propose` (execute pending transactions on an overlay, put the state root in
the header); every replica calls `validate` before it votes (re-execute, compare the root);
`finalize` writes a certified block in one batch. Execution results are cached by block
hash, so a block is executed once per node in the normal case. Signatures of a block's
transactions are verified only when the mempool has not verified them already.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from commerce.block import (
    Block,
    BlockHeader,
    decode_block,
    decode_block_envelope,
    encode_block,
    merkle_root,
    tx_root,
)
from commerce.errors import ErrorCode, ValidationError
from commerce.genesis import ChainParams, Genesis
from commerce.governance_state import (
    params_in_force,
    scheduled_params,
    scheduled_sets,
    validators_in_force,
)
from commerce.limits import BLOCK_FRAME_BYTES, MAX_BLOCK_TXS, MIN_ACTIVATION_BLOCKS
from commerce.machine import BlockResult, ChainContext, execute_block
from commerce.tx import Transaction
from node import limits
from node.mempool import Mempool
from node.store import Store


def block_digest(block_raw: bytes,
                 known_id: Callable[[bytes], bytes | None] | None = None) -> bytes:
    """The hash consensus signs for a block: SHA-256 of its header's canonical bytes,
    after checking that the body is the one the header commits to.

    The header commits to the transactions through `tx_root` (a Merkle root over their
    ids), so checking the root here makes the digest name the whole block: a body that
    does not match its header is not that block, whoever sends it. Checks form and the
    root only (no transaction is decoded or executed: `Chain.validate` does that).

    `known_id(tx_bytes)` may give the id of a transaction known by exactly these bytes (the
    mempool's, whose id was hashed from them on admission), saving its SHA-256.

    Raises ValidationError when the bytes are not a block or the body does not match.
    """
    header, body = decode_block_envelope(block_raw)
    hasher = hashlib.sha256
    leaves = []
    for item in body:
        if type(item) is not bytes:
            raise ValidationError(ErrorCode.BAD_BLOCK, "a block transaction must be bytes")
        tx_id = None if known_id is None else known_id(item)
        leaves.append(hasher(item).digest() if tx_id is None else tx_id)
    if merkle_root(leaves) != header.tx_root:
        raise ValidationError(ErrorCode.BAD_BLOCK, "tx_root does not match the transactions")
    return header.hash


class ConsensusDigest:
    """The replica's `digest_fn`: `block_digest`, None for bytes that are not a block.

    Remembers the last few answers by the block's bytes: the replica names one block
    several times (PRE-PREPARE, finalize), and the bytes object caches its own hash, so
    a repeated call costs a dict lookup instead of a Merkle pass over every transaction.
    """

    def __init__(self, known_id: Callable[[bytes], bytes | None] | None = None) -> None:
        self._known: OrderedDict[bytes, bytes | None] = OrderedDict()
        self._known_id = known_id  # passed to `block_digest` (a mempool's `id_of_bytes`)

    def __call__(self, block_raw: bytes) -> bytes | None:
        known = self._known
        if block_raw in known:
            return known[block_raw]
        try:
            digest: bytes | None = block_digest(block_raw, self._known_id)
        except ValidationError:
            digest = None
        self._keep(block_raw, digest)
        return digest

    def remember(self, block_raw: bytes, digest: bytes) -> None:
        """Note the digest of a block this node built itself (`Chain.propose` computed its
        `tx_root` from the transactions), so that naming it costs no Merkle pass."""
        self._keep(block_raw, digest)

    def root_checked(self, block_raw: bytes) -> bool:
        """True when these exact bytes are a block whose body matches its header's
        `tx_root` (answered before, or built here): decoding it need not check again."""
        return self._known.get(block_raw) is not None

    def _keep(self, block_raw: bytes, digest: bytes | None) -> None:
        known = self._known
        known[block_raw] = digest
        if len(known) > limits.MAX_DIGESTS_CACHED:
            known.popitem(last=False)


@dataclass(slots=True)
class Executed:
    """A block with its execution result, waiting for its certificate."""

    block: Block
    result: BlockResult


FinalizedListener = Callable[[Block, BlockResult], None]


class Chain:
    """Block building, validation and finalization over one node's store and mempool."""

    def __init__(self, store: Store, genesis: Genesis, mempool: Mempool,
                 proposer_key: bytes, *, max_block_txs: int | None = None,
                 verify_pool: Executor | None = None,
                 digests: ConsensusDigest | None = None,
                 timers_override: tuple[int | None, int | None] = (None, None)) -> None:
        self.store = store
        self.genesis = genesis
        self.mempool = mempool
        self.proposer_key = proposer_key
        # The operator's cap (config); a proposal also keeps to the parameter in force.
        self.max_block_txs = max_block_txs or MAX_BLOCK_TXS
        # This node's override of the chain's consensus timers (config; None: the chain's):
        # (view_change_timeout_ms, idle_block_interval_ms).
        self.timers_override = timers_override
        self._executed: OrderedDict[bytes, Executed] = OrderedDict()
        self._verify_pool = verify_pool
        # The replica's digest function, when it is shared: blocks built here are noted in
        # it, and blocks it checked are decoded without a second Merkle pass.
        self.digests = digests
        self._context: ChainContext | None = None
        self.finalized_listeners: list[FinalizedListener] = []
        # Blocks written unsynced and not yet reported (one run of FinalizeBlock effects).
        self._unreported: list[tuple[Block, BlockResult]] = []

    @property
    def height(self) -> int:
        """The last finalized height."""
        return self.store.head.height

    # Validator sets (the boundary with governance, docs/CONSENSUS.md section 10).

    def validators_at(self, height: int) -> tuple[bytes, ...]:
        """The consensus keys (canonical order) of the validator set in force at block
        `height` >= 1, for any height up to `validators_known_through()`, from the history
        of sets recorded in state (docs/GOVERNANCE.md). Every consumer in node/ asks here
        (certificates, proposer checks, the replica's schedule, the P2P allow-list), never
        the genesis list directly."""
        assert 1 <= height <= self.validators_known_through(), f"height {height}"
        return validators_in_force(self.store.state, self.genesis, height)

    def validators_known_through(self) -> int:
        """The highest height whose set the finalized state determines: a change passed in
        block h applies at h + delay with delay >= 2, so the head + 2."""
        return self.height + MIN_ACTIVATION_BLOCKS

    def validator_changes(self, after_height: int) -> list[tuple[int, tuple[bytes, ...]]]:
        """(from_height, keys) of every set taking effect above `after_height`, up to
        `validators_known_through()`, ascending: what the replica must learn next."""
        assert after_height >= 0
        through = self.validators_known_through()
        return scheduled_sets(self.store.state, after_height, through)

    def timers_at(self, height: int) -> tuple[int, int]:
        """(view_change_timeout_ms, idle_block_interval_ms) this node's replica uses at
        `height` (up to `validators_known_through()`): the chain parameters in force there
        (docs/GOVERNANCE.md), unless the node's config overrides one."""
        assert 1 <= height <= self.validators_known_through(), f"height {height}"
        return self._timers(params_in_force(self.store.state, self.genesis, height))

    def timer_changes(self, after_height: int) -> list[tuple[int, int, int]]:
        """(from_height, view_change_timeout_ms, idle_block_interval_ms) of every parameter
        change taking effect above `after_height`, up to `validators_known_through()`,
        ascending (a change of another parameter repeats the timers: no harm)."""
        assert after_height >= 0
        through = self.validators_known_through()
        return [(height, *self._timers(params))
                for height, params in scheduled_params(self.store.state, after_height, through)]

    def _timers(self, params: ChainParams) -> tuple[int, int]:
        timeout_ms, idle_ms = self.timers_override
        return (params.view_change_timeout_ms if timeout_ms is None else timeout_ms,
                params.idle_block_interval_ms if idle_ms is None else idle_ms)

    def context(self, height: int) -> ChainContext:
        """The execution context of block `height` (at most the head + 1): the parameters and
        validator set in force there, read from state (the last one is kept: the mempool
        asks for the next block's on every simulated admission)."""
        context = self._context
        if context is None or context.height != height:
            context = self._context = ChainContext.at(self.store.state, self.genesis, height)
        return context

    def _remember(self, executed: Executed) -> None:
        self._executed[executed.block.hash] = executed
        while len(self._executed) > limits.MAX_CACHED_PROPOSALS:
            self._executed.popitem(last=False)

    # Primary.

    def propose(self, height: int, timestamp_ms: int) -> bytes:
        """Build block `height` from the mempool; returns its bytes.

        Transactions that fail execution are left out and evicted from the mempool.
        """
        head = self.store.head
        assert height == head.height + 1, "proposals extend the head"
        params = self.context(height).params
        max_txs = min(self.max_block_txs, params.max_block_txs)
        candidates = self.mempool.reap(max_txs, params.max_block_bytes - BLOCK_FRAME_BYTES)
        result = execute_block(self.store.state, self.context(height), head.state_root,
                               candidates, drop_invalid=True, check_signatures=False,
                               max_txs=max_txs)
        for tx, rejection in result.rejected:
            self.mempool.evict(tx.tx_id, rejection.code.reason)
        txs = tuple(result.txs)
        header = BlockHeader(self.genesis.chain_id, height, head.block_hash, tx_root(txs),
                             result.state_root, self.proposer_key, max(0, timestamp_ms),
                             result.next_validators_hash)
        block = encode_block(header, txs)
        assert len(block.raw) <= params.max_block_bytes, "a proposal fits the block limit"
        self._remember(Executed(block, result))
        if self.digests is not None:
            self.digests.remember(block.raw, block.hash)
        return block.raw

    def _root_checked(self, block_raw: bytes) -> bool:
        return self.digests is not None and self.digests.root_checked(block_raw)

    # Every replica.

    def validate(self, height: int, block_raw: bytes, expected_proposer: bytes | None) -> bytes:
        """Check block `height` fully; returns its digest or raises ValidationError.

        Checks the form, the link to the head, the proposer (`expected_proposer`, or any
        validator when None: a re-proposal), every signature not verified before, and
        re-executes to compare the state root.
        """
        params = self.context(height).params
        block = decode_block(block_raw, max_txs=params.max_block_txs,
                             max_bytes=params.max_block_bytes,
                             known=self.mempool.get_by_bytes,
                             root_checked=self._root_checked(block_raw))
        if expected_proposer is None and \
                block.header.proposer not in self.validators_at(height):
            raise ValidationError(ErrorCode.BAD_BLOCK, "block proposer is not a validator")
        self._validate_decoded(height, block, expected_proposer)
        return block.hash

    def _validate_decoded(self, height: int, block: Block, expected_proposer: bytes | None,
                          *, certified: bool = False) -> Executed:
        """Check and execute `block` on the head (once: the result is remembered).

        `certified`: a commit certificate (2f+1 validators' COMMITs, checked against the
        set in force at its height) already proves the block final, so at least f+1 honest
        validators validated it, every transaction signature included; re-checking those signatures
        would only repeat their work (see docs/CONSENSUS.md, "Catch-up"). The form, the
        link to the head, the re-execution and the state root are still checked here:
        they keep this node's own state right.
        """
        executed = self._executed.get(block.hash)
        if executed is not None:
            return executed
        header = block.header
        head = self.store.head
        if header.chain_id != self.genesis.chain_id:
            raise ValidationError(ErrorCode.BAD_BLOCK, "block is for another chain")
        if header.height != height or height != head.height + 1:
            raise ValidationError(ErrorCode.BAD_BLOCK, f"block height {header.height} "
                                  f"does not follow {head.height}")
        if header.prev_hash != head.block_hash:
            raise ValidationError(ErrorCode.BAD_BLOCK, "block does not extend our head")
        if expected_proposer is not None and header.proposer != expected_proposer:
            raise ValidationError(ErrorCode.BAD_BLOCK, "block proposer is not the primary")
        if not certified:
            self._verify_signatures(block.txs)
        result = execute_block(self.store.state, self.context(height), head.state_root,
                               block.txs, drop_invalid=False, check_signatures=False)
        if result.state_root != header.state_root:
            raise ValidationError(ErrorCode.BAD_BLOCK, "state root does not match execution")
        if result.next_validators_hash != header.next_validators_hash:
            raise ValidationError(ErrorCode.BAD_BLOCK,
                                  "next_validators_hash is not the next height's set")
        executed = Executed(block, result)
        self._remember(executed)
        return executed

    def _verify_signatures(self, txs: tuple[Transaction, ...]) -> None:
        cache = self.mempool.verified
        todo = cache.unverified(txs)
        if not todo:
            return
        if self._verify_pool is not None and len(todo) > limits.VERIFY_CHUNK_TXS:
            chunks = [todo[i:i + limits.VERIFY_CHUNK_TXS]
                      for i in range(0, len(todo), limits.VERIFY_CHUNK_TXS)]
            results = list(self._verify_pool.map(_verify_all, chunks))
            ok = all(results)
        else:
            ok = _verify_all(todo)
        if not ok:
            raise ValidationError(ErrorCode.BAD_BLOCK, "a transaction signature does not verify")
        for tx in todo:
            cache.add(tx.tx_id)

    def finalize(self, block_raw: bytes, certificate: bytes, digest: bytes, *,
                 sync: bool = True) -> Block:
        """Write a certified block (validating it first if this node has not) and update
        the mempool. `digest` is the block's hash as the certificate names it (consensus
        computed it with `block_digest`). Raises ValidationError if the block does not
        apply: with a valid certificate that means this node's state diverged, which the
        caller must treat as fatal. The certificate was verified by consensus before it
        asked to finalize, so a block this node did not validate itself (catch-up) is
        re-executed without re-verifying its transactions' signatures. `sync` False
        leaves the write unsynced (see `Store.finalize_block`): the caller syncs before it
        lets anything report the block.
        """
        executed = self._executed.get(digest)
        if executed is None:
            block = decode_block(block_raw, root_checked=self._root_checked(block_raw))
            assert block.hash == digest, "the certificate names this block"
            executed = self._validate_decoded(block.height, block, None, certified=True)
        block, result = executed.block, executed.result
        self.store.finalize_block(block, certificate, result, sync=sync)
        self._executed.clear()
        self.mempool.on_finalized(block.height, block.txs)
        self._unreported.append((block, result))
        if sync:
            self._report()
        return block

    def flush(self) -> None:
        """Make the blocks finalized with `sync=False` durable, then report them."""
        if self._unreported:
            self.store.sync()
            self._report()

    def _report(self) -> None:
        # Listeners (RPC notifications, receipts to waiters, logs) hear of a block only
        # once it is durable.
        unreported, self._unreported = self._unreported, []
        for block, result in unreported:
            for listener in self.finalized_listeners:
                listener(block, result)

    def recheck_mempool(self) -> int:
        """Evict pending transactions that no longer apply on the new state (bounded)."""
        return self.mempool.recheck(self.context(self.height + 1))


def _verify_all(txs: list[Transaction]) -> bool:
    return all(tx.verify_signature() for tx in txs)
