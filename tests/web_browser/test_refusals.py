"""What goes wrong, said in words and losing nothing: a wrong passphrase, a purchase the
chain refuses (out of stock), and the node that served the app going down and coming back."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.web_browser.conftest import (
    PASSPHRASE,
    WebDevnet,
    audit,
    close_dialog,
    create_wallet,
    fill_in,
    funded_wallet,
    new_context,
    send,
    sign,
)


def listing_of(web: WebDevnet, merchant: str, title: str, stock: int) -> int:
    created = web.agora("tx", "listing-create", "--from", merchant, "--title", title,
                        "--price", "2", "--stock", str(stock), "--category", "tests")
    return int(created["listing"])


def test_a_wrong_passphrase_says_so_and_keeps_the_key(web: WebDevnet, browser: Browser) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        address = create_wallet(page, web.url)
        page.get_by_role("button", name="Lock").click()
        page.get_by_label("Passphrase", exact=True).fill("not the passphrase")
        page.get_by_role("button", name="Unlock").click()
        error = page.get_by_test_id("unlock-error")
        expect(error).to_have_text(
            "Wrong passphrase: the key did not open. Nothing was changed; try again.")
        audit(page, "wallet-wrong-passphrase")
        page.reload()
        expect(page.get_by_test_id("wallet-address")).to_have_text(address)
        page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
        page.get_by_role("button", name="Unlock").click()
        expect(page.get_by_role("button", name="Lock")).to_be_visible()
        stored = page.evaluate("localStorage.getItem('agora.wallet.v1')")
        assert address in stored
        assert PASSPHRASE not in stored
    finally:
        context.close()


def test_an_out_of_stock_purchase_is_refused_in_words(web: WebDevnet, browser: Browser) -> None:
    listing = listing_of(web, "bazaar", "Last brass bell", 1)
    context = new_context(browser, phone=True)
    try:
        page = context.new_page()
        address = funded_wallet(page, web.url, web, "50")
        page.goto(f"{web.url}/#/listing/{listing}")
        fill_in(page, {"Quantity": "2", "Delivery details": "Li Lei, 1 Garden Lane"})
        page.get_by_role("button", name="Buy", exact=True).click()
        text = sign(page, expect_final=False)
        assert "Not enough in stock" in text, text
        assert "Nothing was spent or changed." in text
        audit(page, "listing-out-of-stock")
        close_dialog(page)
        # Nothing lost: the form keeps what was typed, the balance is whole, no order exists.
        expect(page.get_by_label("Delivery details")).to_have_value("Li Lei, 1 Garden Lane")
        assert web.query("account", address)["balance"] == 50_000_000
        assert web.query("listing", str(listing))["stock"] == 1
    finally:
        context.close()


def test_the_node_going_down_is_said_and_nothing_is_lost(web: WebDevnet, browser: Browser) -> None:
    listing = listing_of(web, "bazaar", "Paper lantern", 5)
    node = "v3"
    url = web.rpc[node]
    context = new_context(browser)
    try:
        page = context.new_page()
        funded_wallet(page, url, web, "50")
        page.goto(f"{url}/#/listing/{listing}")
        page.get_by_label("Delivery details").fill("Han Meimei, 9 River Road")
        web.devnet("stop", node)
        try:
            banner = page.get_by_test_id("offline")
            expect(banner).to_contain_text(f"Cannot reach the node at {url}/", timeout=30_000)
            page.get_by_role("button", name="Buy", exact=True).click()
            text = sign(page, expect_final=False)
            assert "The node cannot be reached: nothing was sent." in text, text
            audit(page, "listing-node-down")
            close_dialog(page)
            expect(page.get_by_label("Delivery details")).to_have_value("Han Meimei, 9 River Road")
        finally:
            web.devnet("start", node)
        expect(page.get_by_test_id("offline")).to_be_hidden(timeout=30_000)
        send(page, page.get_by_role("button", name="Buy", exact=True))
        expect(page.get_by_test_id("order-placed")).to_contain_text(re.compile(r"Order #\d+"))
    finally:
        context.close()
