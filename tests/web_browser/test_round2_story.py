"""Round 2 in real Chromium: the merchant uploads a picture in its console and the listing
shows it (served from /blobs/<sha256>), sets a team offer and a coupon campaign; a shopper
shares the listing and starts a team, a second wallet opens the team link (carrying the
share), joins, and both see the team filled; the second shopper buys with the coupon and
sees the discount before signing, and the chain charges exactly that. The new pages are
audited (axe, phone width) and kept as screenshots."""

from __future__ import annotations

import hashlib
import re
import struct
import zlib

from playwright.sync_api import Browser, Page, expect

from tests.web_browser.conftest import (
    WebDevnet,
    audit,
    contexts,
    create_wallet,
    fill_in,
    import_wallet,
    send,
)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A whole PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                            0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_pictures_team_buying_and_coupons(web: WebDevnet, browser: Browser) -> None:
    with contexts(browser, False, True, True) as (merchant, first, second):
        run_story(web, merchant.new_page(), first.new_page(), second.new_page())


def run_story(web: WebDevnet, merchant: Page, first: Page, second: Page) -> None:
    url = web.url
    listing = web.agora("tx", "listing-create", "--from", "acme", "--title", "Jade bowl",
                        "--price", "40", "--stock", "10", "--category", "kitchen",
                        "--referral-bps", "500")["listing"]

    # The merchant uploads a picture: checked in the browser, uploaded, then named by a new
    # listing version; a file that is not a picture is refused before anything is sent.
    import_wallet(merchant, url, web.seed("acme"))
    merchant.goto(f"{url}/#/merchant")
    pictures = merchant.locator("section", has=merchant.get_by_role(
        "heading", name="Listing pictures"))
    pictures.get_by_label("Listing").select_option(str(listing))
    picture_file = pictures.get_by_label("Picture file")
    picture_file.set_input_files(files=[{"name": "notes.png", "mimeType": "image/png",
                                         "buffer": b"not a picture at all, only text"}])
    expect(pictures.get_by_role("alert")).to_contain_text("not a PNG, JPEG, WebP or GIF")
    picture = png(64, 40, (30, 140, 110))
    picture_file.set_input_files(files=[{"name": "bowl.png", "mimeType": "image/png",
                                         "buffer": picture}])
    send(merchant, pictures.get_by_role("button", name="Add picture"),
         "Upload the picture “bowl.png”")
    name = hashlib.sha256(picture).hexdigest()
    assert web.query("listing", str(listing))["media"] == [name]

    # A team offer of two at 30 a piece, and a coupon of 5 off from 20, in the console.
    offer = merchant.locator("section", has=merchant.get_by_role("heading", name="Team offer"))
    offer.get_by_label("Listing").select_option(str(listing))
    fill_in(offer, {"Team size": "2", "Team price per unit (tokens)": "30"})
    send(merchant, offer.get_by_role("button", name="Set team offer"),
         "to teams of 2 at 30 AGR per unit")
    coupons = merchant.get_by_role("form", name="Create a coupon campaign")
    coupons.get_by_label("Listing").select_option(str(listing))
    fill_in(coupons, {
        "Amount off (tokens)": "5",
        "Minimum spend (tokens)": "20",
        "Budget (tokens)": "50",
    })
    send(merchant, coupons.get_by_role("button", name="Create a coupon campaign"),
         "Lock 50 AGR from your balance")
    expect(merchant.get_by_test_id("campaigns")).to_contain_text("Coupon #")
    audit(merchant, "merchant-round2")

    # The first shopper sees the picture, shares the listing and starts a team.
    first_address = create_wallet(first, url)
    second_address = create_wallet(second, url)
    web.fund(first_address, "200")
    web.fund(second_address, "200")
    first.goto(f"{url}/#/listing/{listing}")
    shown = first.get_by_test_id("picture")
    expect(shown).to_have_attribute("src", f"{url}/blobs/{name}")
    expect(shown).to_have_attribute("alt", "“Jade bowl”, picture 1 of 1")
    first.wait_for_function("document.querySelector('[data-testid=picture]').naturalWidth > 0")
    assert first.evaluate("document.querySelector('[data-testid=picture]').naturalWidth") == 64
    send(first, first.get_by_role("button", name="Get my referral link"))
    share = int(first.get_by_test_id("share-link").input_value().rsplit("=", 1)[1])
    team_box = first.locator("section", has=first.get_by_role("heading", name="Buy as a team"))
    expect(team_box.get_by_test_id("team-offer")).to_contain_text("2 people, 1 each")
    team_box.get_by_label("Delivery details").fill("Zhao Lei, 5 Lake Road")
    send(first, team_box.get_by_role("button", name="Start a team for 30 AGR"),
         "Start a team of 2 for “Jade bowl”")
    team_link = first.get_by_test_id("team-link").input_value()
    match = re.fullmatch(rf"{re.escape(url)}/#/team/(\d+)\?share={share}", team_link)
    assert match is not None, team_link
    team = int(match.group(1))
    audit(first, "listing-team-phone")

    # The second shopper opens the team link and joins: the team fills.
    second.goto(team_link)
    expect(second.get_by_test_id("seats-left")).to_have_text("1 of 2 seats left")
    expect(second.get_by_test_id("via-share")).to_contain_text(f"referral #{share}")
    audit(second, "team-phone")
    send(second, second.get_by_role("button", name="Join for 30 AGR"))
    expect(second.get_by_test_id("team-status")).to_have_text("Filled")
    on_chain = web.query("team", str(team))
    assert on_chain["status"] == "filled"
    assert [m["share"] for m in on_chain["members"]] == [0, share]
    first.goto(f"{url}/#/wallet")
    expect(first.get_by_test_id(f"my-team-{team}")).to_contain_text("Filled")
    audit(first, "wallet-teams-phone")

    # The team's orders are paid orders: the merchant opens the opener's delivery details
    # and ships with a tracking note sealed to the opener's key (found in the team_open).
    order = on_chain["orders"][0]
    merchant.goto(f"{url}/#/merchant")
    to_ship = merchant.get_by_test_id(f"ship-{order}")
    to_ship.get_by_role("button", name="Open the delivery details").click()
    expect(to_ship.get_by_test_id("delivery-details")).to_have_text("Zhao Lei, 5 Lake Road")
    to_ship.get_by_label("Tracking note").fill("EMS EA123456789CN")
    send(merchant, to_ship.get_by_role("button", name="Mark as shipped"))
    card = first.get_by_test_id(f"order-{order}")
    expect(card.get_by_test_id("order-status")).to_have_text("shipped")
    card.get_by_role("button", name="Read the tracking note").click()
    expect(card.get_by_test_id("tracking-note")).to_have_text("EMS EA123456789CN")

    # The second shopper buys with the coupon: 40 less 5, shown before signing, charged so.
    second.goto(f"{url}/#/listing/{listing}")
    buy = second.locator("section", has=second.get_by_role("heading", name="Buy", exact=True))
    coupon = buy.locator("option", has_text="5 AGR off, from 20 AGR").get_attribute("value")
    buy.get_by_label("Coupon").select_option(coupon)
    expect(buy.get_by_test_id("discount")).to_have_text("−5 AGR")
    expect(buy.get_by_test_id("you-pay")).to_have_text("35 AGR")
    before = int(web.query("account", second_address)["balance"])
    send(second, buy.get_by_role("button", name="Buy", exact=True), "5 AGR off, you pay 35 AGR")
    placed = second.get_by_test_id("order-placed")
    expect(placed).to_be_visible()
    after = int(web.query("account", second_address)["balance"])
    assert before - after == 35_000_000

    # The second shopper follows acme from the listing; acme's listings show in the feed,
    # and acme's profile counts the follower.
    acme = web.query("listing", str(listing))["merchant"]
    second.goto(f"{url}/#/listing/{listing}")
    send(second, second.get_by_test_id("follow"), "Follow acme")
    expect(second.get_by_test_id("follow")).to_have_text(re.compile(r"^Following"))
    second.goto(f"{url}/#/feed")
    expect(second.get_by_test_id("feed")).to_contain_text(f"listed listing #{listing}")
    audit(second, "feed-phone")
    second.goto(f"{url}/#/profile/{acme}")
    expect(second.get_by_test_id("profile-name")).to_have_text("acme")
    expect(second.get_by_text("1 followers")).to_be_visible()

    # Its own profile: a display name, and delivery details sealed to its own key that
    # checkout then fills in.
    second.goto(f"{url}/#/profile/{second_address}")
    fill_in(second, {
        "Display name": "Mei",
        "Delivery details (private)": "Mei Lin, 7 Pearl Street",
    })
    send(second, second.get_by_role("button", name="Save profile"), "sealed to your own key only")
    expect(second.get_by_test_id("profile-name")).to_have_text("Mei")
    audit(second, "profile-phone")
    second.goto(f"{url}/#/listing/{listing}")
    buy.get_by_role("button", name="Use the delivery details saved in my profile").click()
    expect(buy.get_by_label("Delivery details")).to_have_value("Mei Lin, 7 Pearl Street")

    # A flash sale shows its price and end, and checkout totals at it.
    web.agora("tx", "flash-sale-set", "--from", "acme", "--listing", str(listing),
              "--price", "33", "--stock", "5", "--blocks", "500")
    expect(second.get_by_test_id("flash-sale")).to_contain_text("33 AGR flash sale: 5 left")
    expect(buy.get_by_test_id("total")).to_have_text("33 AGR")
    audit(second, "listing-flash-phone")
