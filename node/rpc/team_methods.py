"""`state_*` reads of group buying (teams) and promotions (campaigns, flash sales), as rows
like `STATE_READS`.

Registered by `node.rpc.methods.build_registry` after the round-1 reads; each row calls one
function of `commerce.team_queries` on the store's state.
"""

from __future__ import annotations

from commerce import team_queries
from commerce.address import from_text
from node.rpc.params import (
    AccountPageParams,
    CampaignsParams,
    IdParams,
    ListingIdParams,
    ListingPageParams,
    OrderParams,
)
from node.rpc.state_methods import StateRead

TEAM_READS: tuple[StateRead, ...] = (
    StateRead("state_getTeamOffer", ListingIdParams, "A listing's team offer",
              lambda state, p, page: team_queries.team_offer(state, p.listing),
              lambda p: f"team offer on listing {p.listing}"),
    StateRead("state_getTeam", IdParams, "A team: members, seats left, deadline, orders",
              lambda state, p, page: team_queries.team(state, p.id),
              lambda p: f"team {p.id}"),
    StateRead("state_listListingTeams", ListingPageParams,
              "A listing's open teams, with seats left and deadline",
              lambda state, p, page: team_queries.listing_teams(state, p.listing, **page),
              lambda p: "teams"),
    StateRead("state_listAccountTeams", AccountPageParams, "The teams of an account",
              lambda state, p, page: team_queries.account_teams(
                  state, from_text(p.address), **page),
              lambda p: "teams"),
    StateRead("state_getCampaign", IdParams, "A coupon campaign and its budget",
              lambda state, p, page: team_queries.campaign(state, p.id),
              lambda p: f"campaign {p.id}"),
    StateRead("state_listCampaigns", CampaignsParams, "A merchant's coupon campaigns",
              lambda state, p, page: team_queries.campaigns(
                  state, from_text(p.merchant), open_only=p.open_only, **page),
              lambda p: "campaigns"),
    StateRead("state_getFlashSale", ListingIdParams, "A listing's flash sale",
              lambda state, p, page: team_queries.flash_sale(state, p.listing),
              lambda p: f"flash sale on listing {p.listing}"),
    StateRead("state_getOrderDiscount", OrderParams, "The coupon discount on an order",
              lambda state, p, page: team_queries.order_discount(state, p.order),
              lambda p: f"coupon on order {p.order}"),
)
