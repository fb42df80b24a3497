"""Cross-language test vectors for the TypeScript SDK, made by the real Python code.

    python -m tests.web.make_vectors OUT.json

Every value is computed here by the node's own modules (commerce.encoding, commerce.tx and
every registered body type, commerce.address, commerce.keys, commerce.block, commerce.amount,
consensus.messages), so the SDK's tests (web/sdk/test/vectors.test.ts) fail on any
divergence: the canonical bytes of edge values and the refusals of non-canonical ones;
addresses and their refusal messages; Ed25519 keys and signatures; for every transaction
type its field table (names, wire order, kinds and limits), a signed transaction (signing
bytes, wire bytes, id) and the refusal of each out-of-limit field; sealed boxes (opened by
the SDK, and one with a fixed ephemeral key that the SDK must rebuild byte for byte); block
header hashes and Merkle roots; a commit certificate with its hash and signers; amounts.

JSON cannot carry bytes or big integers, so values are tagged: ``{"int": "123"}``,
``{"bytes": "hex"}``; text, booleans, null and lists are themselves.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Le, Lt, MaxLen, MinLen
from nacl.bindings import crypto_box, crypto_scalarmult_base
from nacl.public import PrivateKey
from nacl.signing import SigningKey, VerifyKey

import commerce  # noqa: F401  (registers every body type)
from base.codec import CodecError, decode, encode
from client.blobs import upload_headers
from commerce.address import address_of, from_text, to_text
from commerce.amount import format_amount, parse_amount
from commerce.block import BlockHeader, merkle_root
from commerce.errors import AgoraError
from commerce.keys import Keypair, seal
from commerce.media import upload_signing_bytes
from commerce.schema import MERCHANT_STATUS_NAMES, ORDER_STATUS_NAMES
from commerce.tx import BODY_TYPES, TxBody, decode_tx, sign_tx
from consensus.messages import (
    PHASE_COMMIT,
    Certificate,
    encode_certificate,
    sign_vote,
    vote_payload,
)

CHAIN_ID = "agora-vectors"
MAX_U64 = 2**64 - 1  # the codec's limit: an int field without an upper bound stops there


def seed(n: int) -> bytes:
    """A fixed 32-byte seed."""
    return hashlib.sha256(f"agora-sdk-vector-seed-{n}".encode()).digest()


def tag(value: Any) -> Any:
    """A value as tagged JSON."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, (list, tuple)):
        return [tag(item) for item in value]
    raise TypeError(type(value))


def random_values(count: int) -> list[Any]:
    """`count` nested values from a fixed seed: every leaf kind, lengths and integers drawn
    around the encoding's boundaries."""
    rng = random.Random(22)
    edges = [0, 31, 32, 127, 128, 255, 256, 65535, 65536, 2**31, 2**32, 2**53, 2**63, 2**64]

    def leaf() -> Any:
        kind = rng.randrange(6)
        if kind == 0:
            edge = rng.choice(edges)
            value = max(0, min(edge + rng.randint(-2, 2), MAX_U64))
            return -min(value, 2**63) if rng.random() < 0.4 else value
        if kind == 1:
            return "".join(rng.choice("aé字🛒\n") for _ in range(rng.choice([0, 5, 31, 33, 300])))
        if kind == 2:
            return rng.randbytes(rng.choice([0, 1, 32, 255, 256, 300]))
        return [None, True, False][kind - 3]

    def value(depth: int) -> Any:
        if depth >= 8 or rng.random() < 0.2 * depth:
            return leaf()
        sizes = [0, 1, 2, 3, 15, 16, 17] if depth <= 2 else [0, 1, 2]
        return [value(depth + 1) for _ in range(rng.choice(sizes))]

    return [value(1) for _ in range(count)]


def tx_refusals(keypair: Keypair) -> list[dict[str, str]]:
    """Wire bytes that are not a well-formed transaction, and the node's reason."""
    good = sign_tx(keypair, CHAIN_ID, 3, BODY_TYPES["share"](listing=7))
    fields = decode(good.raw)
    sig = fields[5]
    cases = [
        fields[:5], [*fields, b""], [1, *fields[1:]], [fields[0], "key", *fields[2:]],
        [*fields[:2], True, *fields[3:]], [*fields[:2], -1, *fields[3:]],
        [*fields[:2], 2**63, *fields[3:]], [*fields[:5], sig[:63]], ["x" * 65, *fields[1:]],
        ["", *fields[1:]], [fields[0], fields[1][:31], *fields[2:]],
        [*fields[:3], "mint", *fields[4:]], [*fields[:4], [], sig], [*fields[:4], [0], sig],
        [*fields[:4], [7, 8], sig], [*fields[:4], ["7"], sig], "not a list",
    ]
    out = []
    for case in cases:
        raw = encode(case)
        try:
            decode_tx(raw)
        except AgoraError as exc:
            out.append({"wire": raw.hex(), "reason": exc.code.reason})
        else:
            raise AssertionError(f"{case!r} should be refused")
    for raw in (good.raw[:-1], good.raw + b"\x00", b"\xdc\x00\x06" + good.raw[1:]):
        try:
            decode_tx(raw)
        except AgoraError as exc:
            out.append({"wire": raw.hex(), "reason": exc.code.reason})
    return out


def codec_vectors() -> dict[str, Any]:
    ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53 - 1, 2**53,
            2**63 - 1, 2**63, MAX_U64, -1, -32, -33, -128, -129, -32768, -32769, -(2**31),
            -(2**31) - 1, -(2**53), -(2**63)]
    texts = ["", "a", "x" * 31, "x" * 32, "y" * 255, "y" * 256, "z" * 65535, "z" * 65536,
             "héllo wörld", "日本語のテキスト", "emoji 🛒🎁", "\u0000nul"]
    blobs = [b"", b"\x00", bytes(range(256)), b"\xab" * 65535, b"\xcd" * 65536]
    values: list[Any] = [None, True, False, *ints, *texts, *blobs, [], list(range(15)),
                         list(range(16)), [[[[[[[["deep"]]]]]]]], ["mixed", 1, b"\x01",
                                                                  None, [True, -5]]]
    values.append(list(range(65536)))
    values.extend(random_values(300))
    good = [{"value": tag(v), "hex": encode(v).hex()} for v in values]
    refused = []
    for hex_text in ["cc05", "cd0001", "ce000000ff", "cf00000000000000ff", "d0ff", "d1ff80",
                     "d9036162", "d903616263", "c5000161", "c50001ff", "dc0000", "dc000101",
                     "80", "81a161a162", "ca3f800000", "cb3ff0000000000000", "c1", "d40100",
                     "0101", "92", "a2ff61", "91919191919191919191c0", "d3ffffffffffffffff",
                     "c4ff00"]:
        data = bytes.fromhex(hex_text)
        try:
            decode(data)
        except CodecError as exc:
            refused.append({"hex": hex_text, "fault": exc.fault.value})
        else:
            raise AssertionError(f"{hex_text} should be refused")
    unencodable = [{"case": "float"}, {"case": "map"}, {"case": "over_u64",
                                                        "value": str(MAX_U64 + 1)},
                   {"case": "under_i64", "value": str(-(2**63) - 1)}]
    for case in unencodable[2:]:
        try:
            encode(int(case["value"]))
        except CodecError as exc:
            case["fault"] = exc.fault.value
    return {"good": good, "refused": refused, "unencodable": unencodable}


def key_vectors() -> list[dict[str, Any]]:
    out = []
    for n in range(4):
        keypair = Keypair.from_seed(seed(n))
        message = f"message {n}".encode() * (n + 1)
        out.append({"seed": seed(n).hex(), "public_key": keypair.public_key.hex(),
                    "address": to_text(address_of(keypair.public_key)),
                    "address_bytes": address_of(keypair.public_key).hex(),
                    "message": message.hex(), "signature": keypair.sign(message).hex()})
    return out


def address_refusals() -> list[dict[str, str]]:
    good = to_text(address_of(Keypair.from_seed(seed(0)).public_key))
    swapped = good[:10] + ("q" if good[10] != "q" else "p") + good[11:]
    texts = ["", "agora1", good[:-1], good + "q", good[:8] + good[8].upper() + good[9:],
             "bogus1" + good[6:], swapped, good.replace(good[7], "b", 1), "agora1" + "q" * 84,
             "x" * 91, good.upper().replace("AGORA1", "AGORA1", 1)[:-1] + "Q"]
    out = []
    for text in texts:
        try:
            from_text(text)
        except AgoraError as exc:
            out.append({"text": text, "message": exc.message})
        else:
            out.append({"text": text, "address": from_text(text).hex()})
    out.append({"text": good.upper(), "address": from_text(good.upper()).hex()})
    return out


def spec_of(annotation: Any, metadata: list[Any]) -> dict[str, Any]:
    """One field's kind and limits, normalized for the SDK's table."""
    lows = [m.ge for m in metadata if isinstance(m, Ge)]
    highs = [m.le for m in metadata if isinstance(m, Le)] + [
        int(m.lt) - 1 for m in metadata if isinstance(m, Lt)]  # type: ignore[call-overload]
    min_len = next((m.min_length for m in metadata if isinstance(m, MinLen)), 0)
    max_len = next((m.max_length for m in metadata if isinstance(m, MaxLen)), None)
    pattern = next((getattr(m, "pattern", None) for m in metadata
                    if getattr(m, "pattern", None)), None)
    if get_origin(annotation) is Literal:
        return {"kind": "choice", "choices": list(get_args(annotation))}
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        item_type, *item_meta = get_args(item) if hasattr(item, "__metadata__") else (item,)
        flat = [m for info in item_meta for m in getattr(info, "metadata", [info])]
        return {"kind": "list", "min": min_len, "max": max_len,
                "item": spec_of(item_type, flat)}
    if annotation is bool:
        return {"kind": "bool"}
    if annotation is int:
        return {"kind": "int", "min": str(lows[0] if lows else 0),
                "max": str(highs[0] if highs else MAX_U64)}
    if annotation is str:
        spec: dict[str, Any] = {"kind": "text", "min": min_len}
        if max_len is not None:
            spec["max"] = max_len
        if pattern is not None:
            spec["pattern"] = pattern
        return spec
    if annotation is bytes:
        return {"kind": "bytes", "min": min_len, "max": max_len}
    raise TypeError(f"no spec for {annotation}")


def list_item(item: dict[str, Any], i: int) -> Any:
    """The `i`th item of a sample list: valid for the item's spec."""
    if item["kind"] == "bytes":
        return bytes([i]) * item["max"]
    if item["kind"] == "int":
        return min(int(item["min"]) + i, int(item["max"]))
    return f"kitchen-{i}" if item.get("pattern") else f"option {i}"


def body_sample(cls: type[TxBody], variant: int) -> dict[str, Any]:
    """Field values of a valid body: variant 0 small, variant 1 at the limits."""
    recipient = address_of(Keypair.from_seed(seed(9)).public_key)
    samples: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        spec = spec_of(info.annotation, list(info.metadata))
        kind = spec["kind"]
        if name in ("to", "merchant") and kind == "bytes":
            value: Any = recipient
        elif kind == "int":
            value = int(spec["max"]) if variant else max(int(spec["min"]), 1)
            if name == "share" and not variant:
                value = 0
        elif kind == "text":
            if spec.get("pattern"):
                value = "kitchen-" + "z" * 24 if variant else "kitchen"
            elif variant:
                value = "界" * (spec.get("max") or 64)
            else:
                value = f"{name} ✓" if spec["min"] or name != "memo" else ""
        elif kind == "bytes":
            value = bytes([7]) * (spec["max"] if variant else spec["min"])
        elif kind == "bool":
            value = bool(variant)
        elif kind == "choice":
            value = spec["choices"][-1 if variant else 0]
        else:  # list
            item = spec["item"]
            count = spec["max"] if variant else spec["min"]
            value = [list_item(item, i) for i in range(count)]
        samples[name] = value
    return samples


def refusals(cls: type[TxBody], base: dict[str, Any]) -> list[dict[str, Any]]:
    """Bodies with one field outside its limits, and the reason the node gives."""
    out = []
    for name, info in cls.model_fields.items():
        spec = spec_of(info.annotation, list(info.metadata))
        bad: list[Any] = []
        if spec["kind"] == "int":
            bad = [int(spec["min"]) - 1, True] + (
                [int(spec["max"]) + 1] if int(spec["max"]) < MAX_U64 else [])
        elif spec["kind"] == "text":
            bad = [b"bytes"] + (["é" * (spec["max"] + 1)] if "max" in spec else []) + (
                [""] if spec["min"] else []) + (["Kitchen"] if "pattern" in spec else [])
        elif spec["kind"] == "bytes":
            bad = ["text", bytes(spec["max"] + 1)] + ([bytes(spec["min"] - 1)]
                                                       if spec["min"] else [])
        elif spec["kind"] == "choice":
            bad = ["nope", 1]
        elif spec["kind"] == "bool":
            bad = [1]
        elif spec["kind"] == "list":
            item_bad: Any = int(spec["item"]["max"]) + 1 if spec["item"]["kind"] == "int" else 5
            bad = [[item_bad] * max(spec["min"], 1),
                   [base[name][0] if base[name] else "x"] * (spec["max"] + 1)]
        for value in bad:
            array = [value if field == name else base[field] for field in cls.model_fields]
            if int(spec.get("min", "0") or 0) < 0:
                continue
            try:
                cls.from_array(array)
            except AgoraError as exc:
                out.append({"field": name, "array": tag(array), "reason": exc.code.reason})
            else:
                raise AssertionError(f"{cls.TYPE}.{name}={value!r} should be refused")
    return out


def transaction_vectors() -> dict[str, Any]:
    keypair = Keypair.from_seed(seed(1))
    out = {}
    for type_name, cls in sorted(BODY_TYPES.items()):
        fields = [{"name": name, "spec": spec_of(info.annotation, list(info.metadata)),
                   **({} if info.is_required() else {"default": tag(info.default)})}
                  for name, info in cls.model_fields.items()]
        signed = []
        for variant, nonce in ((0, 0), (1, 2**63 - 1)):
            values = body_sample(cls, variant)
            body = cls(**values)
            tx = sign_tx(keypair, CHAIN_ID, nonce, body)
            assert decode_tx(tx.raw).body == body
            omit = [name for name, info in cls.model_fields.items()
                    if not info.is_required() and values[name] == info.default]
            signed.append({"nonce": str(nonce), "body": {k: tag(v) for k, v in values.items()},
                           "omit": omit, "signing_bytes": tx.signing_bytes().hex(),
                           "wire": tx.raw.hex(), "id": tx.tx_id.hex(),
                           "signature": tx.signature.hex()})
        out[type_name] = {"fields": fields, "signed": signed,
                          "refused": refusals(cls, body_sample(cls, 0))}
    return {"chain_id": CHAIN_ID, "seed": seed(1).hex(), "types": out,
            "refused_wire": tx_refusals(keypair)}


def sealed_vectors() -> dict[str, Any]:
    recipient = Keypair.from_seed(seed(2))
    notes = [b"", b"Bob Builder, 12 Harbour Road", "收货地址：上海".encode(), bytes(range(256)) * 3]
    python_sealed = [{"plaintext": note.hex(), "sealed": seal(recipient.public_key, note).hex()}
                     for note in notes]
    curve_pk = bytes(VerifyKey(recipient.public_key).to_curve25519_public_key())
    fixed = []
    for n, note in enumerate(notes):
        ephemeral_sk = hashlib.sha256(f"ephemeral-{n}".encode()).digest()
        ephemeral_pk = crypto_scalarmult_base(ephemeral_sk)
        nonce = hashlib.blake2b(ephemeral_pk + curve_pk, digest_size=24).digest()
        box = ephemeral_pk + crypto_box(note, nonce, curve_pk, ephemeral_sk)
        assert recipient.unseal(box) == note, "a fixed-key box opens like a sealed box"
        fixed.append({"plaintext": note.hex(), "ephemeral_secret": ephemeral_sk.hex(),
                      "sealed": box.hex()})
    curve_sk = bytes(SigningKey(seed(2)).to_curve25519_private_key())
    assert PrivateKey(curve_sk).public_key.encode() == curve_pk
    return {"recipient_seed": seed(2).hex(), "recipient_public_key": recipient.public_key.hex(),
            "recipient_curve_public_key": curve_pk.hex(), "recipient_curve_secret": curve_sk.hex(),
            "python_sealed": python_sealed, "fixed_ephemeral": fixed,
            "tampered": [seal(recipient.public_key, b"x")[:-1].hex(), "00" * 47,
                         seal(Keypair.from_seed(seed(3)).public_key, b"other key").hex()]}


def block_vectors() -> dict[str, Any]:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(7)]
    roots = [{"ids": [leaf.hex() for leaf in leaves[:n]], "root": merkle_root(leaves[:n]).hex()}
             for n in range(8)]
    headers = []
    for height, timestamp in ((1, 0), (10, 1795652852262), (2**40, 2**63 - 1)):
        header = BlockHeader(CHAIN_ID, height, hashlib.sha256(b"prev").digest(),
                             merkle_root(leaves[:3]), hashlib.sha256(b"state").digest(),
                             Keypair.from_seed(seed(0)).public_key, timestamp,
                             hashlib.sha256(b"next validators").digest())
        headers.append({"header": {"chain_id": header.chain_id, "height": str(height),
                                   "prev_hash": header.prev_hash.hex(),
                                   "tx_root": header.tx_root.hex(),
                                   "state_root": header.state_root.hex(),
                                   "proposer": header.proposer.hex(),
                                   "timestamp_ms": str(timestamp),
                                   "next_validators_hash": header.next_validators_hash.hex()},
                        "bytes": encode(header.to_array()).hex(), "hash": header.hash.hex()})
    validators = [SigningKey(seed(10 + i)) for i in range(4)]
    digest = bytes.fromhex(str(headers[1]["hash"]))
    votes = [sign_vote(validators[i], CHAIN_ID.encode(), PHASE_COMMIT, 2, 10, digest, i)
             for i in (0, 2, 3)]
    cert = Certificate(PHASE_COMMIT, votes[0].view, votes[0].height, votes[0].digest,
                       tuple((vote.signer, vote.signature) for vote in votes))
    raw = encode_certificate(cert)
    return {"merkle": roots, "headers": headers, "certificate": {
        "chain_id": CHAIN_ID, "validators": [bytes(v.verify_key).hex() for v in validators],
        "height": 10, "block_hash": digest.hex(), "hex": raw.hex(),
        "hash": hashlib.sha256(raw).hexdigest(), "view": 2, "signers": [0, 2, 3],
        "vote_payload": vote_payload(CHAIN_ID.encode(), PHASE_COMMIT, 2, 10, digest).hex()}}


def amount_vectors() -> dict[str, Any]:
    texts = ["0", "1", "12.5", "0.000001", "999999999999.999999", " 3.10 ", "1000000000000"]
    bad = ["", "1.", ".5", "1.0000001", "-1", "1e3", "12,5", "99999999999999", "abc",
           "1000000000000.000001"]
    parsed = [{"text": t, "minor": str(parse_amount(t))} for t in texts]
    refused = []
    for text in bad:
        try:
            parse_amount(text)
        except AgoraError as exc:
            refused.append({"text": text, "reason": exc.code.reason})
    formatted = [{"minor": str(m), "text": format_amount(m)}
                 for m in (0, 1, 10, 12_500_000, 1_000_000, 10**18, -2_500_000, 123_456_789)]
    return {"parsed": parsed, "refused": refused, "formatted": formatted}


RPC_DOC = Path(__file__).resolve().parents[2] / "docs" / "RPC.md"


def rpc_methods() -> dict[str, dict[str, bool]]:
    """Each method of docs/RPC.md (checked against the node by tests/docs) with its params
    and whether each is required."""
    methods: dict[str, dict[str, bool]] = {}
    for section in RPC_DOC.read_text(encoding="utf-8").split("\n### ")[1:]:
        name = section.split("\n", 1)[0].strip()
        rows = re.findall(r"^\| `(\w+)` \| .*? \| (yes|no) \|", section, re.MULTILINE)
        methods[name] = {param: required == "yes" for param, required in rows}
    return methods


def blob_upload_vector() -> dict[str, Any]:
    """A listing picture's upload: its name, what the merchant signs, the headers."""
    picture = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
               b"\x08\x02\x00\x00\x00")
    keypair, chain_id, timestamp_ms = Keypair.from_seed(seed(7)), "agora-vectors", 1764781234567
    name = hashlib.sha256(picture).digest()
    return {"seed": seed(7).hex(), "chain_id": chain_id, "data": picture.hex(),
            "timestamp_ms": timestamp_ms, "name": name.hex(),
            "signing_bytes": upload_signing_bytes(chain_id, name, len(picture),
                                                  timestamp_ms).hex(),
            "headers": upload_headers(keypair, chain_id, picture, timestamp_ms)}


def vectors() -> dict[str, Any]:
    """Every vector, computed now."""
    statuses = {"order": [ORDER_STATUS_NAMES[k] for k in sorted(ORDER_STATUS_NAMES)],
                "merchant": [MERCHANT_STATUS_NAMES[k] for k in sorted(MERCHANT_STATUS_NAMES)]}
    return {"rpc_methods": rpc_methods(), "statuses": statuses,
            "codec": codec_vectors(), "keys": key_vectors(), "addresses": address_refusals(),
            "transactions": transaction_vectors(), "sealed": sealed_vectors(),
            "blocks": block_vectors(), "amounts": amount_vectors(),
            "blob_upload": blob_upload_vector()}


def _ts_spec(spec: dict[str, Any]) -> str:
    kind = spec["kind"]
    if kind == "int":
        high = "" if int(spec["max"]) == MAX_U64 else f", {spec['max']}n"
        return f"int({spec['min']}n{high})"
    if kind == "text":
        high = f", {spec['max']}" if "max" in spec else (", undefined" if "pattern" in spec
                                                         else "")
        pattern = f", {json.dumps(spec['pattern'])}" if "pattern" in spec else ""
        return f"text({spec['min']}{high}{pattern})"
    if kind == "bytes":
        return f"bytes({spec['min']}, {spec['max']})"
    if kind == "list":
        return (f'{{ kind: "list", min: {spec["min"]}, max: {spec["max"]}, '
                f"item: {_ts_spec(spec['item'])} }}")
    if kind == "choice":
        return f'{{ kind: "choice", choices: {json.dumps(spec["choices"])} }}'
    return '{ kind: "bool" }'


_TS_TYPES = {"int": "Int", "text": "string", "bytes": "Uint8Array", "bool": "boolean"}


def ts_bodies(types: list[str]) -> str:
    """TypeScript for web/sdk/src/bodies.ts: the BODY_FIELDS rows and Bodies entries of
    `types`, from the node's models (a 20-byte `to`/`merchant`-like field is written as
    bytes: make it `{ kind: "address" }` and `AddressLike` if it is an address)."""
    rows, entries = [], []
    for type_name in types:
        fields = []
        members = []
        for name, info in BODY_TYPES[type_name].model_fields.items():
            spec = spec_of(info.annotation, list(info.metadata))
            default = "" if info.is_required() else (
                f", {json.dumps(info.default)}" if isinstance(info.default, (str, int))
                else ", new Uint8Array(0)")
            fields.append(f'f("{name}", {_ts_spec(spec)}{default})')
            kind = spec["kind"]
            ts_type = (" | ".join(json.dumps(c) for c in spec["choices"]) if kind == "choice"
                       else f"readonly {_TS_TYPES[spec['item']['kind']]}[]" if kind == "list"
                       else _TS_TYPES[kind])
            members.append(f"{name}{'' if info.is_required() else '?'}: {ts_type}")
        rows.append(f"  {type_name}: [{', '.join(fields)}],")
        entries.append(f"  {type_name}: {{ {'; '.join(members)} }};" if members
                       else f"  {type_name}: Record<never, never>;")
    return "\n".join(["// BODY_FIELDS rows:", *rows, "// Bodies entries:", *entries,
                      "// and each name in fieldNamesMatch"])


def main(argv: list[str]) -> int:
    """Write the vectors to the file named by the one argument; with `--ts-bodies TYPE...`,
    print the TypeScript that adds those body types to the SDK instead."""
    if argv[:1] == ["--ts-bodies"]:
        print(ts_bodies(argv[1:] or sorted(BODY_TYPES)))
        return 0
    if len(argv) != 1:
        print("usage: python -m tests.web.make_vectors OUT.json | --ts-bodies [TYPE...]",
              file=sys.stderr)
        return 2
    Path(argv[0]).write_text(json.dumps(vectors(), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
