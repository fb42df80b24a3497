"""Signed transactions: the envelope, the registry of body types and their canonical bytes.

Wire form (canonical msgpack): ``[chain_id, sender_public_key, nonce, type, body, signature]``
where ``body`` is the body model's fields as an array in declaration order. The signature
covers ``[TX_DOMAIN, chain_id, sender_public_key, nonce, type, body]``. The transaction id
is SHA-256 of the whole wire form. Body types register themselves with `register_body`; a
later module only adds bodies and rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar, NamedTuple, NewType, Self, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict

from commerce.address import Address, address_of
from commerce.encoding import decode, encode, sha256
from commerce.errors import ErrorCode, ValidationError
from commerce.keys import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, Keypair, verify, verify_signed
from commerce.limits import MAX_CHAIN_ID_CHARS, MAX_NONCE, MAX_TX_BYTES

TxId = NewType("TxId", bytes)
TX_DOMAIN = "agora/tx/v1"


class TxBody(BaseModel):
    """Base of every transaction body: a frozen, strict model with a `TYPE` tag.

    Subclasses declare only primitive fields (int, str, bytes, bool, None, lists of those)
    with explicit limits; their declaration order is their wire order.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")
    TYPE: ClassVar[str] = ""

    def to_array(self) -> list[Any]:
        """The body's fields as a list in declaration order."""
        return [getattr(self, name) for name in type(self).model_fields]

    @classmethod
    def from_array(cls, values: Any) -> Self:
        """Validate a decoded array into the body; raises ValidationError naming the field."""
        decoder = _DECODERS.get(cls)
        if decoder is None:
            decoder = _body_decoder(cls)
        count, build, validate = decoder
        if not isinstance(values, list) or len(values) != count:
            raise ValidationError(ErrorCode.MALFORMED, f"{cls.TYPE} body needs {count} fields")
        try:
            # What `model_validate` runs, without its per-call wrapper (the decode path
            # builds one body per transaction; ~40% of the body's cost was the wrapper and
            # the `model_fields` lookup), on the fields by name.
            return validate(build(values))  # type: ignore[no-any-return]
        except pydantic.ValidationError as exc:
            raise validation_error_from(exc, cls.TYPE) from exc


_BodyDecoder = tuple[int, Callable[[list[Any]], dict[str, Any]], Callable[[Any], Any]]
_DECODERS: dict[type[TxBody], _BodyDecoder] = {}  # per body type: field count, builder,
# validator


def _body_decoder(cls: type[TxBody]) -> _BodyDecoder:
    """The field count, the dict builder and the validator of a body type (kept once the
    model is complete)."""
    names = tuple(cls.model_fields)
    decoder = (len(names), _dict_builder(names), cls.__pydantic_validator__.validate_python)
    if cls.__pydantic_complete__:
        _DECODERS[cls] = decoder
    return decoder


def _dict_builder(names: tuple[str, ...]) -> Callable[[list[Any]], dict[str, Any]]:
    """A function making ``{names[0]: values[0], ...}`` of a list of exactly `len(names)`
    values. Generated, as `dataclasses` generates `__init__`: a dict display with constant
    keys costs half of `dict(zip(names, values))`, and every decoded transaction builds one.
    """
    assert all(name.isidentifier() for name in names), "field names are identifiers"
    if not names:
        return lambda values: {}
    targets = "".join(f"_{index}, " for index in range(len(names)))
    items = ", ".join(f"{name!r}: _{index}" for index, name in enumerate(names))
    namespace: dict[str, Any] = {}
    exec(f"def build(values):\n    {targets}= values\n    return {{{items}}}\n",
         namespace)
    build: Callable[[list[Any]], dict[str, Any]] = namespace["build"]
    return build


def validation_error_from(exc: pydantic.ValidationError, where: str) -> ValidationError:
    """Turn pydantic's report into one ValidationError naming the first bad field."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or "value"
    kind = str(first.get("type", ""))
    too_long = kind in ("string_too_long", "bytes_too_long", "too_long")
    out_of_range = kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than")
    code = ErrorCode.FIELD_INVALID
    if too_long:
        code = ErrorCode.FIELD_TOO_LONG
    elif out_of_range and "amount" in field:
        code = ErrorCode.AMOUNT_OUT_OF_RANGE
    message = str(first.get("msg", "invalid")).splitlines()[0]
    return ValidationError(code, f"{where}.{field}: {message}")


_Body = TypeVar("_Body", bound=type[TxBody])
BODY_TYPES: dict[str, type[TxBody]] = {}


def register_body(cls: _Body) -> _Body:
    """Class decorator: make a body type known to decoding (its TYPE must be unique)."""
    assert cls.TYPE, "a body type needs a TYPE tag"
    assert cls.TYPE not in BODY_TYPES, f"duplicate body type {cls.TYPE}"
    BODY_TYPES[cls.TYPE] = cls
    return cls


class _TransactionFields(NamedTuple):
    chain_id: str
    sender: bytes
    nonce: int
    body: TxBody
    signature: bytes
    raw: bytes
    tx_id: TxId
    sender_address: Address


class Transaction(_TransactionFields):
    """A decoded, well-formed transaction. Build with `sign_tx` or `decode_tx`.

    Well-formed does not mean valid: `verify_signature` and the state machine decide that.
    Immutable: a tuple underneath (built by one C call on the decode path, where a frozen
    dataclass set its eight fields one `object.__setattr__` at a time, ~4x the cost), with
    `sender_address` computed from `sender` when it is built.
    """

    __slots__ = ()

    def __new__(cls, chain_id: str, sender: bytes, nonce: int, body: TxBody, signature: bytes,
                raw: bytes, tx_id: TxId) -> Transaction:
        # Cached: every rule asks for the sender's address, and it costs a SHA-256 (and
        # senders repeat, so the addresses of recent ones are remembered).
        return _new_tuple(cls, (chain_id, sender, nonce, body, signature, raw, tx_id,
                                _sender_address(sender)))

    @property
    def type(self) -> str:
        """The body's type tag."""
        return self.body.TYPE

    def signing_bytes(self) -> bytes:
        """The bytes the signature covers."""
        return _signing_bytes(self.chain_id, self.sender, self.nonce, self.body)

    def verify_signature(self) -> bool:
        """True when the signature is the sender's over `signing_bytes`.

        The wire bytes are canonical ``[chain_id, sender, nonce, type, body, signature]``
        and the signed message is ``[TX_DOMAIN, chain_id, sender, nonce, type, body]``, so
        the message is the domain tag spliced into the wire bytes: no re-encoding of the
        body. Bytes not in exactly that shape take the general path.
        """
        raw = self.raw
        signature = self.signature
        if raw[:1] == _ARRAY6 and raw[-66:-64] == _SIGNATURE_BIN8 and raw[-64:] == signature:
            # The signature, then the message, built at once (libsodium's order).
            return verify_signed(self.sender,
                                 b"".join((signature, _SIGNED_PREFIX, raw[1:-66])))
        return verify(self.sender, self.signing_bytes(), signature)


_new_tuple = tuple.__new__
_sha256 = hashlib.sha256  # `encoding.sha256` without its call, on the decode path
SENDER_ADDRESS_CACHE = 65_536  # public keys whose address is remembered
_sender_address = lru_cache(maxsize=SENDER_ADDRESS_CACHE)(address_of)
_ARRAY6 = b"\x96"  # msgpack fixarray of 6 items: the wire form and the signed form
_SIGNED_PREFIX = _ARRAY6 + encode(TX_DOMAIN)
_SIGNATURE_BIN8 = b"\xc4\x40"  # msgpack bin8 header of 64 bytes


def _signing_bytes(chain_id: str, sender: bytes, nonce: int, body: TxBody) -> bytes:
    return encode([TX_DOMAIN, chain_id, sender, nonce, body.TYPE, body.to_array()])


def sign_tx(keypair: Keypair, chain_id: str, nonce: int, body: TxBody) -> Transaction:
    """Sign `body` as the next transaction of `keypair` with `nonce`."""
    _check_envelope(chain_id, keypair.public_key, nonce)
    signature = keypair.sign(_signing_bytes(chain_id, keypair.public_key, nonce, body))
    raw = encode([chain_id, keypair.public_key, nonce, body.TYPE, body.to_array(), signature])
    if len(raw) > MAX_TX_BYTES:
        raise ValidationError(ErrorCode.TOO_LARGE, f"transaction is {len(raw)} bytes")
    return Transaction(chain_id, keypair.public_key, nonce, body, signature, raw, TxId(sha256(raw)))


def decode_tx(raw: bytes, *, tx_id: bytes | None = None) -> Transaction:
    """Decode canonical wire bytes; raises ValidationError (malformed, non_canonical, ...).

    Checks form only: the caller checks the signature and the chain id. `tx_id`: SHA-256
    of `raw` when the caller hashed it already (it is not hashed again); omit otherwise.
    """
    if len(raw) > MAX_TX_BYTES:
        raise ValidationError(ErrorCode.TOO_LARGE, f"transaction is {len(raw)} bytes")
    raw = bytes(raw)
    # Every leaf's exact type is checked below (the envelope here, the body by its strict
    # model: no float, no nesting beyond a declared list), so decode skips its own walk.
    value = decode(raw, max_bytes=MAX_TX_BYTES, check_leaves=False)
    if type(value) is list and len(value) == 6:
        chain_id, sender, nonce, type_tag, body_array, signature = value
        # The envelope of a well-formed transaction in one test of exact types (msgpack
        # builds exactly these; a bool is not an int here) and ranges; anything else takes
        # the checks in order below, which name the first problem.
        if type(chain_id) is str and type(sender) is bytes and type(nonce) is int \
                and type(type_tag) is str and type(signature) is bytes \
                and len(signature) == SIGNATURE_BYTES and len(sender) == PUBLIC_KEY_BYTES \
                and 1 <= len(chain_id) <= MAX_CHAIN_ID_CHARS and 0 <= nonce <= MAX_NONCE:
            body_type = BODY_TYPES.get(type_tag)
            if body_type is not None:
                body = body_type.from_array(body_array)
                return _new_tuple(Transaction, (
                    chain_id, sender, nonce, body, signature, raw,
                    TxId(_sha256(raw).digest() if tx_id is None else tx_id),
                    _sender_address(sender)))
    return _decode_tx_checked(value, raw, tx_id)


def _decode_tx_checked(value: Any, raw: bytes, tx_id: bytes | None) -> Transaction:
    """`decode_tx` past the decode, every check in order: raises the first problem."""
    if not isinstance(value, list) or len(value) != 6:
        raise ValidationError(ErrorCode.MALFORMED, "a transaction is an array of 6 fields")
    chain_id, sender, nonce, type_tag, body_array, signature = value
    if not isinstance(chain_id, str) or not isinstance(sender, bytes):
        raise ValidationError(ErrorCode.MALFORMED, "chain_id must be text, sender bytes")
    if not isinstance(nonce, int) or isinstance(nonce, bool) or not isinstance(type_tag, str):
        raise ValidationError(ErrorCode.MALFORMED, "nonce must be an integer, type text")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        raise ValidationError(ErrorCode.MALFORMED, f"signature must be {SIGNATURE_BYTES} bytes")
    _check_envelope(chain_id, sender, nonce)
    body_type = BODY_TYPES.get(type_tag)
    if body_type is None:
        raise ValidationError(ErrorCode.UNKNOWN_TYPE, f"unknown transaction type {type_tag!r}")
    body = body_type.from_array(body_array)
    return Transaction(chain_id, sender, nonce, body, signature, raw,
                       TxId(sha256(raw) if tx_id is None else tx_id))


def _check_envelope(chain_id: str, sender: bytes, nonce: int) -> None:
    if not 1 <= len(chain_id) <= MAX_CHAIN_ID_CHARS:
        raise ValidationError(ErrorCode.FIELD_TOO_LONG, "chain_id must be 1-64 characters")
    if len(sender) != PUBLIC_KEY_BYTES:
        raise ValidationError(ErrorCode.MALFORMED, f"sender key must be {PUBLIC_KEY_BYTES} bytes")
    if not 0 <= nonce <= MAX_NONCE:
        raise ValidationError(ErrorCode.FIELD_INVALID, "nonce out of range")
