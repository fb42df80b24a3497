"""Refusals of the client side (the keyring), in one table.

These errors stay on the caller's machine: they are never sent over JSON-RPC. A node's
refusal reaches a client as `client.rpc.RpcCallError` with the node's reason instead.
`bad_key` and `bad_config` carry the number the node gives the same reasons (the client
does not import the node), so that a name always means one number.
"""

from __future__ import annotations

from commerce.errors import AgoraError, CodeTable, check_table


class ClientErrorCode(CodeTable):
    """Why the keyring refused."""

    BAD_CONFIG = ("bad_config", -32052, "the keyring backend is not file or test")
    BAD_KEY = ("bad_key", -32053, "a key file is missing, malformed or does not match")
    KEY_EXISTS = ("key_exists", -32063, "the keyring already holds a key of that name")
    KEY_NOT_FOUND = ("key_not_found", -32064, "the keyring holds no key of that name")


check_table(ClientErrorCode, (-32064, -32052))


class ClientError(AgoraError):
    """The keyring cannot do what was asked (no such key, wrong passphrase, bad record...)."""
