"""Named account keys on disk: the keyring of `agora keys` and of SDK programs.

A keyring directory holds one subdirectory per backend, so an unencrypted test key is never
mistaken for an encrypted one::

    <keyring_dir>/file/<name>.json   backend "file": the seed encrypted with a passphrase
    <keyring_dir>/test/<name>.json   backend "test": the seed in clear (devnets only)

Each record keeps the name, public key and address in clear, so `list` and `show` need no
passphrase. The "file" backend derives a 32-byte key from the passphrase with Argon2id
(libsodium via PyNaCl, a random 16-byte salt per key) and seals the seed with
XSalsa20-Poly1305 (`nacl.secret.SecretBox`). The Argon2id cost is libsodium's MODERATE
preset (3 passes, 256 MiB, about 0.7 s on a laptop): unlocking a wallet key is rare and a
person waits for it anyway, and an offline guesser pays that price per guess. The cost is
stored in each record, so records written with another preset (tests use INTERACTIVE) still
open. A wrong passphrase and a tampered record both fail the MAC: ClientError(bad_key).

A new passphrase (one that seals a new record of the file backend: `add`, `import_*`) must
have at least `MIN_PASSPHRASE_CHARS` characters and more than one distinct character; an
empty, blank or trivial one is refused with bad_key before anything is written. Argon2id
makes each guess slow, but no cost saves a passphrase that is one of a few thousand
guesses. Existing records open with whatever passphrase sealed them, and the test backend
takes none.

`export_armored` wraps the seed the same way in ASCII armor for moving a key between
keyrings; `export_seed_hex` returns the raw seed and is for callers that asked explicitly.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from client.errors import ClientError, ClientErrorCode
from commerce.address import address_of, to_text
from commerce.keys import SEED_BYTES, Keypair

Backend = Literal["file", "test"]
BACKENDS: tuple[Backend, ...] = ("file", "test")
KEY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_KEY_RECORD_BYTES = 16 * 1024
MAX_KEYS = 10_000
MAX_CIPHERTEXT_HEX_CHARS = 1024  # a sealed seed and its box overhead, in hex
MIN_PASSPHRASE_CHARS = 8  # a new file-backend passphrase, in characters (code points)
RECORD_VERSION = 1
ARMOR_BEGIN = "-----BEGIN AGORA PRIVATE KEY-----"
ARMOR_END = "-----END AGORA PRIVATE KEY-----"

KDF_MODERATE = (nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE)
KDF_INTERACTIVE = (
    nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE,
    nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE,
)
# Limits accepted when reading a record: a crafted record must not ask for a huge cost.
_KDF_MAX_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE
_KDF_MAX_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE
TEST_BACKEND_WARNING = (
    "warning: keyring backend 'test' stores keys UNENCRYPTED on disk; use it for devnets only"
)


def default_keyring_dir() -> Path:
    """$AGORA_HOME/keyring if AGORA_HOME is set, else ~/.agora/keyring."""
    env = os.environ.get("AGORA_HOME")
    return (Path(env).expanduser() if env else Path.home() / ".agora") / "keyring"


@dataclass(frozen=True)
class KeyInfo:
    """The public side of a stored key."""

    name: str
    address: str
    public_key: str
    backend: Backend

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict of the fields."""
        return {
            "name": self.name,
            "address": self.address,
            "public_key": self.public_key,
            "backend": self.backend,
        }


class Keyring:
    """The keys of one backend in one keyring directory.

    Methods raise ClientError: key_exists, key_not_found, bad_key (wrong passphrase, tampered
    or malformed record, bad seed or armor); and OSError when the disk fails.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        backend: Backend = "file",
        *,
        kdf_limits: tuple[int, int] = KDF_MODERATE,
    ) -> None:
        if backend not in BACKENDS:
            raise ClientError(
                ClientErrorCode.BAD_CONFIG, f"keyring backend {backend!r} is not file or test"
            )
        root = Path(directory).expanduser() if directory is not None else default_keyring_dir()
        self.backend: Backend = backend
        self.directory = root / backend
        self.kdf_limits = kdf_limits

    @property
    def encrypted(self) -> bool:
        """Whether keys are encrypted at rest (False for the test backend)."""
        return self.backend == "file"

    def add(
        self, name: str, *, passphrase: str | None = None, seed: bytes | None = None
    ) -> KeyInfo:
        """Store a new key (random, or from a 32-byte `seed`); `passphrase` is required by
        the file backend. Raises key_exists when the name is taken."""
        _check_name(name)
        self._check_new_passphrase(passphrase)
        if seed is not None and len(seed) != SEED_BYTES:
            raise ClientError(
                ClientErrorCode.BAD_KEY, f"a seed is {SEED_BYTES} bytes (64 hex digits)"
            )
        keypair = Keypair.from_seed(seed) if seed is not None else Keypair.generate()
        return self._store(name, keypair, passphrase)

    def list(self) -> list[KeyInfo]:
        """Every key, sorted by name."""
        if not self.directory.is_dir():
            return []
        names = sorted(p.name[: -len(".json")] for p in self.directory.glob("*.json"))
        return [self.show(name) for name in names[:MAX_KEYS] if KEY_NAME_RE.match(name)]

    def show(self, name: str) -> KeyInfo:
        """The public side of key `name`; raises key_not_found."""
        record = self._read(name)
        return KeyInfo(name, record["address"], record["public_key"], self.backend)

    def delete(self, name: str) -> KeyInfo:
        """Remove key `name` and return what it was; raises key_not_found."""
        info = self.show(name)
        self._path(name).unlink()
        return info

    def keypair(self, name: str, *, passphrase: str | None = None) -> Keypair:
        """The signing keypair of `name`; the file backend needs the right passphrase."""
        record = self._read(name)
        if self.backend == "test":
            seed = _hex(record.get("seed"), SEED_BYTES, f"key {name!r}: seed")
        else:
            seed = _open(record, _need(passphrase), f"key {name!r}")
        keypair = Keypair.from_seed(seed)
        if keypair.public_key.hex() != record["public_key"]:
            raise ClientError(ClientErrorCode.BAD_KEY, f"key {name!r}: public key does not match")
        return keypair

    def export_seed_hex(self, name: str, *, passphrase: str | None = None) -> str:
        """The raw seed as hex: anyone who sees it controls the account."""
        return self.keypair(name, passphrase=passphrase).seed.hex()

    def export_armored(self, name: str, *, passphrase: str) -> str:
        """The key sealed with `passphrase` in ASCII armor; for the file backend the same
        passphrase must also unlock the stored key."""
        keypair = self.keypair(name, passphrase=passphrase)
        body = _seal(keypair.seed, passphrase, self.kdf_limits)
        body.update(name=name, public_key=keypair.public_key.hex())
        encoded = base64.b64encode(json.dumps(body, sort_keys=True).encode()).decode()
        lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
        return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"

    def import_armored(self, name: str, armored: str, *, passphrase: str) -> KeyInfo:
        """Store the key of `armored` text under `name`; `passphrase` opens the armor and, for
        the file backend, encrypts the stored key."""
        _check_name(name)
        self._check_new_passphrase(passphrase)
        body = _parse_armor(armored)
        seed = _open(body, passphrase, "armored key")
        return self._store(name, Keypair.from_seed(seed), passphrase)

    def import_seed_hex(
        self, name: str, seed_hex: str, *, passphrase: str | None = None
    ) -> KeyInfo:
        """Store a key from its 64-hex-digit seed."""
        return self.add(
            name, passphrase=passphrase, seed=_hex(seed_hex.strip(), SEED_BYTES, "seed")
        )

    def _check_new_passphrase(self, passphrase: str | None) -> None:
        """For the file backend, refuse a passphrase too weak to seal a new key (bad_key)."""
        if self.encrypted:
            check_new_passphrase(passphrase)

    def _store(self, name: str, keypair: Keypair, passphrase: str | None) -> KeyInfo:
        _check_name(name)
        path = self._path(name)
        if path.exists():
            raise ClientError(ClientErrorCode.KEY_EXISTS, f"a key named {name!r} already exists")
        record: dict[str, Any] = {
            "version": RECORD_VERSION,
            "name": name,
            "type": "ed25519",
            "public_key": keypair.public_key.hex(),
            "address": to_text(address_of(keypair.public_key)),
        }
        if self.backend == "test":
            record["seed"] = keypair.seed.hex()
        else:
            record.update(_seal(keypair.seed, _need(passphrase), self.kdf_limits))
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = (json.dumps(record, indent=2) + "\n").encode()
        # O_EXCL: two concurrent adds of one name cannot both succeed.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ClientError(
                ClientErrorCode.KEY_EXISTS, f"a key named {name!r} already exists"
            ) from None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        info = self.show(name)
        assert info.public_key == keypair.public_key.hex(), "stored key reads back"
        return info

    def _path(self, name: str) -> Path:
        _check_name(name)
        return self.directory / f"{name}.json"

    def _read(self, name: str) -> dict[str, Any]:
        path = self._path(name)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_KEY_RECORD_BYTES + 1)
        except FileNotFoundError:
            raise ClientError(
                ClientErrorCode.KEY_NOT_FOUND,
                f"no key named {name!r} in the {self.backend} keyring at {self.directory}",
            ) from None
        try:
            record = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's limit
            raise ClientError(
                ClientErrorCode.BAD_KEY, f"key {name!r}: record is not JSON"
            ) from None
        if not isinstance(record, dict) or len(data) > MAX_KEY_RECORD_BYTES:
            raise ClientError(ClientErrorCode.BAD_KEY, f"key {name!r}: malformed record")
        public_key = _hex(record.get("public_key"), 32, f"key {name!r}: public_key")
        if record.get("address") != to_text(address_of(public_key)):
            raise ClientError(ClientErrorCode.BAD_KEY, f"key {name!r}: address does not match")
        return record


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not KEY_NAME_RE.match(name):
        raise ClientError(
            ClientErrorCode.BAD_KEY,
            f"key name {name!r}: use 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit",
        )


def check_new_passphrase(passphrase: str | None) -> str:
    """`passphrase` if it may seal a new key; raises ClientError(bad_key) in one line if it is
    empty, blank, shorter than MIN_PASSPHRASE_CHARS or one character repeated."""
    value = _need(passphrase)
    if not value.strip():
        raise ClientError(ClientErrorCode.BAD_KEY, "the passphrase is only blanks")
    if len(value) < MIN_PASSPHRASE_CHARS:
        raise ClientError(
            ClientErrorCode.BAD_KEY,
            f"the passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters",
        )
    if len(set(value)) == 1:
        raise ClientError(ClientErrorCode.BAD_KEY, "the passphrase is one character repeated")
    return value


def _need(passphrase: str | None) -> str:
    if passphrase is None or passphrase == "":
        raise ClientError(ClientErrorCode.BAD_KEY, "the file keyring needs a non-empty passphrase")
    return passphrase


def _hex(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise ClientError(ClientErrorCode.BAD_KEY, f"{what}: must be {2 * size} hex digits")
    try:
        decoded = bytes.fromhex(value)
    except ValueError:
        raise ClientError(ClientErrorCode.BAD_KEY, f"{what}: not hex") from None
    if len(decoded) != size:  # `fromhex` skips spaces: "00 00 ..." is shorter than it looks
        raise ClientError(ClientErrorCode.BAD_KEY, f"{what}: must be {2 * size} hex digits")
    return decoded


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return bytes(
        nacl.pwhash.argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            passphrase.encode("utf-8"),
            salt,
            opslimit=opslimit,
            memlimit=memlimit,
        )
    )


def _seal(seed: bytes, passphrase: str, limits: tuple[int, int]) -> dict[str, Any]:
    """Fields of an encrypted seed: kdf, opslimit, memlimit, salt, ciphertext (hex)."""
    opslimit, memlimit = limits
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    return {
        "kdf": "argon2id",
        "opslimit": opslimit,
        "memlimit": memlimit,
        "salt": salt.hex(),
        "ciphertext": bytes(box.encrypt(seed)).hex(),
    }


def _open(record: dict[str, Any], passphrase: str, what: str) -> bytes:
    """The seed of `_seal` fields; raises bad_key on a wrong passphrase or a tampered record."""
    opslimit, memlimit = record.get("opslimit"), record.get("memlimit")
    if record.get("kdf") != "argon2id" or not isinstance(opslimit, int):
        raise ClientError(ClientErrorCode.BAD_KEY, f"{what}: not an argon2id-encrypted key")
    if not isinstance(memlimit, int) or isinstance(opslimit, bool) or isinstance(memlimit, bool):
        raise ClientError(ClientErrorCode.BAD_KEY, f"{what}: bad argon2id limits")
    if not (1 <= opslimit <= _KDF_MAX_OPSLIMIT and 8192 <= memlimit <= _KDF_MAX_MEMLIMIT):
        raise ClientError(ClientErrorCode.BAD_KEY, f"{what}: argon2id limits out of range")
    salt = _hex(record.get("salt"), nacl.pwhash.argon2id.SALTBYTES, f"{what}: salt")
    ciphertext = record.get("ciphertext")
    if not isinstance(ciphertext, str) or len(ciphertext) > MAX_CIPHERTEXT_HEX_CHARS:
        raise ClientError(ClientErrorCode.BAD_KEY, f"{what}: ciphertext: malformed")
    try:
        sealed = bytes.fromhex(ciphertext)
    except ValueError:
        raise ClientError(ClientErrorCode.BAD_KEY, f"{what}: ciphertext: not hex") from None
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    try:
        seed = bytes(box.decrypt(sealed))
    except nacl.exceptions.CryptoError:
        raise ClientError(
            ClientErrorCode.BAD_KEY, f"{what}: wrong passphrase (or the key file was altered)"
        ) from None
    if len(seed) != SEED_BYTES:
        raise ClientError(ClientErrorCode.BAD_KEY, f"{what}: decrypted seed has the wrong length")
    return seed


def _parse_armor(armored: str) -> dict[str, Any]:
    lines = [line.strip() for line in armored.strip().splitlines() if line.strip()]
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise ClientError(ClientErrorCode.BAD_KEY, f"armored key: expected {ARMOR_BEGIN} ... block")
    try:
        body = json.loads(base64.b64decode("".join(lines[1:-1]), validate=True))
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's limit
        raise ClientError(
            ClientErrorCode.BAD_KEY, "armored key: body is not valid base64 JSON"
        ) from None
    if not isinstance(body, dict):
        raise ClientError(ClientErrorCode.BAD_KEY, "armored key: body is not an object")
    return body
