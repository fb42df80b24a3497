"""`state_*` reads of profiles, follows and feeds (issue 23), as rows like `STATE_READS`.

Each validates its params, calls one read of `commerce.profiles`, `commerce.follows` or
`commerce.feeds` on the finalized state, and renders it. Lists are pages ``{"items": [...],
"next": cursor | null}``; the feed's cursor is the number of the last entry returned, and
its pages run newest first.
"""

from __future__ import annotations

from commerce import feeds, follows, profiles
from commerce.address import from_text
from node.chain import Chain
from node.rpc.jsonrpc import Registry
from node.rpc.params import AddressParams, AddressText, PageParams, Params
from node.rpc.state_methods import StateRead, register_state_reads


class AddressPageParams(PageParams):
    """An account address (agora1...) and paging."""

    address: AddressText


class DisclosedParams(Params):
    """A profile's owner and the recipient whose sealed copies are asked for."""

    owner: AddressText
    recipient: AddressText


PROFILE_READS: tuple[StateRead, ...] = (
    StateRead("state_getProfile", AddressParams,
              "An account's current profile: public fields, private fields' recipients "
              "and sealed copies",
              lambda state, p, page: profiles.profile(state, from_text(p.address)),
              lambda p: f"profile of {p.address}"),
    StateRead("state_getDisclosed", DisclosedParams,
              "The private profile fields sealed to one recipient",
              lambda state, p, page: profiles.disclosed(state, from_text(p.owner),
                                                        from_text(p.recipient)),
              lambda p: f"profile of {p.owner}"),
    StateRead("state_listProfileVersions", AddressPageParams,
              "Every version of a profile: height and transaction",
              lambda state, p, page: profiles.profile_versions(state, from_text(p.address),
                                                               **page),
              lambda p: "versions"),
    StateRead("state_getSocial", AddressParams,
              "An account's follow counts, feed length and profile version",
              lambda state, p, page: follows.social(state, from_text(p.address)),
              lambda p: "account"),
    StateRead("state_listFollowing", AddressPageParams, "The accounts an account follows",
              lambda state, p, page: follows.following(state, from_text(p.address), **page),
              lambda p: "follows"),
    StateRead("state_listFollowers", AddressPageParams, "The followers of an account",
              lambda state, p, page: follows.followers(state, from_text(p.address), **page),
              lambda p: "followers"),
    StateRead("state_getFeed", AddressPageParams,
              "The feed of an account: new listings, price changes, reviews, shares and "
              "team openings of whom it follows, newest first",
              lambda state, p, page: feeds.feed(state, from_text(p.address), **page),
              lambda p: "feed"),
    StateRead("state_listActivity", AddressPageParams,
              "One account's own feed entries, newest first",
              lambda state, p, page: feeds.activity(state, from_text(p.address), **page),
              lambda p: "activity"),
)


def register_profile_methods(registry: Registry, chain: Chain, page_items_max: int) -> None:
    """Register the profile, follow and feed reads over `chain`'s state on `registry`."""
    register_state_reads(registry, chain, page_items_max, PROFILE_READS)
