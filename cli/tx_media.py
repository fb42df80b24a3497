"""`agora tx listing-media`: a new version of a listing with other pictures (round 2).

Registered on the `agora tx` group by `tx_command` like every transaction command; the
hashes come from `agora media upload` (which prints them).
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.tx import Common, ListingOpt, _media, tx_command
from commerce.media import ListingMediaSet
from commerce.tx import TxBody

MediaListOpt = Annotated[list[str] | None, typer.Option(
    "--media", help="SHA-256 of a picture (from `agora media upload`), in display order "
    "(repeatable; none clears the pictures).")]


@tx_command("listing-media")
def listing_media(opts: Common, *, listing: ListingOpt, media: MediaListOpt = None) -> TxBody:
    """Publish a new version of a listing with these pictures (everything else unchanged)."""
    current = opts.call("state_getListing", id=listing)
    return ListingMediaSet(listing=listing, version=int(current["current_version"]),
                           media=_media(media))
