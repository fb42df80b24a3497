"""Every limit of the consensus core, in one place (STYLE section 5).

Each buffer, queue and loop over peer data in `consensus/` refers to one of these
constants. Their relations are checked when the module is imported. The chain-wide ones
(the validator cap, block bytes, key, signature and digest sizes) are `base.limits`'.
"""

from __future__ import annotations

from base.limits import DIGEST_BYTES as DIGEST_BYTES
from base.limits import MAX_BLOCK_BYTES as MAX_BLOCK_BYTES
from base.limits import MAX_CHAIN_ID_BYTES as MAX_CHAIN_ID_BYTES
from base.limits import MAX_VALIDATORS as MAX_VALIDATORS
from base.limits import PUBLIC_KEY_BYTES as PUBLIC_KEY_BYTES
from base.limits import SIGNATURE_BYTES as SIGNATURE_BYTES

MAX_DIGEST_BYTES = 64
# Integer fields of messages and records (views, heights): at most int64's maximum.
MAX_FIELD_INT = 2**63 - 1
# Strings in a decoded message (consensus sends none; the bound stops a large one early).
MAX_MESSAGE_STR_BYTES = 1024
# Bytes of one certificate: header plus one (index, signature) pair per validator.
MAX_CERTIFICATE_BYTES = 128 + MAX_VALIDATORS * (SIGNATURE_BYTES + 8)
# A NEW-VIEW carries up to n VIEW-CHANGEs (two certificates each) and one block.
MAX_VIEW_CHANGE_BYTES = 256 + 2 * MAX_CERTIFICATE_BYTES + MAX_BLOCK_BYTES
MAX_MESSAGE_BYTES = (
    MAX_BLOCK_BYTES + 512 + MAX_VALIDATORS * (256 + 2 * MAX_CERTIFICATE_BYTES)
)
MAX_RECORD_BYTES = MAX_BLOCK_BYTES + MAX_CERTIFICATE_BYTES + 256

# Messages for views above the current one are buffered up to this distance.
MAX_FUTURE_VIEWS = 4
# Messages for heights above the current one are buffered up to this distance;
# further ahead the replica catches up by fetching finalized blocks instead.
MAX_FUTURE_HEIGHTS = 1
# Blocks asked for in one FetchBlocks, and accepted from one BlocksFetched.
MAX_FETCH_BLOCKS = 64
# Peers remembered as holding the highest block a certificate proved final (the fetch
# turns through them and the validators that signed above it).
MAX_CATCH_UP_HOLDERS = 16
# Signature checks remembered by the default verifier (replays and gossip copies).
MAX_VERIFY_CACHE_ENTRIES = 16_384
# Exponent cap of the view-change backoff: base << MAX_BACKOFF_SHIFT at most.
MAX_BACKOFF_SHIFT = 16
# Records replayed at construction.
MAX_RESTORE_RECORDS = 1_000_000
# Items of one decoded array: a NEW-VIEW's VIEW-CHANGEs, a certificate's signatures.
MAX_MESSAGE_ARRAY_ITEMS = 4 * MAX_VALIDATORS
# Validator keys the default verifier keeps parsed.
MAX_VERIFY_KEYS = 4 * MAX_VALIDATORS

# Validator sets a replica's schedule holds (the one in force and those scheduled; older
# ones are pruned as heights finalize). A host reports changes at most `delay` heights
# ahead, so a handful suffices; the bound stops a faulty host, not a peer.
MAX_SCHEDULE_ENTRIES = 64
# Fetched blocks kept while the validator set of their height is not known yet.
MAX_FETCHED_WAITING = MAX_FETCH_BLOCKS
# Peers remembered with the height they claimed and we could not check (its validator
# set not known yet): catch-up asks them in turn, each answer verified.
MAX_HEIGHT_CLAIMS = 2 * MAX_CATCH_UP_HOLDERS

# Defaults of ReplicaConfig (the node may override them from its config).
VIEW_CHANGE_TIMEOUT_MS = 2_000
VIEW_CHANGE_TIMEOUT_MAX_MS = 60_000
RETRANSMIT_INTERVAL_MS = 500
FETCH_TIMEOUT_MS = 3_000

assert DIGEST_BYTES <= MAX_DIGEST_BYTES
assert MAX_VALIDATORS <= MAX_MESSAGE_ARRAY_ITEMS
assert MAX_FUTURE_VIEWS >= 1
assert MAX_FUTURE_HEIGHTS >= 1
assert MAX_CERTIFICATE_BYTES < MAX_VIEW_CHANGE_BYTES
assert MAX_VIEW_CHANGE_BYTES <= MAX_MESSAGE_BYTES
assert MAX_BLOCK_BYTES + MAX_CERTIFICATE_BYTES < MAX_MESSAGE_BYTES
assert RETRANSMIT_INTERVAL_MS < VIEW_CHANGE_TIMEOUT_MS <= VIEW_CHANGE_TIMEOUT_MAX_MS
assert VIEW_CHANGE_TIMEOUT_MS << MAX_BACKOFF_SHIFT >= VIEW_CHANGE_TIMEOUT_MAX_MS
