"""Ed25519 keys and signatures (PyNaCl), and the sealing of private notes with X25519."""

from __future__ import annotations

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey, VerifyKey

from base.limits import PUBLIC_KEY_BYTES as PUBLIC_KEY_BYTES
from base.limits import SEED_BYTES as SEED_BYTES
from base.limits import SIGNATURE_BYTES as SIGNATURE_BYTES
from commerce.errors import ErrorCode, ValidationError


class Keypair:
    """An Ed25519 signing key with its public key; build with `generate` or `from_seed`."""

    __slots__ = ("_signing", "public_key")

    def __init__(self, signing: SigningKey) -> None:
        self._signing = signing
        self.public_key: bytes = bytes(signing.verify_key)

    @classmethod
    def generate(cls) -> Keypair:
        """A fresh random keypair."""
        return cls(SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Keypair:
        """The keypair of a 32-byte seed; raises ValidationError for another length."""
        if len(seed) != SEED_BYTES:
            raise ValidationError(ErrorCode.FIELD_INVALID, f"a key seed is {SEED_BYTES} bytes")
        return cls(SigningKey(seed))

    @property
    def seed(self) -> bytes:
        """The 32-byte secret seed."""
        return bytes(self._signing)

    @property
    def signing_key(self) -> SigningKey:
        """The PyNaCl signing key (for consensus and P2P identities)."""
        return self._signing

    def sign(self, message: bytes) -> bytes:
        """The 64-byte detached signature of `message`."""
        return bytes(self._signing.sign(message).signature)

    def unseal(self, sealed: bytes) -> bytes:
        """Open a note sealed to this key's X25519 form; raises ValidationError if it fails."""
        box = SealedBox(self._signing.to_curve25519_private_key())
        try:
            return bytes(box.decrypt(sealed))
        except CryptoError as exc:
            raise ValidationError(ErrorCode.FIELD_INVALID, "sealed note does not open") from exc


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature of `message` by `public_key`."""
    if len(signature) != SIGNATURE_BYTES:
        return False
    return verify_signed(public_key, signature + message)


def verify_signed(public_key: bytes, signed: bytes) -> bool:
    """`verify` of the 64-byte signature followed by the message, as libsodium takes them
    (a caller that has both in one buffer saves a copy)."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signed) < SIGNATURE_BYTES:
        return False
    try:
        # libsodium's crypto_sign_open through PyNaCl's binding: what VerifyKey.verify
        # runs, without building a key object per call.
        crypto_sign_open(signed, public_key)
    except (BadSignatureError, CryptoError, ValueError):
        return False
    return True


def seal(recipient_public_key: bytes, plaintext: bytes) -> bytes:
    """Encrypt `plaintext` so only the holder of the Ed25519 key can read it (X25519 box)."""
    try:
        curve = VerifyKey(recipient_public_key).to_curve25519_public_key()
    except (CryptoError, ValueError) as exc:
        raise ValidationError(ErrorCode.FIELD_INVALID, "not a valid Ed25519 public key") from exc
    return bytes(SealedBox(PublicKey(bytes(curve))).encrypt(plaintext))


def unseal_with(private_key: PrivateKey, sealed: bytes) -> bytes:
    """Open a sealed note with an X25519 private key; raises ValidationError if it fails."""
    try:
        return bytes(SealedBox(private_key).decrypt(sealed))
    except CryptoError as exc:
        raise ValidationError(ErrorCode.FIELD_INVALID, "sealed note does not open") from exc
