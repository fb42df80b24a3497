"""The commerce state machine: encoding, transactions, execution and the shop's rules.

Pure: no asyncio, no disk, no clock. Importing the package registers every transaction
type and rule, so `decode_tx` and `apply_tx` know them all.
"""

from commerce import feeds as _feeds  # noqa: F401  (the feed's event hooks)
from commerce import follows as _follows  # noqa: F401  (follow, unfollow)
from commerce import governance as _governance  # noqa: F401  (validator_propose, _vote, ...)
from commerce import listings as _listings  # noqa: F401  (listing_create, _update, _delist)
from commerce import media as _media  # noqa: F401  (listing_media_set)
from commerce import merchants as _merchants  # noqa: F401  (merchant_register, _vote)
from commerce import orders as _orders  # noqa: F401  (purchase, order_*, dispute_vote)
from commerce import polls as _polls  # noqa: F401  (poll_create, poll_vote)
from commerce import profiles as _profiles  # noqa: F401  (profile_set)
from commerce import promotions as _promotions  # noqa: F401  (campaign_*, coupon_purchase, ...)
from commerce import reviews as _reviews  # noqa: F401  (review, review_reply)
from commerce import rewards as _rewards  # noqa: F401  (reward_claim)
from commerce import social as _social  # noqa: F401  (share, comment)
from commerce import teams as _teams  # noqa: F401  (team_offer_set, _end, team_open, _join)
from commerce import transfer as _transfer  # noqa: F401  (registers the type)
