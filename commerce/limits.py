"""Limits of the commerce state machine, as named constants (STYLE section 5).

The chain-wide ones (decode size and depth, block bytes, the validator cap, digest size)
are `base.limits`'; they are imported here so commerce reads all its limits from one place.
"""

from __future__ import annotations

from base.limits import BLOCK_ENVELOPE_BYTES, DIGEST_BYTES, MAX_CHAIN_ID_BYTES
from base.limits import MAX_BLOCK_BYTES as MAX_BLOCK_BYTES
from base.limits import MAX_DECODE_BYTES as MAX_DECODE_BYTES
from base.limits import MAX_DECODE_DEPTH as MAX_DECODE_DEPTH
from base.limits import MAX_VALIDATORS as MAX_VALIDATORS

# Transactions.
MAX_TX_BYTES = 16 * 1024
MAX_CHAIN_ID_CHARS = 64
MAX_MEMO_CHARS = 256
MAX_AMOUNT_MINOR = 10**18  # a billion billion base units: far above any real supply
MAX_NONCE = 2**63 - 1

# Blocks (genesis may lower these and MAX_BLOCK_BYTES, never raise them).
MAX_BLOCK_TXS = 10_000
MAX_GENESIS_ACCOUNTS = 1_000_000

# A block's bytes beyond its transactions' own: the outer arrays and the header (8 fields:
# a chain id of at most MAX_CHAIN_ID_CHARS, five 32-byte digests, two integers), and a
# msgpack bin header of at most 5 bytes around each transaction.
BLOCK_FRAME_BYTES = 512
BLOCK_TX_FRAME_BYTES = 5
# The smallest block limit genesis may set: one transaction of the largest size fits.
MIN_BLOCK_BYTES = MAX_TX_BYTES + BLOCK_TX_FRAME_BYTES + BLOCK_FRAME_BYTES

assert MAX_TX_BYTES < MAX_BLOCK_BYTES
assert MIN_BLOCK_BYTES <= MAX_BLOCK_BYTES
assert 3 + (2 + MAX_CHAIN_ID_CHARS * 4) + 5 * 34 + 2 * 9 + 5 <= BLOCK_FRAME_BYTES
assert MAX_BLOCK_BYTES + BLOCK_ENVELOPE_BYTES <= MAX_DECODE_BYTES
assert MAX_AMOUNT_MINOR < 2**63
# A genesis chain id is ASCII (commerce.genesis), so its characters are its bytes.
assert MAX_CHAIN_ID_CHARS == MAX_CHAIN_ID_BYTES

# Commerce: text and list fields of transaction bodies.
MAX_NAME_CHARS = 64
MAX_PROFILE_CHARS = 1024
MAX_TITLE_CHARS = 120
MAX_DESCRIPTION_CHARS = 2000
MAX_CATEGORY_CHARS = 32
MAX_MEDIA_HASHES = 8
MEDIA_HASH_BYTES = DIGEST_BYTES
MAX_STOCK = 10**9
MAX_ORDER_QUANTITY = 10_000
MAX_REFERRAL_BPS = 5_000  # half the payment: genesis may lower it, never raise it
BPS_DENOMINATOR = 10_000
MAX_SEALED_BYTES = 1024  # sealed delivery details or tracking note, box overhead included
SEALED_OVERHEAD_BYTES = 48  # X25519 ephemeral key (32) + Poly1305 tag (16)
MAX_REASON_CHARS = 500
MAX_COMMENT_CHARS = 2000
MAX_COMMENT_DEPTH = 8  # a top-level comment has depth 0
MAX_REVIEW_CHARS = 2000
MAX_QUESTION_CHARS = 280
MAX_POLL_OPTIONS = 10
MAX_OPTION_CHARS = 80
MAX_RECORD_ID = 2**63 - 1

# Commerce: chain parameters (genesis chooses within these bounds).
MAX_TIMEOUT_BLOCKS = 10_000_000
MAX_EPOCH_BLOCKS = 10_000_000
MAX_POLL_BLOCKS = 10_000_000
MAX_COMMENT_REWARDS_PER_EPOCH = 1_000
# The account reserve (docs/COMMERCE.md, "Accounts and the reserve"): at least one base
# unit, at most a million tokens.
MAX_ACCOUNT_RESERVE_MINOR = 10**12
# Purchase-linked rewards (purchase, review, share) are each at most this share of the
# amount paid, so even a buyer who is also the sharer (commission included) gets back less
# than it paid unless the merchant colludes.
MAX_REWARD_PRICE_BPS = 1_500

# Commerce: end-of-block step. Each transaction schedules at most one order timer, so the
# timers due at one height are bounded by the kinds of timer times the block size.
TIMER_KINDS = 3
MAX_TEAM_SIZE = 20  # seats in a team (group buying, commerce/teams.py)
# A team_join that fills a team opens one order (and one order timer) per seat.
MAX_TIMERS_PER_HEIGHT = TIMER_KINDS * MAX_BLOCK_TXS * MAX_TEAM_SIZE

# Commerce: read API.
MAX_PAGE_ITEMS = 200
MAX_QUERY_SCAN = 10_000  # index entries one query call may walk before it returns a cursor

assert MAX_REFERRAL_BPS < BPS_DENOMINATOR
assert MAX_REFERRAL_BPS + 3 * MAX_REWARD_PRICE_BPS < BPS_DENOMINATOR, "farming loses money"
assert 0 < MAX_ACCOUNT_RESERVE_MINOR <= MAX_AMOUNT_MINOR
# The largest listing body (4 bytes per character at worst) fits in one transaction.
assert (MAX_TITLE_CHARS + MAX_DESCRIPTION_CHARS + MAX_CATEGORY_CHARS) * 4 \
    + MAX_MEDIA_HASHES * (MEDIA_HASH_BYTES + 2) + 512 <= MAX_TX_BYTES
assert MAX_SEALED_BYTES + MAX_COMMENT_CHARS * 4 + 512 <= MAX_TX_BYTES
assert MAX_QUESTION_CHARS * 4 + MAX_POLL_OPTIONS * MAX_OPTION_CHARS * 4 + 512 <= MAX_TX_BYTES
assert MAX_PAGE_ITEMS <= MAX_QUERY_SCAN

# Governance (docs/GOVERNANCE.md): proposals, the validator set and parameter changes.
MAX_OPEN_PROPOSALS = 32  # open proposals on the chain at once
MAX_OPEN_PROPOSALS_PER_PROPOSER = 4  # ... and by one validator
# A remove never takes the set below this (or below its size when it is smaller): 4 is the
# smallest set that survives one faulty validator (n = 3f + 1 with f = 1).
MIN_GOVERNED_VALIDATORS = 4
MAX_P2P_ADDRESS_CHARS = 255  # host:port of a proposed validator, for operators
MAX_PARAM_NAME_CHARS = 64
MIN_ACTIVATION_BLOCKS = 2  # the set of h + 1 is known once h is final
MAX_ACTIVATION_BLOCKS = 100_000
MAX_PROPOSAL_BLOCKS = 10_000_000
# The consensus timers are chain parameters (every validator waits the same): the view-change
# timeout base (what a validator waits for progress before asking for the next view) and
# the idle block interval (an idle chain's primary proposes an empty block this long after
# the last one). The base is at least MIN_TIMEOUT_TO_IDLE_RATIO times the idle interval:
# the idle interval is the longest gap between blocks of a healthy chain, and a view change
# is for a primary that stopped, not for a quiet chain. The floor of the base keeps a
# primary time to propose, validate and finalize a full block; its ceiling bounds how long
# a crashed primary stalls the chain.
MIN_VIEW_CHANGE_TIMEOUT_MS = 1_000
MAX_VIEW_CHANGE_TIMEOUT_MS = 300_000
MIN_IDLE_BLOCK_INTERVAL_MS = 100
MAX_IDLE_BLOCK_INTERVAL_MS = 150_000
MIN_TIMEOUT_TO_IDLE_RATIO = 2
# The largest consensus message (a NEW-VIEW carrying n VIEW-CHANGEs and a block) must fit one
# P2P payload (node/frames.py checks the genesis; governance checks every change). Commerce
# cannot import p2p or node, so the bound is mirrored here: NEW-VIEW overhead is at most
# NEW_VIEW_PER_VALIDATOR2_BYTES * n * n + NEW_VIEW_BASE_BYTES besides the block, and the payload
# limit equals p2p.limits.MAX_PAYLOAD_BYTES (tests/commerce/test_governance_bounds.py checks
# both against the real encoders for every n up to MAX_VALIDATORS).
NEW_VIEW_PER_VALIDATOR2_BYTES = 142
NEW_VIEW_BASE_BYTES = 2_048
CONSENSUS_PAYLOAD_BYTES = 4_194_024

assert MIN_ACTIVATION_BLOCKS >= 2
assert MIN_TIMEOUT_TO_IDLE_RATIO * MIN_IDLE_BLOCK_INTERVAL_MS <= MIN_VIEW_CHANGE_TIMEOUT_MS
assert MIN_TIMEOUT_TO_IDLE_RATIO * MAX_IDLE_BLOCK_INTERVAL_MS <= MAX_VIEW_CHANGE_TIMEOUT_MS
assert MAX_OPEN_PROPOSALS_PER_PROPOSER <= MAX_OPEN_PROPOSALS
assert MIN_GOVERNED_VALIDATORS <= MAX_VALIDATORS
assert NEW_VIEW_PER_VALIDATOR2_BYTES * MAX_VALIDATORS ** 2 + NEW_VIEW_BASE_BYTES \
    + MIN_BLOCK_BYTES <= CONSENSUS_PAYLOAD_BYTES
# Group buying (commerce/teams.py) and promotions (commerce/promotions.py). A team's and a
# campaign's deadline is a timer of its own kind; the deadlines that fall due at one height
# are capped (an opening or creation that would pass the cap is refused with
# schedule_full), so the end-of-block step does bounded work: at most
# MAX_TEAM_DEADLINES_PER_HEIGHT teams of MAX_TEAM_SIZE refunds and
# MAX_CAMPAIGN_ENDS_PER_HEIGHT budget returns per block.
MIN_TEAM_SIZE = 2
MAX_TEAM_WINDOW_BLOCKS = 1_000_000
MAX_TEAM_DEADLINES_PER_HEIGHT = 1_000
MAX_OPEN_TEAMS_PER_LISTING = 1_000
MAX_OPEN_TEAMS_PER_ACCOUNT = 8  # teams an account opened that are still open
MAX_OPEN_CAMPAIGNS_PER_MERCHANT = 16
MAX_CAMPAIGN_BLOCKS = 10_000_000
MAX_CAMPAIGN_ENDS_PER_HEIGHT = 1_000
MAX_COUPONS_PER_CAMPAIGN = 10_000_000
MAX_COUPONS_PER_ACCOUNT = 1_000
MAX_FLASH_SALE_BLOCKS = 10_000_000

assert MIN_TEAM_SIZE <= MAX_TEAM_SIZE
assert MAX_TEAM_SIZE * MAX_ORDER_QUANTITY <= MAX_STOCK, "a team's reservation fits the stock"
assert MAX_TEAM_DEADLINES_PER_HEIGHT <= MAX_BLOCK_TXS
assert MAX_CAMPAIGN_ENDS_PER_HEIGHT <= MAX_BLOCK_TXS
assert MAX_COUPONS_PER_ACCOUNT <= MAX_COUPONS_PER_CAMPAIGN
# Profiles and follows (issue 23; docs/COMMERCE.md "Profiles", "Follows and feeds").
# Public fields: a display name, an avatar's content hash (0 or DIGEST_BYTES) and a bio.
MAX_BIO_CHARS = 280
AVATAR_HASH_BYTES = DIGEST_BYTES
# Private fields: named, each sealed separately to each recipient the owner picks.
MAX_PROFILE_FIELDS = 8
MAX_FIELD_NAME_CHARS = 32
MAX_FIELD_VALUE_BYTES = 256  # a field's plaintext (the client's limit before sealing)
PROFILE_SEAL_FRAME_BYTES = 96  # the sealed envelope: domain tag, owner, field name
MAX_PROFILE_SEALED_BYTES = (MAX_FIELD_VALUE_BYTES + PROFILE_SEAL_FRAME_BYTES
                            + SEALED_OVERHEAD_BYTES)
MAX_FIELD_RECIPIENTS = 8  # sealed copies of one field, the owner's own copy included
MAX_PROFILE_GRANTS = 32  # sealed copies in one profile version, all fields together
# Versions: one per account per block, at most this many per account per epoch.
MAX_PROFILE_VERSIONS_PER_EPOCH = 16
# Follows: the accounts one account follows (a feed merges at most that many authors).
MAX_FOLLOWING = 1_000
# A feed page looks up an author's entries by binary search over its sequence: at most
# this many steps per author (sequences are 64-bit counters).
MAX_FEED_SEARCH_STEPS = 64

# Field names are ASCII (a-z, 0-9, _ and -): the envelope is the array header, a domain tag
# of at most 24 bytes, the owner's address, the name and the value's header.
assert 1 + 25 + 22 + (MAX_FIELD_NAME_CHARS + 2) + 3 <= PROFILE_SEAL_FRAME_BYTES
assert MAX_FIELD_RECIPIENTS <= MAX_PROFILE_GRANTS
assert MAX_PROFILE_FIELDS <= MAX_PROFILE_GRANTS
# The largest profile_set body fits in one transaction: the public fields (4 bytes per
# character at worst), the field names, and every grant (field index, address, sealed
# copy, each with its msgpack header), with room for the envelope.
assert (MAX_NAME_CHARS + MAX_BIO_CHARS) * 4 + AVATAR_HASH_BYTES \
    + MAX_PROFILE_FIELDS * (MAX_FIELD_NAME_CHARS + 1) \
    + MAX_PROFILE_GRANTS * (1 + 22 + 3 + MAX_PROFILE_SEALED_BYTES) + 512 <= MAX_TX_BYTES
