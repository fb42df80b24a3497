"""`agora tx profile-set | profile-disclose | profile-revoke | follow | unfollow`.

The profile commands read the sender's current profile from the node, change it locally
with `client.profiles.ProfileDraft` (every private field is sealed to the sender's own key
as well, so a later disclosure reseals it from the chain), and send the whole new version
as one `profile_set`. A recipient is named by `--to` (an agora1... address of a merchant,
or a key name of the local keyring: either gives its public key), by `--to-key` (the
64-hex public key of any account), or by `--order` (the merchant of that order).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.chain_client import connected
from cli.keys import open_keyring
from cli.tx import Common, tx_command, usage
from client.profiles import ProfileDraft
from client.rpc import RpcCallError
from commerce.address import address_of, to_text
from commerce.errors import AgoraError
from commerce.follows import Follow, Unfollow
from commerce.keys import PUBLIC_KEY_BYTES
from commerce.limits import AVATAR_HASH_BYTES
from commerce.profiles import ProfileSet

FieldOpt = Annotated[str, typer.Option("--field", help="Private field name, e.g. address.")]
ToOpt = Annotated[list[str] | None, typer.Option(
    "--to", help="Recipient: a merchant's agora1... address or a key name (repeatable).")]
ToKeyOpt = Annotated[list[str] | None, typer.Option(
    "--to-key", help="Recipient's public key, 64 hex characters (repeatable).")]
OrderToOpt = Annotated[int | None, typer.Option(
    "--order", min=1, help="Disclose to the merchant of this order.")]
AccountOpt = Annotated[str, typer.Option(
    "--account", help="The account: agora1... address or a key name.")]


def current_profile(opts: Common, address: str) -> dict[str, Any] | None:
    """The account's current profile, or None if it never set one."""
    with connected(opts.url) as client:
        try:
            found: dict[str, Any] = client.call("state_getProfile", address=address)
        except RpcCallError as exc:
            if exc.reason != "not_found":
                raise
            return None
    return found


def recipient_key(opts: Common, text: str) -> bytes:
    """The public key of a recipient named by a key name or a merchant's address."""
    if not text.startswith("agora1"):
        keyring = open_keyring(opts.keyring_dir, opts.home, opts.keyring_backend)
        try:
            return bytes.fromhex(keyring.show(text).public_key)
        except AgoraError:
            pass
    address = to_text(opts.address(text))
    with connected(opts.url) as client:
        try:
            merchant = client.call("state_getMerchant", address=address)
        except RpcCallError as exc:
            if exc.reason != "not_found":
                raise
            usage(f"--to {text}: no public key known for it (not a merchant, not a key of "
                  "your keyring); give its key with --to-key HEX")
    return bytes.fromhex(str(merchant["public_key"]))


def recipient_keys(opts: Common, to: list[str] | None, to_key: list[str] | None,
                   order: int | None = None) -> list[bytes]:
    """Every recipient's public key, from --to, --to-key and --order."""
    keys = [recipient_key(opts, text) for text in to or []]
    for text in to_key or []:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != PUBLIC_KEY_BYTES:
            usage(f"--to-key {text!r} is not a public key of {PUBLIC_KEY_BYTES * 2} hex "
                  "characters")
        keys.append(key)
    if order is not None:
        merchant = opts.call("state_getOrder", id=order)["merchant"]
        keys.append(recipient_key(opts, str(merchant)))
    return keys


def _draft(opts: Common) -> tuple[Any, ProfileDraft]:
    keypair = opts.signer.keypair()
    me = to_text(address_of(keypair.public_key))
    return keypair, ProfileDraft.from_json(current_profile(opts, me))


@tx_command("profile-set")
def profile_set(
    opts: Common, *,
    name: Annotated[str | None, typer.Option(
        "--name", help="Display name (up to 64 characters) [default: unchanged].",
        show_default=False)] = None,
    avatar: Annotated[str | None, typer.Option(
        help="SHA-256 of the avatar picture, 64 hex characters ('' for none) "
        "[default: unchanged].", show_default=False)] = None,
    bio: Annotated[str | None, typer.Option(
        help="Bio (up to 280 characters) [default: unchanged].", show_default=False)] = None,
    field: Annotated[list[str] | None, typer.Option(
        "--field", help="A private field as name=value, sealed to you and to each --to / "
        "--to-key (repeatable; replaces the field's earlier copies).")] = None,
    remove: Annotated[list[str] | None, typer.Option(
        "--remove-field", help="Drop a private field from the new version (repeatable).")
    ] = None,
    to: ToOpt = None,
    to_key: ToKeyOpt = None,
) -> ProfileSet:
    """Set your profile: a new version (the fields you do not name stay as they are)."""
    keypair, draft = _draft(opts)
    if name is not None:
        draft.display_name = name
    if bio is not None:
        draft.bio = bio
    if avatar is not None:
        try:
            digest = bytes.fromhex(avatar)
        except ValueError:
            digest = b"?"
        if len(digest) not in (0, AVATAR_HASH_BYTES):
            usage(f"--avatar {avatar!r} is not a SHA-256 of 64 hex characters")
        draft.avatar = digest
    for dropped in remove or []:
        draft.remove_field(dropped)
    keys = recipient_keys(opts, to, to_key)
    for item in field or []:
        field_name, sep, value = item.partition("=")
        if not sep:
            usage(f"--field {item!r} is not name=value")
        draft.set_field(keypair, field_name, value, keys)
    if keys and not field:
        usage("--to and --to-key name recipients of the --field values given; to disclose "
              "a field you set before, use `agora tx profile-disclose`")
    return draft.body()


@tx_command("profile-disclose")
def profile_disclose(opts: Common, *, field: FieldOpt, to: ToOpt = None,
                     to_key: ToKeyOpt = None, order: OrderToOpt = None) -> ProfileSet:
    """Disclose one private field to more recipients (e.g. the merchant of an order)."""
    keypair, draft = _draft(opts)
    keys = recipient_keys(opts, to, to_key, order)
    if not keys:
        usage("name a recipient with --to, --to-key or --order")
    for key in keys:
        draft.disclose(keypair, field, key)
    return draft.body()


@tx_command("profile-revoke")
def profile_revoke(opts: Common, *, field: FieldOpt,
                   to: Annotated[list[str], typer.Option(
                       "--to", help="The recipient's agora1... address or key name "
                       "(repeatable).")]) -> ProfileSet:
    """Leave recipients out of the next version (what they were given stays on chain)."""
    _, draft = _draft(opts)
    for text in to:
        draft.revoke(field, opts.address(text))
    return draft.body()


@tx_command("follow")
def follow(opts: Common, *, account: AccountOpt) -> Follow:
    """Follow a merchant or an account: its new listings, price changes, reviews, shares and
    team openings come into your feed."""
    return Follow(account=opts.address(account))


@tx_command("unfollow")
def unfollow(opts: Common, *, account: AccountOpt) -> Unfollow:
    """Stop following an account."""
    return Unfollow(account=opts.address(account))
