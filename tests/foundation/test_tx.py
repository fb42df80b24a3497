"""Signed transactions: the canonical envelope, its id, and every way decode_tx refuses bytes.

Method: sign real transfers, then rebuild their wire array with one field wrong at a time
(and at each limit exactly and one over) and check the code decode_tx raises.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from commerce.address import address_of
from commerce.encoding import decode, encode, sha256
from commerce.errors import ErrorCode, ValidationError
from commerce.keys import verify
from commerce.limits import (
    MAX_AMOUNT_MINOR,
    MAX_CHAIN_ID_CHARS,
    MAX_MEMO_CHARS,
    MAX_NONCE,
    MAX_POLL_OPTIONS,
    MAX_TX_BYTES,
)
from commerce.transfer import Transfer
from commerce.tx import (
    BODY_TYPES,
    TX_DOMAIN,
    Transaction,
    _decode_tx_checked,
    decode_tx,
    sign_tx,
)
from tests.foundation.workload import CHAIN_ID, make_keys, transfer

KEYS = make_keys(3)
TX = transfer(KEYS[0], KEYS[1], 5_000_000, 0, memo="hi")


def _wire(**changes: Any) -> bytes:
    fields = dict(zip(["chain_id", "sender", "nonce", "type", "body", "signature"],
                      decode(TX.raw), strict=True))
    fields.update(changes)
    return msgpack.packb(list(fields.values()), use_bin_type=True)


def _code(raw: bytes) -> ErrorCode:
    with pytest.raises(ValidationError) as info:
        decode_tx(raw)
    assert isinstance(info.value.code, ErrorCode)
    assert "\n" not in str(info.value)
    return info.value.code


def test_sign_tx_id_is_hash_of_wire_bytes() -> None:
    assert TX.tx_id == sha256(TX.raw)
    assert TX.type == "transfer"
    assert TX.sender_address == address_of(KEYS[0].public_key)


def test_sign_tx_signature_verifies() -> None:
    assert TX.verify_signature()
    assert TX.signing_bytes() == encode(
        [TX_DOMAIN, CHAIN_ID, KEYS[0].public_key, 0, "transfer", TX.body.to_array()])


def test_decode_tx_round_trips_signed_bytes() -> None:
    decoded = decode_tx(TX.raw)
    assert decoded == TX
    assert decoded.verify_signature()


def test_sign_tx_same_inputs_give_same_bytes() -> None:
    assert transfer(KEYS[0], KEYS[1], 5_000_000, 0, memo="hi").raw == TX.raw


def test_transfer_registered_in_body_types() -> None:
    assert BODY_TYPES["transfer"] is Transfer


@pytest.mark.parametrize("field", ["chain_id", "nonce", "body", "sender"])
def test_verify_signature_with_changed_field_is_false(field: str) -> None:
    other = {
        "chain_id": "other-chain", "nonce": 1, "sender": KEYS[2].public_key,
        "body": [address_of(KEYS[2].public_key), 5_000_000, "hi"],
    }[field]
    assert not decode_tx(_wire(**{field: other})).verify_signature()


def test_decode_tx_non_canonical_integer_is_refused() -> None:
    wide = bytearray(_wire())
    # The nonce 0 is the positive fixint 0x00 right after the 32-byte sender.
    at = wide.index(KEYS[0].public_key) + 32
    assert wide[at] == 0
    wide[at:at + 1] = b"\xcc\x00"
    assert _code(bytes(wide)) is ErrorCode.NON_CANONICAL


def test_decode_tx_legacy_str_for_bytes_is_refused() -> None:
    raw = msgpack.packb(decode(TX.raw), use_bin_type=False)
    assert _code(raw) in (ErrorCode.NON_CANONICAL, ErrorCode.MALFORMED)


@pytest.mark.parametrize("raw", [
    msgpack.packb([1, 2, 3]), msgpack.packb("tx"), msgpack.packb({"a": 1}), b"\xc1", b"",
])
def test_decode_tx_malformed_bytes_are_refused(raw: bytes) -> None:
    assert _code(raw) is ErrorCode.MALFORMED


@pytest.mark.parametrize(("changes", "code"), [
    ({"chain_id": 5}, ErrorCode.MALFORMED),
    ({"sender": "key"}, ErrorCode.MALFORMED),
    ({"sender": b"\x01" * 31}, ErrorCode.MALFORMED),
    ({"sender": b"\x01" * 33}, ErrorCode.MALFORMED),
    ({"nonce": True}, ErrorCode.MALFORMED),
    ({"nonce": -1}, ErrorCode.FIELD_INVALID),
    ({"nonce": 2**63}, ErrorCode.FIELD_INVALID),
    ({"type": 7}, ErrorCode.MALFORMED),
    ({"type": "mint_me"}, ErrorCode.UNKNOWN_TYPE),
    ({"signature": b"\x00" * 63}, ErrorCode.MALFORMED),
    ({"signature": None}, ErrorCode.MALFORMED),
    ({"chain_id": ""}, ErrorCode.FIELD_TOO_LONG),
    ({"chain_id": "c" * (MAX_CHAIN_ID_CHARS + 1)}, ErrorCode.FIELD_TOO_LONG),
    ({"body": "not-a-list"}, ErrorCode.MALFORMED),
    ({"body": [b"\x01" * 20, 5]}, ErrorCode.MALFORMED),
    ({"body": [b"\x01" * 20, 0, ""]}, ErrorCode.AMOUNT_OUT_OF_RANGE),
    ({"body": [b"\x01" * 20, MAX_AMOUNT_MINOR + 1, ""]}, ErrorCode.AMOUNT_OUT_OF_RANGE),
    ({"body": [b"\x01" * 20, -5, ""]}, ErrorCode.AMOUNT_OUT_OF_RANGE),
    ({"body": [b"\x01" * 20, True, ""]}, ErrorCode.FIELD_INVALID),
    ({"body": [b"\x01" * 20, "5", ""]}, ErrorCode.FIELD_INVALID),
    ({"body": [b"\x01" * 21, 5, ""]}, ErrorCode.FIELD_TOO_LONG),
    ({"body": [b"\x01" * 19, 5, ""]}, ErrorCode.FIELD_INVALID),
    ({"body": ["agora1xyz", 5, ""]}, ErrorCode.FIELD_INVALID),
    ({"body": [b"\x01" * 20, 5, "m" * (MAX_MEMO_CHARS + 1)]}, ErrorCode.FIELD_TOO_LONG),
])
def test_decode_tx_bad_field_is_refused_with_code(changes: dict[str, Any],
                                                  code: ErrorCode) -> None:
    assert _code(_wire(**changes)) is code


def test_decode_tx_list_over_its_item_limit_is_field_too_long() -> None:
    """A list field with one item past its limit (pydantic's `too_long`) is field_too_long
    and the message names the body field, like an over-long string."""
    options = [f"o{i}" for i in range(MAX_POLL_OPTIONS + 1)]
    raw = _wire(type="poll_create", body=["q", options, "marketplace", 0, False, 5])
    with pytest.raises(ValidationError) as info:
        decode_tx(raw)
    assert info.value.code is ErrorCode.FIELD_TOO_LONG
    assert "poll_create.options: " in str(info.value)


def test_decode_tx_memo_at_limit_is_accepted() -> None:
    tx = decode_tx(_wire(body=[b"\x01" * 20, 5, "m" * MAX_MEMO_CHARS]))
    assert isinstance(tx.body, Transfer)
    assert tx.body.memo == "m" * MAX_MEMO_CHARS


def test_decode_tx_chain_id_at_limit_is_accepted() -> None:
    assert decode_tx(_wire(chain_id="c" * MAX_CHAIN_ID_CHARS)).chain_id == "c" * 64


def test_decode_tx_amount_at_maximum_is_accepted() -> None:
    tx = decode_tx(_wire(body=[b"\x01" * 20, MAX_AMOUNT_MINOR, ""]))
    assert isinstance(tx.body, Transfer)
    assert tx.body.amount == MAX_AMOUNT_MINOR


def _padded(total: int) -> bytes:
    # A canonical array whose size is exactly `total` bytes (a bin32 pad in the body).
    for pad in range(total, 0, -1):
        raw = encode([CHAIN_ID, KEYS[0].public_key, 0, "transfer", [b"\x00" * pad], b"s" * 64])
        if len(raw) == total:
            return raw
    raise AssertionError("no padding gives that size")


def test_decode_tx_exactly_max_bytes_is_not_too_large() -> None:
    raw = _padded(MAX_TX_BYTES)
    assert len(raw) == MAX_TX_BYTES
    assert _code(raw) is ErrorCode.MALFORMED  # the size passes; the body is wrong


def test_decode_tx_one_byte_over_max_is_too_large() -> None:
    raw = _padded(MAX_TX_BYTES + 1)
    assert _code(raw) is ErrorCode.TOO_LARGE


def test_decode_tx_trailing_byte_is_refused() -> None:
    assert _code(TX.raw + b"\x00") is ErrorCode.MALFORMED


def test_sign_tx_chain_id_too_long_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        sign_tx(KEYS[0], "c" * 65, 0, Transfer(to=b"\x01" * 20, amount=1))
    assert info.value.code is ErrorCode.FIELD_TOO_LONG


def test_transfer_model_rejects_float_amount() -> None:
    with pytest.raises(Exception):  # noqa: B017  (pydantic's strict error)
        Transfer(to=b"\x01" * 20, amount=1.0)  # type: ignore[arg-type]


def _body_wire(type_tag: str, body: list[Any]) -> bytes:
    fields = decode(TX.raw)
    fields[3], fields[4] = type_tag, body
    return msgpack.packb(fields, use_bin_type=True)


_ODD_LEAVES = [1.5, [[b"\x00" * 32]], [1, [2]], None]
_HASH = b"\x07" * 32
# One valid body of every type (checked to decode before any field is spoiled).
_VALID_BODIES: dict[str, list[Any]] = {
    "comment": [1, 0, "hi"], "dispute_vote": [1, "release"],
    "listing_create": ["t", "d", "c", 100, 5, [_HASH], 100],
    "listing_delist": [1],
    "listing_media_set": [1, 1, [_HASH]],
    "listing_update": [1, 1, "t", "d", "c", 100, 5, [_HASH], 100],
    "merchant_register": ["m", "p"], "merchant_vote": [b"\x01" * 20, "approve"],
    "order_cancel": [1], "order_confirm": [1], "order_dispute": [1, "late"],
    "order_refund": [1], "order_ship": [1, b""],
    "poll_create": ["q", ["a", "b"], "merchant", 1, False, 10],
    "poll_vote": [1, 0], "purchase": [1, 1, 1, 0, b""], "review": [1, 5, "ok"],
    "review_reply": [1, "thanks"], "reward_claim": [], "share": [1],
    "transfer": [b"\x01" * 20, 1, ""],
    "validator_propose": ["add", b"\x02" * 32, "v9", "h:1", b"", "", 0, b""],
    "validator_vote": [1, "yes"], "validator_withdraw": [1],
    "team_offer_set": [1, 2, 100, 1, 5], "team_offer_end": [1],
    "team_open": [1, 1, 0, b""], "team_join": [1, 0, b""],
    "campaign_create": [0, 100, 0, 0, 0, 1, 1, 0, 10, 100], "campaign_close": [1],
    "coupon_purchase": [1, 1, 1, 0, b"", 1], "flash_sale_set": [1, 50, 1, 0, 10],
    "profile_set": [0, "Ann", _HASH, "bio", ["address"], [0], [b"\x01" * 20], [b"\x02" * 80]],
    "follow": [b"\x01" * 20], "unfollow": [b"\x01" * 20],
}


def test_valid_bodies_cover_every_type_and_decode() -> None:
    assert sorted(_VALID_BODIES) == sorted(BODY_TYPES)
    for type_tag, body in _VALID_BODIES.items():
        assert decode_tx(_body_wire(type_tag, body)).type == type_tag


@pytest.mark.parametrize("type_tag", sorted(BODY_TYPES))
def test_decode_tx_refuses_a_float_or_nesting_in_every_body_field(type_tag: str) -> None:
    """decode_tx relies on the envelope checks and the strict body models to refuse every
    leaf that is not of its field's exact type (it skips the generic leaf walk): a float,
    a nested list or None in any field of a valid body of any type is refused."""
    valid = _VALID_BODIES[type_tag]
    for index in range(len(valid)):
        for odd in _ODD_LEAVES:
            body = list(valid)
            body[index] = odd
            with pytest.raises(ValidationError):
                decode_tx(_body_wire(type_tag, body))
            if isinstance(valid[index], list) and valid[index]:
                body = list(valid)
                body[index] = [odd, *valid[index][1:]]  # inside a list field
                with pytest.raises(ValidationError):
                    decode_tx(_body_wire(type_tag, body))


@pytest.mark.parametrize("position", range(6))
def test_decode_tx_refuses_a_float_in_every_envelope_field(position: int) -> None:
    fields = decode(TX.raw)
    fields[position] = 1.5
    assert _code(msgpack.packb(fields, use_bin_type=True)) in (ErrorCode.MALFORMED,
                                                               ErrorCode.FIELD_INVALID)


# decode_tx checks a well-formed envelope in one test and falls back to the checks in order
# (`_decode_tx_checked`, the code before the fast path) for anything else: both must give
# the same transaction or the same error for every spoiled envelope field, alone and in
# pairs (where the order of the checks decides which error is named).
_ENVELOPE_ODD: dict[int, list[Any]] = {
    0: [None, True, 5, 1.5, b"chain", [CHAIN_ID], "", "c" * MAX_CHAIN_ID_CHARS,
        "c" * (MAX_CHAIN_ID_CHARS + 1), "other-chain"],
    1: [None, False, 5, "key", b"\x01" * 31, b"\x01" * 33, [KEYS[0].public_key], b""],
    2: [None, True, False, -1, MAX_NONCE, MAX_NONCE + 1, 2**64 - 1, -(2**63), 1.0, "0", b"\x00"],
    3: [None, 7, True, b"transfer", "mint_me", "", "Transfer", "comment"],
    4: [None, "x", 5, [], [b"\x01" * 20, 5], [b"\x01" * 20, 0, ""], [b"\x01" * 20, 5, 1.5]],
    5: [None, "s" * 64, b"\x00" * 63, b"\x00" * 65, b"", True, [b"\x00" * 64]],
}


def _outcome(raw: bytes, fast: bool) -> tuple[Any, ...]:
    try:
        if fast:
            tx = decode_tx(raw)
        else:
            tx = _decode_tx_checked(decode(raw, max_bytes=MAX_TX_BYTES, check_leaves=False),
                                    raw, None)
    except ValidationError as exc:
        return ("refused", exc.code, exc.message)
    return ("ok", tx)


def _spoiled_envelopes() -> list[list[Any]]:
    valid = decode(TX.raw)
    out = [valid]
    for position, odd_values in _ENVELOPE_ODD.items():
        for odd in odd_values:
            spoiled = list(valid)
            spoiled[position] = odd
            out.append(spoiled)
            for other, other_values in _ENVELOPE_ODD.items():
                if other > position:
                    pair = list(spoiled)
                    pair[other] = other_values[0]
                    out.append(pair)
                    pair = list(spoiled)
                    pair[other] = other_values[-1]
                    out.append(pair)
    return out


def test_decode_tx_fast_envelope_answers_as_the_ordered_checks() -> None:
    refused = 0
    for fields in _spoiled_envelopes():
        raw = msgpack.packb(fields, use_bin_type=True)
        fast = _outcome(raw, fast=True)
        assert fast == _outcome(raw, fast=False), fields
        refused += fast[0] == "refused"
    assert refused > 150


def test_decode_tx_with_the_callers_id_is_the_same_transaction() -> None:
    assert decode_tx(TX.raw, tx_id=sha256(TX.raw)) == decode_tx(TX.raw) == TX
    with pytest.raises(ValidationError) as info:
        decode_tx(_wire(nonce=-1), tx_id=sha256(_wire(nonce=-1)))
    assert info.value.code is ErrorCode.FIELD_INVALID


def test_transaction_is_immutable_and_knows_its_sender_address() -> None:
    with pytest.raises(AttributeError):
        TX.nonce = 5  # type: ignore[misc]
    built = Transaction(TX.chain_id, TX.sender, TX.nonce, TX.body, TX.signature, TX.raw,
                        TX.tx_id)
    assert built == TX and built.sender_address == address_of(KEYS[0].public_key)


def test_every_body_type_decodes_to_the_model_built_by_keyword() -> None:
    """`from_array` names the values with a generated dict builder: the body is the one
    pydantic builds from the same values by field name, for every type."""
    for type_tag, values in _VALID_BODIES.items():
        body_type = BODY_TYPES[type_tag]
        by_name = body_type.model_validate(dict(zip(body_type.model_fields, values,
                                                    strict=True)))
        decoded = body_type.from_array(list(values))
        assert decoded == by_name and decoded.to_array() == values, type_tag


def test_verify_signature_spliced_path_answers_as_the_general_one() -> None:
    """The signed message is spliced out of the wire bytes when they have the canonical
    shape; whatever the bytes, the answer is the general path's (`signing_bytes`)."""
    other_signature = bytes(64)
    cases = [
        TX,
        decode_tx(_wire(signature=other_signature)),
        decode_tx(_wire(nonce=1)),
        decode_tx(_wire(body=[address_of(KEYS[2].public_key), 5_000_000, "hi"])),
        Transaction(TX.chain_id, TX.sender, TX.nonce, TX.body, TX.signature,
                    TX.raw[:-1] + b"\x00", TX.tx_id),  # bytes not ending in the signature
        Transaction(TX.chain_id, TX.sender, TX.nonce, TX.body, TX.signature[:10],
                    TX.raw[:-54], TX.tx_id),  # a short signature the bytes end with
        Transaction(TX.chain_id, KEYS[1].public_key, TX.nonce, TX.body, TX.signature,
                    TX.raw, TX.tx_id),  # another sender
    ]
    answers = [tx.verify_signature() for tx in cases]
    assert answers == [verify(tx.sender, tx.signing_bytes(), tx.signature) for tx in cases]
    assert answers == [True, False, False, False, True, False, False]
