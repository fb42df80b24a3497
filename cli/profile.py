"""`agora profile show | open | versions | feed | activity | following | followers`.

Reads of profiles, disclosures, follows and feeds over JSON-RPC. `open` is the one that
needs a key: it fetches the copies of an owner's private fields sealed to your key
(`state_getDisclosed`) and opens them locally (nothing is sent to the node); the chain
holds only the sealed copies, so no one else can open them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from cli.common import OUTPUT_OPTIONS, command_with, emit, print_fields, print_table, subcommands
from cli.context import NAME_OPTIONS, NODE_OPTIONS, SIGNER_OPTIONS, NodeContext, SigningContext
from client.profiles import open_disclosed
from commerce.address import address_of, to_text

app = subcommands("profile", "Profiles, what was disclosed to you, follows and feeds.")

Run = Callable[..., None]
AddressArg = Annotated[str, typer.Argument(help="agora1... address or a key name.")]
CursorOpt = Annotated[str | None, typer.Option(help="Continue after this cursor (from `next`).")]
LimitOpt = Annotated[int, typer.Option(min=1, max=200, help="At most this many items.")]


def read_command(name: str) -> Callable[[Run], Run]:
    """Register `run(node: NodeContext, ...)` as `agora profile <name>`."""

    def register(run: Run) -> Run:
        app.command(name)(command_with(run, NAME_OPTIONS + NODE_OPTIONS + OUTPUT_OPTIONS,
                                       NodeContext))
        return run

    return register


def _page(node: NodeContext, page: dict[str, Any], columns: list[tuple[str, str]]) -> None:
    def text() -> None:
        print_table(page["items"], columns)
        if page.get("next"):
            typer.echo(f"more: --cursor {page['next']}")

    emit(node.output, page, text)


@read_command("show")
def show(node: NodeContext, address: AddressArg) -> None:
    """An account's profile: public fields, and who each private field is disclosed to."""
    found = node.call("state_getProfile", address=to_text(node.address(address)))

    def text() -> None:
        fields: dict[str, Any] = {
            "address": found["address"], "version": found["version"],
            "height": found["height"], "name": found["display_name"],
            "avatar": found["avatar"] or "-", "bio": found["bio"],
            "following": found["following"], "followers": found["followers"]}
        for item in found["fields"]:
            fields[f"field {item['name']}"] = "sealed to " + ", ".join(item["recipients"])
        print_fields(fields)

    emit(node.output, found, text)


def open_run(signer: SigningContext, owner: AddressArg) -> None:
    """Open the private fields OWNER disclosed to your key (--from)."""
    keypair = signer.signer.keypair()
    me = to_text(address_of(keypair.public_key))
    disclosed = signer.call("state_getDisclosed", owner=to_text(signer.address(owner)),
                            recipient=me)
    values = open_disclosed(keypair, disclosed)
    value = {"owner": disclosed["owner"], "recipient": me, "version": disclosed["version"],
             "fields": values}

    def text() -> None:
        if not values:
            typer.echo(f"{disclosed['owner']} disclosed nothing to {me}")
            return
        print_fields(values)

    emit(signer.output, value, text)


app.command("open")(command_with(open_run, SIGNER_OPTIONS + OUTPUT_OPTIONS, SigningContext))


@read_command("versions")
def versions(node: NodeContext, address: AddressArg, *, cursor: CursorOpt = None,
             limit: LimitOpt = 50) -> None:
    """Every version of a profile: its height and transaction (old versions stay on chain)."""
    _page(node, node.call("state_listProfileVersions", address=to_text(node.address(address)),
                          cursor=cursor, limit=limit),
          [("version", "VERSION"), ("height", "HEIGHT"), ("tx", "TX")])


FEED_COLUMNS = [("entry", "ENTRY"), ("height", "HEIGHT"), ("author", "AUTHOR"),
                ("kind", "KIND"), ("listing", "LISTING"), ("price_decimal", "PRICE"),
                ("rating", "RATING")]


@read_command("feed")
def feed(node: NodeContext, address: AddressArg, *, cursor: CursorOpt = None,
         limit: LimitOpt = 50) -> None:
    """The feed of an account: new listings, price changes, reviews, shares and team
    openings of whom it follows, newest first."""
    _page(node, node.call("state_getFeed", address=to_text(node.address(address)),
                          cursor=cursor, limit=limit), FEED_COLUMNS)


@read_command("activity")
def activity(node: NodeContext, address: AddressArg, *, cursor: CursorOpt = None,
             limit: LimitOpt = 50) -> None:
    """One account's own feed entries, newest first."""
    _page(node, node.call("state_listActivity", address=to_text(node.address(address)),
                          cursor=cursor, limit=limit), FEED_COLUMNS)


@read_command("following")
def following(node: NodeContext, address: AddressArg, *, cursor: CursorOpt = None,
              limit: LimitOpt = 50) -> None:
    """The accounts an account follows."""
    _page(node, node.call("state_listFollowing", address=to_text(node.address(address)),
                          cursor=cursor, limit=limit),
          [("address", "ADDRESS"), ("height", "SINCE")])


@read_command("followers")
def followers(node: NodeContext, address: AddressArg, *, cursor: CursorOpt = None,
              limit: LimitOpt = 50) -> None:
    """The followers of an account."""
    _page(node, node.call("state_listFollowers", address=to_text(node.address(address)),
                          cursor=cursor, limit=limit), [("address", "ADDRESS")])
