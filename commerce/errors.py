"""Every rejection the commerce state machine can give, in one table.

Each code has a stable snake_case name shown to users and a JSON-RPC number in
-32000..-32099 (the name goes in ``error.data.reason``). `docs/ERRORS.md` lists the same
table; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from base.errors import AgoraError, CodeTable, check_table

# The root and the table base live in the shared base; importing them from here still works.
__all__ = ["AgoraError", "CodeTable", "ErrorCode", "Rejection", "ValidationError", "check_table"]


class ErrorCode(CodeTable):
    """Rejections by the commerce state machine and its encodings."""

    # Encoding and envelope.
    MALFORMED = ("malformed", -32001, "the bytes are not a well-formed structure of this kind")
    NON_CANONICAL = ("non_canonical", -32002, "the bytes are not in the one canonical encoding")
    TOO_LARGE = ("too_large", -32003, "the encoded size is over its limit")
    UNKNOWN_TYPE = ("unknown_type", -32004, "the transaction type is not known")
    FIELD_INVALID = ("field_invalid", -32005, "a field has the wrong type or an invalid value")
    FIELD_TOO_LONG = ("field_too_long", -32006, "a text, bytes or list field is over its length")
    AMOUNT_OUT_OF_RANGE = ("amount_out_of_range", -32007, "an amount is not in its range")
    BAD_ADDRESS = ("bad_address", -32008, "an address is malformed or its checksum is wrong")
    BAD_AMOUNT = ("bad_amount", -32009, "an amount text is not a decimal with at most 6 places")
    # Authentication and ordering.
    BAD_SIGNATURE = ("bad_signature", -32010, "the signature does not verify for the sender key")
    WRONG_CHAIN = ("wrong_chain", -32011, "the transaction names another chain id")
    BAD_NONCE = ("bad_nonce", -32012, "the nonce is not the sender's next one")
    # Ledger.
    INSUFFICIENT_FUNDS = ("insufficient_funds", -32013, "the sender's balance is too low")
    SELF_TRANSFER = ("self_transfer", -32014, "sender and recipient are the same account")
    # Genesis and blocks.
    BAD_GENESIS = ("bad_genesis", -32015, "the genesis document is invalid")
    BAD_BLOCK = ("bad_block", -32016, "the block is invalid")
    BLOCK_LIMIT = ("block_limit", -32017, "the block is over its transaction or byte limit")
    # Commerce: roles and membership.
    NOT_VALIDATOR = ("not_validator", -32018, "only a validator may send this transaction")
    NOT_MERCHANT = ("not_merchant", -32019, "the sender is not an approved merchant")
    MERCHANT_SUSPENDED = ("merchant_suspended", -32020, "the merchant is suspended")
    ALREADY_REGISTERED = ("already_registered", -32021, "the account is already a merchant")
    MERCHANT_STATE = ("merchant_state", -32022, "the vote does not apply to the merchant's status")
    ALREADY_VOTED = ("already_voted", -32023, "this account has already voted on this question")
    NOT_FOUND = ("not_found", -32024, "the named merchant, listing, order, ... does not exist")
    NOT_OWNER = ("not_owner", -32025, "the listing or order belongs to another merchant")
    # Commerce: listings and purchases.
    LISTING_INACTIVE = ("listing_inactive", -32026, "the listing is delisted")
    OUT_OF_STOCK = ("out_of_stock", -32027, "the listing has less stock than the quantity asked")
    STALE_VERSION = ("stale_version", -32028, "the listing version named is not the current one")
    SELF_PURCHASE = ("self_purchase", -32029, "a merchant cannot buy its own listing")
    SELF_REFERRAL = ("self_referral", -32030, "an account cannot use or create a share of its own")
    SHARE_MISMATCH = ("share_mismatch", -32031, "the share is of another listing")
    ALREADY_SHARED = ("already_shared", -32032, "the account has already shared this listing")
    REFERRAL_TOO_HIGH = ("referral_too_high", -32033, "referral_bps is over the chain maximum")
    # Commerce: orders, reviews, comments, polls, rewards.
    NOT_BUYER = ("not_buyer", -32034, "the sender is not the buyer this action requires")
    ORDER_STATE = ("order_state", -32035, "the order is not in a state that allows this action")
    CONFLICT_OF_INTEREST = (
        "conflict_of_interest", -32036, "a party to the order cannot judge its dispute"
    )
    ALREADY_REVIEWED = ("already_reviewed", -32037, "the order has a review already")
    ALREADY_REPLIED = ("already_replied", -32038, "the review has a reply already")
    COMMENT_TOO_DEEP = ("comment_too_deep", -32039, "the reply would nest deeper than allowed")
    POLL_CLOSED = ("poll_closed", -32040, "the poll has closed")
    POLL_WINDOW = ("poll_window", -32041, "the poll's closing height is not in the allowed window")
    NOTHING_TO_CLAIM = ("nothing_to_claim", -32042, "the account has no accrued rewards")
    SUPPLY_LIMIT = ("supply_limit", -32043, "minting would take the supply over its maximum")
    # Accounts and the reserve.
    RESERVE_REQUIRED = (
        "reserve_required", -32044, "the sender does not hold the account reserve, so cannot act"
    )
    BELOW_RESERVE = (
        "below_reserve", -32045, "the payment would leave or create an account below the reserve"
    )
    # Governance (issue 21, docs/GOVERNANCE.md): -32100..-32119.
    PROPOSAL_LIMIT = (
        "proposal_limit", -32100, "the proposer or the chain has the most open proposals allowed"
    )
    PROPOSAL_CLOSED = ("proposal_closed", -32101, "the proposal is no longer open for votes")
    NOT_PROPOSER = ("not_proposer", -32102, "only the proposal's proposer may withdraw it")
    VALIDATOR_EXISTS = (
        "validator_exists", -32103, "the key or name is in the validator set (now or scheduled)"
    )
    NOT_IN_SET = ("not_in_set", -32104, "the key is not in the validator set (now or scheduled)")
    SET_TOO_SMALL = ("set_too_small", -32105, "the change would take the set below its minimum")
    SET_TOO_LARGE = (
        "set_too_large", -32106, "the change would take the set or its messages over a limit"
    )
    BAD_ROTATION = (
        "bad_rotation", -32107, "the new key's signature over the key rotation does not verify"
    )
    UNKNOWN_PARAM = ("unknown_param", -32108, "no chain parameter of that name is governed")
    PARAM_OUT_OF_BOUNDS = (
        "param_out_of_bounds", -32109, "the value is outside the parameter's governance bounds"
    )
    DUPLICATE_PROPOSAL = (
        "duplicate_proposal", -32110, "an open proposal already makes this change"
    )
    PARAM_CONFLICT = (
        "param_conflict", -32111,
        "the value breaks a relation with another chain parameter (e.g. the timers)"
    )

    # Group buying and promotions (issue 23), -32120..-32139.
    NO_TEAM_OFFER = ("no_team_offer", -32120, "the listing has no team offer")
    TEAM_OFFER_INVALID = (
        "team_offer_invalid", -32121, "the team offer's terms do not fit the listing"
    )
    TEAM_CLOSED = ("team_closed", -32122, "the team is filled or its window has closed")
    ALREADY_IN_TEAM = ("already_in_team", -32123, "the account has a place in this team already")
    TEAM_LIMIT = ("team_limit", -32124, "the listing has as many open teams as it may have")
    SCHEDULE_FULL = (
        "schedule_full", -32125, "too many deadlines fall due at that height; choose another"
    )
    CAMPAIGN_INVALID = ("campaign_invalid", -32126, "the campaign's terms are inconsistent")
    CAMPAIGN_LIMIT = (
        "campaign_limit", -32127, "the merchant has as many open campaigns as it may have"
    )
    CAMPAIGN_INACTIVE = (
        "campaign_inactive", -32128, "the campaign has not started, has ended or was closed"
    )
    COUPON_MISMATCH = (
        "coupon_mismatch", -32129, "the coupon is not valid for this merchant or listing"
    )
    COUPON_MIN_SPEND = ("coupon_min_spend", -32130, "the purchase is below the coupon's minimum")
    COUPON_LIMIT = ("coupon_limit", -32131, "the account has used the coupon as often as allowed")
    COUPON_EXHAUSTED = (
        "coupon_exhausted", -32132, "the campaign has no coupons or budget left for this discount"
    )
    FLASH_SALE_INVALID = ("flash_sale_invalid", -32133, "the flash sale's terms are inconsistent")
    # Profiles, follows and feeds (issue 23: -32140..-32159).
    PROFILE_VERSION = (
        "profile_version", -32140, "the profile version named is not the account's current one"
    )
    PROFILE_RATE = (
        "profile_rate", -32141, "the account set its profile in this block or too often this epoch"
    )
    PROFILE_LAYOUT = (
        "profile_layout", -32142,
        "private fields or grants out of order, repeated, unknown, or a field with no recipient"
    )
    TOO_MANY_RECIPIENTS = (
        "too_many_recipients", -32143, "a private field is sealed to more recipients than allowed"
    )
    SELF_FOLLOW = ("self_follow", -32144, "an account cannot follow itself")
    ALREADY_FOLLOWING = ("already_following", -32145, "the account already follows this one")
    NOT_FOLLOWING = ("not_following", -32146, "the account does not follow this one")
    FOLLOW_LIMIT = ("follow_limit", -32147, "the account follows as many accounts as allowed")
    # Listing media (round 2, -32160..-32179).
    MEDIA_DUPLICATE = ("media_duplicate", -32160, "the media list names the same hash twice")
    MEDIA_UNCHANGED = (
        "media_unchanged", -32161, "the media list is the listing's current one already"
    )


check_table(ErrorCode, (-32049, -32001), (-32199, -32100))


class ValidationError(AgoraError):
    """Bad input from a client, a peer or a file: it is refused and nothing changes."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused transaction's code and message, as stored and reported."""

    code: CodeTable
    message: str

    def __str__(self) -> str:
        return f"{self.code.reason}: {self.message}"
