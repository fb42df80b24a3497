"""The Byzantine validator: lies told with genuine material (tampered bodies under
genuine headers, withheld blocks, junk sync replies, floods)."""

from __future__ import annotations

from commerce.address import address_of
from commerce.encoding import encode, pack_plain
from commerce.transfer import Transfer
from commerce.tx import sign_tx
from consensus.errors import ConsensusValidationError
from consensus.messages import (
    PHASE_COMMIT,
    PHASE_PREPARE,
    Certificate,
    Decided,
    Digest,
    NewView,
    PrePrepare,
    ValidatorIndex,
    View,
    ViewChange,
    Vote,
    decode_certificate,
    decode_message,
    encode_message,
    new_view_payload,
)
from consensus.replica import Replica
from node.limits import MAX_SYNC_REQUEST_BLOCKS
from node.sim.driver import SimNode
from node.sim.world import (
    DELAY_MS_MIN,
    FLOOD_TXS_PER_TICK,
    KIND_CONSENSUS,
    KIND_TXS,
    junk_block,
    tamper_body,
)
from node.sync import decode_response
from p2p.limits import (
    MAX_PAYLOAD_BYTES,
)


class ByzantineValidator:
    """The Byzantine side of `Simulation` (a mixin: it uses the simulation's state)."""

    def victims(self, node: SimNode) -> list[int]:
        return [j for j in range(self.n) if j != node.index and not self.nodes[j].byzantine]

    def byzantine_out(self, node: SimNode, targets: list[int],
                      data: bytes) -> list[tuple[int, bytes]]:
        """What the Byzantine node sends instead of `data` to each of `targets`."""
        kinds, rng = node.byzantine, self.rng
        msg = decode_message(data)
        out = [(dst, data) for dst in targets]
        if isinstance(msg, PrePrepare | NewView):
            pp = msg if isinstance(msg, PrePrepare) else msg.preprepare
            if pp is None:
                return out
            if "withhold" in kinds and isinstance(msg, PrePrepare):
                # The block to a quorum only: the others must get it from another holder.
                starved = set(rng.sample(self.victims(node), rng.randint(1, self.f)))
                self.lie("withheld_preprepare", len(starved))
                return [(dst, data) for dst in targets if dst not in starved]
            if "pp_tamper" in kinds:
                # The genuine block to a quorum, the same header with another body to one.
                victim = rng.choice(self.victims(node))
                tampered = self.with_block(node, msg, tamper_body(pp.block, rng, self.donors))
                self.lie("tampered_" + type(msg).__name__.lower())
                return [(dst, tampered if dst == victim else data) for dst in targets]
        elif isinstance(msg, Vote) and msg.phase == PHASE_COMMIT and "vc_tamper" in kinds:
            # Its COMMIT withheld at some heights: with an honest node down, a prepared
            # block then stalls and the view change carries it (VIEW-CHANGE, NEW-VIEW).
            slot = (msg.height, msg.view)
            if slot not in self.commits_withheld:
                self.commits_withheld[slot] = rng.randrange(2) == 0
            if self.commits_withheld[slot]:
                self.lie("withheld_commit")
                return []
        elif isinstance(msg, ViewChange) and msg.block is not None:
            if "vc_tamper" in kinds:
                self.lie("tampered_viewchange", len(targets))
                return [(dst, encode_message(self.vc_with(msg, tamper_body(
                    msg.block, rng, self.donors)))) for dst in targets]
            if "withhold" in kinds:
                self.lie("withheld_viewchange_block", len(targets))
                return [(dst, encode_message(self.vc_with(msg, None))) for dst in targets]
        elif isinstance(msg, Decided) and msg.block is not None:
            if "decided_tamper" in kinds:
                tampered = tamper_body(msg.block, rng, self.donors)
                self.lie("tampered_decided", len(targets))
                return [(dst, encode_message(Decided(msg.certificate, tampered)))
                        for dst in targets]
            if "withhold" in kinds:
                self.lie("withheld_decided_block", len(targets))
                return [(dst, encode_message(Decided(msg.certificate, None)))
                        for dst in targets]
        return out

    @staticmethod
    def vc_with(vc: ViewChange, block: bytes | None) -> ViewChange:
        """The same signed VIEW-CHANGE carrying `block` (the block is not signed)."""
        return ViewChange(vc.view, vc.height, vc.last_cert, vc.prepared, vc.signer,
                          vc.signature, block)

    def with_block(self, node: SimNode, msg: PrePrepare | NewView, block: bytes) -> bytes:
        """`msg` with its proposal's block replaced (a NEW-VIEW is signed again)."""
        if isinstance(msg, PrePrepare):
            return encode_message(PrePrepare(msg.vote, block))
        assert msg.preprepare is not None
        unsigned = NewView(msg.view, msg.view_changes, PrePrepare(msg.preprepare.vote, block),
                           msg.signer, b"")
        signature = node.key.signing_key.sign(
            new_view_payload(self.genesis.chain_id.encode(), unsigned)).signature
        return encode_message(NewView(unsigned.view, unsigned.view_changes,
                                      unsigned.preprepare, unsigned.signer, signature))

    def byzantine_in(self, node: SimNode, src: int, data: bytes) -> None:
        """The Byzantine node relays honest VIEW-CHANGEs with tampered blocks (the block is
        not signed, and the first copy of a VIEW-CHANGE a replica sees is the one kept)."""
        if "vc_tamper" not in node.byzantine:
            return
        try:
            msg = decode_message(data)
        except ConsensusValidationError:
            return
        if isinstance(msg, ViewChange) and msg.block is not None:
            forged = encode_message(self.vc_with(msg, tamper_body(msg.block, self.rng,
                                                                  self.donors)))
            for dst in self.victims(node):
                if dst != src and dst != msg.signer:
                    self.lie("tampered_relayed_viewchange")
                    self.push(self.now_ms + DELAY_MS_MIN, dst, "msg",
                              (node.index, KIND_CONSENSUS, forged))

    def byzantine_reply(self, node: SimNode, reply: bytes) -> bytes:
        """A sync reply as the Byzantine node serves it."""
        kinds, rng = node.byzantine, self.rng
        pairs = [list(pair) for pair in decode_response(reply)]
        choices = [k for k in ("sync_tamper", "sync_junk", "sync_oversize", "withhold")
                   if k in kinds]
        if not choices:
            return reply
        kind = rng.choice(choices)
        self.lie("sync_reply_" + kind.removeprefix("sync_"))
        if kind == "withhold":
            return encode(pairs[:rng.randint(0, max(0, len(pairs) - 1))])
        if kind == "sync_tamper" and pairs:
            index = rng.randrange(len(pairs))
            pairs[index][0] = tamper_body(pairs[index][0], rng, self.donors)
            return encode(pairs)
        if kind == "sync_junk":
            # Good blocks, then junk: bytes that are no block, with a real certificate.
            cert = pairs[-1][1] if pairs else rng.randbytes(16)
            last = pairs[-1][0] if pairs else None
            return encode(pairs + [[junk_block(rng, last), cert]])
        if kind == "sync_oversize":
            mode = rng.randrange(3)
            if mode == 0:  # more pairs than any reply may hold
                return encode(pairs + [[b"", b""]] * (MAX_SYNC_REQUEST_BLOCKS + 1))
            if mode == 1:  # more bytes than the transport carries
                return encode(pairs + [[bytes(MAX_PAYLOAD_BYTES), b""]])
            return encode(pairs + pairs)  # more blocks than asked for
        return reply

    def byzantine_tick(self, node: SimNode) -> None:
        """Unprompted lies: DECIDED with tampered bodies or lures, floods."""
        if not node.up:
            return
        assert node.store is not None and node.replica is not None
        kinds, rng = node.byzantine, self.rng
        chain_id = self.genesis.chain_id.encode()
        for dst in self.victims(node):
            other = self.nodes[dst]
            if not other.up:
                continue
            assert other.replica is not None
            height = other.replica.height  # the height it works on: one above its last
            raw = node.store.get_block_raw(height)
            cert_raw = node.store.get_certificate(height)
            if raw is not None and cert_raw is not None:
                cert = decode_certificate(cert_raw)
                if "decided_tamper" in kinds:
                    tampered = tamper_body(raw, rng, self.donors)
                    self.lie("tampered_decided")
                    self.send(node.index, dst, KIND_CONSENSUS,
                              encode_message(Decided(cert, tampered)))
                if set(kinds) & {"sync_tamper", "sync_junk", "sync_oversize", "withhold"}:
                    # A lure: the certificate without its block makes the node fetch here.
                    self.lie("lure_decided")
                    self.send(node.index, dst, KIND_CONSENSUS,
                              encode_message(Decided(cert, None)))
                if "flood_consensus" in kinds:
                    self.send(node.index, dst, KIND_CONSENSUS,
                              encode_message(Decided(cert, junk_block(rng, raw))))
            if "flood_consensus" in kinds:
                self.flood_consensus(node, dst, other.replica, chain_id)
        if "flood_txs" in kinds:
            self.flood_txs(node)

    def flood_consensus(self, node: SimNode, dst: int, replica: Replica,
                        chain_id: bytes) -> None:
        rng = self.rng
        height, view = replica.height, replica.view
        primary = ValidatorIndex(view % self.n)
        fake = Vote(PHASE_PREPARE, view, height, Digest(rng.randbytes(32)), primary,
                    rng.randbytes(64))
        out = [encode_message(PrePrepare(fake, junk_block(rng))), rng.randbytes(rng.randint(0, 64))]
        sigs = tuple((ValidatorIndex(k), rng.randbytes(64)) for k in range(self.n - self.f))
        prepared = Certificate(PHASE_PREPARE, view, height, fake.digest, sigs)
        vc = ViewChange(View(view + 1), height, None, prepared,
                        ValidatorIndex(node.index), b"", junk_block(rng))
        signature = node.key.signing_key.sign(b"").signature  # wrong, and checked last
        out.append(encode_message(ViewChange(vc.view, vc.height, None, prepared, vc.signer,
                                             signature, vc.block)))
        self.lie("junk_consensus", len(out))
        for data in out:
            self.send(node.index, dst, KIND_CONSENSUS, data)

    def flood_txs(self, node: SimNode) -> None:
        """Junk gossip and unexecutable transactions (unfunded keys, future nonces)."""
        rng = self.rng
        unexecutable = []
        for _ in range(FLOOD_TXS_PER_TICK):
            key = rng.choice(self.flood_keys)
            body = Transfer(to=address_of(self.accounts[0].public_key),
                            amount=rng.randint(1, 10), memo="")
            unexecutable.append(sign_tx(key, self.genesis.chain_id, rng.randint(0, 255),
                                        body).raw)
        junk = rng.choice((rng.randbytes(rng.randint(0, 64)), encode(7),
                           encode([1, b"x", None]),
                           pack_plain([rng.randbytes(rng.randint(0, 80)), *unexecutable])))
        payloads = [pack_plain(unexecutable), junk]
        self.lie("junk_gossip", len(payloads) * len(self.victims(node)))
        for dst in self.victims(node):
            for payload in payloads:
                self.send(node.index, dst, KIND_TXS, payload)
