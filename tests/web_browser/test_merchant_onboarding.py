"""A new merchant in the browser: registers, watches the validators' approval votes arrive
live, lists, publishes a new version of the listing, opens a poll about the shop, and the
poll is voted on from the listing page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.web_browser.conftest import (
    WebDevnet,
    audit,
    fill_in,
    funded_wallet,
    new_context,
    send,
)


def test_a_merchant_is_voted_in_and_runs_the_shop(web: WebDevnet, browser: Browser) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        address = funded_wallet(page, web.url, web, "100")
        page.goto(f"{web.url}/#/merchant")
        fill_in(page, {
            "Shop name": "Lotus Crafts",
            "About the shop": "Lamps and lanterns from Suzhou",
        })
        send(page, page.get_by_role("button", name="Register"), "Register the shop “Lotus Crafts”")
        votes = page.get_by_test_id("merchant-votes")
        expect(votes).to_contain_text("Lotus Crafts: 0 of the 3 validator votes needed")
        audit(page, "merchant-pending")
        web.agora("tx", "merchant-vote", "--from", "v0", "--merchant", address,
                  "--action", "approve")
        expect(votes).to_contain_text("1 of the 3", timeout=20_000)  # live, no reload
        for validator in ("v1", "v2"):
            web.agora("tx", "merchant-vote", "--from", validator, "--merchant", address,
                      "--action", "approve")
        expect(page.get_by_role("heading", name="Sales of Lotus Crafts")).to_be_visible(
            timeout=20_000)

        page.get_by_label("Title", exact=True).fill("Lotus lamp")
        page.get_by_label("Category", exact=True).fill("lighting")
        page.get_by_label("Price", exact=True).fill("30")
        page.get_by_label("Stock", exact=True).fill("5")
        page.get_by_label("Referral rate").fill("5")
        send(page, page.get_by_role("button", name="Create listing"))
        page.get_by_role("button", name="Edit “Lotus lamp”").click()
        page.get_by_label("Price", exact=True).fill("28.75")
        send(page, page.get_by_role("button", name="Save as a new version"),
             "Publish a new version of “Lotus lamp”: 28.75 AGR")
        row = page.get_by_role("row", name=re.compile("Lotus lamp"))
        expect(row).to_contain_text("28.75 AGR")
        listing = int(re.sub(r"\D", "", page.get_by_role("link", name="Lotus lamp")
                             .get_attribute("href") or ""))

        fill_in(page, {
            "Question": "Which colour next?",
            "Options": "jade\nvermilion",
            "Open for (blocks)": "200",
        })
        send(page, page.get_by_role("button", name="Create a poll"))
        audit(page, "merchant-console-own-shop")

        page.goto(f"{web.url}/#/listing/{listing}")
        expect(page.get_by_test_id("price")).to_have_text("28.75 AGR")
        versions = page.get_by_role("region", name="Version history").locator("tbody tr")
        expect(versions).to_have_count(2)
        send(page, page.get_by_role("button", name="Vote “vermilion”"))
        expect(page.get_by_role("group", name="Which colour next?")).to_contain_text(
            "vermilion: 1")
        audit(page, "listing-versions-poll")
        merchant = web.query("merchant", address)
        assert merchant["status"] == "approved"
        assert merchant["name"] == "Lotus Crafts"
    finally:
        context.close()
