"""Errors of the node layer (home, store, mempool, RPC), numbered -32050..-32099."""

from __future__ import annotations

from base.errors import AgoraError, CodeTable, check_table


class NodeErrorCode(CodeTable):
    """Refusals by the node itself, as opposed to the state machine."""

    STORE_LOCKED = ("store_locked", -32050, "the data directory is in use or cannot be opened")
    WRONG_CHAIN_DATA = ("wrong_chain_data", -32051, "the data directory is another chain's")
    BAD_CONFIG = ("bad_config", -32052, "the node configuration is invalid")
    BAD_KEY = ("bad_key", -32053, "a key file is missing, malformed or does not match")
    MEMPOOL_FULL = ("mempool_full", -32054, "the mempool is at its limit; retry later")
    ACCOUNT_QUOTA = ("account_quota", -32055, "the sender has too many pending transactions")
    NONCE_TOO_FAR = ("nonce_too_far", -32056, "the nonce is too far ahead of the account's")
    DUPLICATE_TX = ("duplicate_tx", -32057, "the transaction is already known")
    NOT_FOUND = ("not_found", -32058, "nothing is stored under that identifier")
    PORT_IN_USE = ("port_in_use", -32059, "a listening port is already taken")
    TIMEOUT = ("timeout", -32060, "the transaction was not finalized in time")
    EVICTED = ("evicted", -32061, "the transaction left the mempool without being finalized")
    HOME_EXISTS = ("home_exists", -32062, "the node home is already initialized")
    STATE_DIVERGED = ("state_diverged", -32065,
                      "a certified block does not apply to this node's state; it stopped")
    STORE_CORRUPT = ("store_corrupt", -32066, "a LevelDB of the data directory is corrupt")


check_table(NodeErrorCode, (-32099, -32050))


class NodeError(AgoraError):
    """The node cannot do what was asked (bad home, locked store, another chain's data...)."""
