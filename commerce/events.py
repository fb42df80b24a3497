"""The names of each event kind's data fields, in order.

An `Event` carries its data as a positional array (canonical and compact in receipts);
this table gives each position a name so readers (RPC, CLI) can show them, amounts with
their decimal form. Every event the state machine emits has an entry here, with as many
names as data items (`Event` asserts it).
"""

from __future__ import annotations

EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "transfer": ("amount",),
    "merchant_register": (),
    "merchant_vote": ("action", "votes"),
    "merchant_status": ("action",),
    "listing_create": ("listing", "version"),
    "listing_update": ("listing", "version"),
    "listing_delist": ("listing",),
    "share": ("share", "listing"),
    "comment": ("comment", "listing", "reward"),
    "purchase": ("order", "total"),
    "order_ship": ("order",),
    "order_release": ("order", "total", "commission"),
    "order_refund": ("order", "total"),
    "order_cancel": ("order", "total"),
    "order_dispute": ("order",),
    "dispute_vote": ("order", "decision"),
    "review": ("order", "rating", "reward"),
    "review_reply": ("order",),
    "poll_create": ("poll",),
    "poll_vote": ("poll", "option"),
    "reward_claim": ("amount",),
    "validator_propose": ("proposal", "kind"),
    "validator_vote": ("proposal", "vote", "yes", "no"),
    "validator_withdraw": ("proposal",),
    # A proposal closed: status passed / rejected / expired / failed, and the height the
    # change takes effect at (0 unless passed), or the refusal's reason when failed.
    "proposal_closed": ("proposal", "status", "activation_height", "reason"),
    # Group buying and promotions (issue 23).
    "team_offer_set": ("listing", "size", "price"),
    "team_offer_end": ("listing",),
    "team_open": ("team", "listing", "paid"),
    "team_join": ("team", "seats_left", "paid"),
    "team_filled": ("team", "first_order", "orders"),
    "team_expired": ("team", "refunded"),
    "campaign_create": ("campaign", "budget"),
    "campaign_close": ("campaign", "returned"),
    "campaign_end": ("campaign", "returned"),
    "coupon_purchase": ("order", "total", "campaign", "discount"),
    "flash_sale_set": ("listing", "price", "stock"),
    "profile_set": ("version", "fields", "grants"),
    "follow": ("following",),
    "unfollow": ("following",),
    "listing_media_set": ("listing", "version"),
}
