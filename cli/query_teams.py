"""`agora query team-offer | team | teams | campaign | campaigns | flash-sale`: group buying
and promotions reads (node/rpc/team_methods.py).

Registered on the `agora query` group by importing this module (cli/main.py).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import emit, print_fields, print_table
from cli.context import NodeContext
from cli.query import (
    CursorOpt,
    IdArg,
    LimitOpt,
    ListingArg,
    _address_text,
    _fields,
    _page,
    query_command,
)
from cli.tx import usage

TEAM_COLUMNS = [("id", "ID"), ("listing", "LISTING"), ("status", "STATUS"),
                ("seats_left", "SEATS LEFT"), ("price", "PRICE"), ("deadline", "DEADLINE")]


@query_command("team-offer")
def team_offer(node: NodeContext, listing_id: ListingArg) -> None:
    """A listing's team offer: size, team price, window, and its teams."""
    _fields(node, node.call("state_getTeamOffer", listing=listing_id))


@query_command("team")
def team(node: NodeContext, team_id: IdArg) -> None:
    """A team: status, seats left, deadline, members (and its orders once filled)."""
    result: dict[str, Any] = node.call("state_getTeam", id=team_id)

    def text() -> None:
        print_fields({k: (result.get(f"{k}_decimal") or v) for k, v in result.items()
                      if not isinstance(v, list) and not k.endswith("_decimal")})
        print_table([{"member": m["address"], "share": m["share"]} for m in result["members"]],
                    [("member", "MEMBER"), ("share", "SHARE")])
        if result["orders"]:
            typer.echo("orders: " + " ".join(str(o) for o in result["orders"]))

    emit(node.output, result, text)


@query_command("teams", names=True)
def teams(
    node: NodeContext, *,
    listing: Annotated[int | None, typer.Option(
        min=1, help="The open teams of this listing (seats left, deadline).")] = None,
    account: Annotated[str | None, typer.Option(
        help="The teams of this account: agora1... address or a key name.")] = None,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
) -> None:
    """Open teams of a listing (to join one), or the teams of an account."""
    if (listing is None) == (account is None):
        usage("name one of --listing ID or --account ADDRESS")
    if listing is not None:
        page = node.call("state_listListingTeams", listing=listing, limit=limit,
                         cursor=cursor or None)
    else:
        page = node.call("state_listAccountTeams", address=_address_text(node, account),
                         limit=limit, cursor=cursor or None)
    _page(node, page, TEAM_COLUMNS)


@query_command("campaign")
def campaign(node: NodeContext, campaign_id: IdArg) -> None:
    """A coupon campaign: its terms, budget left, paid out and returned."""
    _fields(node, node.call("state_getCampaign", id=campaign_id))


@query_command("campaigns", names=True)
def campaigns(
    node: NodeContext,
    merchant: Annotated[str, typer.Argument(help="The merchant: agora1... address or a key "
                                                 "name.")], *,
    open_only: Annotated[bool, typer.Option(
        "--open-only", help="Only the open campaigns (whose coupons may apply).")] = False,
    cursor: CursorOpt = None, limit: LimitOpt = 50,
) -> None:
    """A merchant's coupon campaigns."""
    _page(node, node.call("state_listCampaigns", merchant=_address_text(node, merchant),
                          open_only=open_only, limit=limit, cursor=cursor or None),
          [("id", "ID"), ("status", "STATUS"), ("listing", "LISTING"),
           ("discount_fixed", "DISCOUNT"), ("discount_bps", "BPS"), ("budget", "BUDGET LEFT"),
           ("end_height", "ENDS")])


@query_command("flash-sale")
def flash_sale(node: NodeContext, listing_id: ListingArg) -> None:
    """A listing's flash sale: price, window, stock and units sold."""
    _fields(node, node.call("state_getFlashSale", listing=listing_id))
