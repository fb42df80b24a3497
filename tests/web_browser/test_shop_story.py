"""A shopper and a merchant in real Chromium against a real 4-validator devnet: the merchant
lists, the shopper (a phone) makes a wallet, is funded, buys through a referral link with
delivery details sealed in the browser, the merchant opens them and ships with a tracking
note, the shopper reads it, confirms and reviews, the merchant replies, shopper and sharer
(a third browser, whose share button made the link) claim their rewards, and the explorer
shows the purchase, its block and the certificate. Every page is audited (axe) and kept as a
screenshot. Figures for docs/PERFORMANCE: first load of the storefront, Buy to final."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from tests.web_browser.conftest import (
    PASSPHRASE,
    WebDevnet,
    audit,
    close_dialog,
    contexts,
    fill_in,
    funded_wallet,
    import_wallet,
    send,
    sign,
)

DELIVERY = "Wang Fang, 88 Nanjing Road, Shanghai 200001"
TRACKING = "SF Express SF1234567890"


def first_load(page: Page, url: str) -> tuple[int, float]:
    """Open the storefront cold; (bytes transferred, ms until the first listing shows)."""
    received: list[int] = []
    page.on("response", lambda response: received.append(
        int(response.headers.get("content-length") or len(response.body() or b""))))
    started = time.perf_counter()
    page.goto(url + "/")
    expect(page.locator(".listing-card").first).to_be_visible()
    return sum(received), (time.perf_counter() - started) * 1000


def test_shop_story(web: WebDevnet, browser: Browser) -> None:
    with contexts(browser, False, True, False) as (merchant, shopper, sharer):
        sharer.grant_permissions(["clipboard-read", "clipboard-write"])
        run_story(web, merchant.new_page(), shopper.new_page(), sharer.new_page())


def completed_purchase(web: WebDevnet, buyer: str) -> None:
    """`buyer` buys from bazaar and confirms (CLI): a sharer earns share rewards only after a
    completed purchase of its own."""
    listing = web.agora("tx", "listing-create", "--from", "bazaar", "--title", "Tea towel",
                        "--price", "12", "--stock", "5", "--category", "home")["listing"]
    order = web.agora("tx", "purchase", "--from", buyer, "--listing", str(listing),
                      "--delivery", "Carol, 3 Hill St")["order"]
    web.agora("tx", "order-ship", "--from", "bazaar", "--order", str(order))
    web.agora("tx", "order-confirm", "--from", buyer, "--order", str(order))


def claim_rewards(page: Page) -> None:
    """Claim the wallet page's accrued rewards: some were accrued, none are left, some are
    claimed."""
    accrued = page.get_by_test_id("rewards-accrued")
    expect(accrued).not_to_have_text("0 AGR")
    send(page, page.get_by_role("button", name="Claim rewards"))
    expect(accrued).to_have_text("0 AGR")
    expect(page.get_by_test_id("rewards-claimed")).not_to_have_text("0 AGR")


def run_story(web: WebDevnet, merchant: Page, shopper: Page, sharer: Page) -> None:
    url = web.url
    completed_purchase(web, "carol")
    # The merchant (acme, approved by the devnet) brings its key into the browser, lists.
    import_wallet(merchant, url, web.seed("acme"))
    merchant.goto(f"{url}/#/merchant")
    expect(merchant.get_by_role("heading", name="Sales of acme")).to_be_visible()
    merchant.get_by_label("Title", exact=True).fill("Celadon teapot")
    merchant.get_by_label("Category", exact=True).fill("kitchen")
    merchant.get_by_label("Price", exact=True).fill("25.5")
    merchant.get_by_label("Stock", exact=True).fill("3")
    merchant.get_by_label("Referral rate").fill("10")
    merchant.get_by_label("Description", exact=True).fill("Longquan celadon, 600 ml")
    send(merchant, merchant.get_by_role("button", name="Create listing"),
         "List “Celadon teapot” at 25.5 AGR")
    row = merchant.get_by_role("link", name="Celadon teapot")
    expect(row).to_be_visible()
    listing = int(re.sub(r"\D", "", row.get_attribute("href") or ""))
    audit(merchant, "merchant-console")

    # carol, in her browser, gets her referral link with the share button and copies it.
    import_wallet(sharer, url, web.seed("carol"))
    sharer.goto(f"{url}/#/listing/{listing}")
    send(sharer, sharer.get_by_role("button", name="Get my referral link"),
         "you earn 10% of the sales")
    link_box = sharer.get_by_test_id("share-link")
    referral = link_box.input_value()
    match = re.fullmatch(rf"{re.escape(url)}/listing/{listing}\?share=(\d+)", referral)
    assert match is not None, referral
    shared = {"share": int(match.group(1))}
    sharer.get_by_role("button", name="Copy link").click()
    assert sharer.evaluate("navigator.clipboard.readText()") == referral
    audit(sharer, "listing-share")

    # The shopper, on a phone: the storefront, a new wallet, funded by alice.
    bytes_total, first_listing_ms = first_load(shopper, url)
    print(f"\nfirst load of the storefront: {bytes_total} bytes, first listing on screen "
          f"after {first_listing_ms:.0f} ms")
    audit(shopper, "storefront-phone")
    funded_wallet(shopper, url, web, "500")
    audit(shopper, "wallet-phone")

    # The referral link opens the listing page with the share carried into the purchase.
    shopper.goto(referral)
    expect(shopper).to_have_url(re.compile(rf"#/listing/{listing}\?share={shared['share']}$"))
    expect(shopper.get_by_test_id("via-share")).to_contain_text(f"referral #{shared['share']}")
    expect(shopper.get_by_test_id("price")).to_have_text("25.5 AGR")
    fill_in(shopper, {"Quantity": "2", "Delivery details": DELIVERY})
    audit(shopper, "listing-phone")
    started = time.perf_counter()
    shopper.get_by_role("button", name="Buy", exact=True).click()
    dialog = shopper.get_by_role("dialog")
    expect(dialog).to_contain_text("Buy 2 × “Celadon teapot” (version 1) from acme for 51 AGR")
    expect(dialog).to_contain_text("sealed: only acme can open them")
    expect(dialog).to_contain_text(f"Referral #{shared['share']} earns its sharer 10%")
    sign(shopper)
    buy_ms = (time.perf_counter() - started) * 1000
    signed_ms = dialog.get_by_test_id("tx-final").get_attribute("data-ms")
    print(f"Buy to finalized in the browser: {buy_ms:.0f} ms from the Buy button, "
          f"{signed_ms} ms from Sign and send (unlock, sign, submit, final)")
    purchase_tx = (dialog.get_by_role("link", name="See it in the explorer")
                   .get_attribute("href") or "").rsplit("/", 1)[-1]
    close_dialog(shopper)
    placed = shopper.get_by_test_id("order-placed")
    expect(placed).to_be_visible()
    order = int(re.search(r"#(\d+)", placed.inner_text()).group(1))  # type: ignore[union-attr]
    on_chain = web.query("order", str(order))
    assert on_chain["share"] == shared["share"]
    assert on_chain["quantity"] == 2
    assert on_chain["status"] == "paid"

    # The merchant opens the delivery details in its browser and ships with a tracking note.
    merchant.goto(f"{url}/#/merchant")
    to_ship = merchant.get_by_test_id(f"ship-{order}")
    expect(to_ship).to_be_visible()
    to_ship.get_by_role("button", name="Open the delivery details").click()
    expect(to_ship.get_by_test_id("delivery-details")).to_have_text(DELIVERY)
    to_ship.get_by_label("Tracking note").fill(TRACKING)
    send(merchant, to_ship.get_by_role("button", name="Mark as shipped"))

    # The shopper reads the tracking note, confirms, reviews, claims.
    shopper.goto(f"{url}/#/wallet")
    card = shopper.get_by_test_id(f"order-{order}")
    expect(card.get_by_test_id("order-status")).to_have_text("shipped")
    card.get_by_role("button", name="Read the tracking note").click()
    expect(card.get_by_test_id("tracking-note")).to_have_text(TRACKING)
    send(shopper, card.get_by_role("button", name="Confirm receipt"),
         "51 AGR is released to the merchant")
    expect(card.get_by_test_id("order-status")).to_have_text("completed")
    card.get_by_label("Your review").fill("Beautiful glaze, well packed.")
    send(shopper, card.get_by_role("button", name="Post review"))
    expect(card).to_contain_text("You reviewed it: 5 of 5.")
    claim_rewards(shopper)
    audit(shopper, "wallet-orders-phone")

    # The merchant replies to the review; the figures count the sale and the commission.
    merchant.goto(f"{url}/#/merchant")
    merchant.get_by_label("Your reply").fill("Thank you, enjoy your tea!")
    send(merchant, merchant.get_by_role("button", name="Reply", exact=True))
    expect(merchant.get_by_text("Commission paid to sharers")).to_be_visible()
    expect(merchant.locator("dl.figures")).to_contain_text("5.1 AGR")
    audit(merchant, "merchant-after-sale")

    # The sharer was paid the commission and accrued the share reward: she claims it.
    assert web.query("share", str(shared["share"]))["commission_earned"] == 5_100_000
    sharer.goto(f"{url}/#/wallet")
    claim_rewards(sharer)

    # The listing page shows the review with its reply, to everyone.
    shopper.goto(f"{url}/#/listing/{listing}")
    expect(shopper.get_by_text("Thank you, enjoy your tea!")).to_be_visible()

    # The explorer: the purchase decoded with its receipt, its block, the certificate.
    merchant.goto(f"{url}/#/explorer")
    expect(merchant.get_by_test_id("explorer-height")).not_to_have_text("0")
    audit(merchant, "explorer")
    merchant.get_by_label("Search by address").fill(purchase_tx)
    merchant.get_by_role("button", name="Go").click()
    expect(merchant.get_by_test_id("tx-status")).to_contain_text("finalized in")
    expect(merchant.get_by_test_id("tx-body")).to_contain_text("sealed note")
    expect(merchant.locator(".event .badge", has_text="purchase")).to_be_visible()
    audit(merchant, "explorer-tx")
    merchant.get_by_test_id("tx-status").get_by_role("link").click()
    expect(merchant.get_by_test_id("certificate-check")).to_contain_text("Final:")
    signers = merchant.get_by_test_id("signers").locator("li")
    assert 3 <= signers.count() <= 4
    expect(signers.first).to_contain_text("signature valid")
    audit(merchant, "explorer-block")

    # One language table: the same storefront in Simplified Chinese.
    shopper.goto(f"{url}/")
    shopper.get_by_label("Language").select_option("zh")
    expect(shopper.get_by_role("heading", name="商店", exact=True)).to_be_visible()
    expect(shopper.locator("html")).to_have_attribute("lang", "zh-CN")
    audit(shopper, "storefront-zh-phone")
    shopper.get_by_label("语言").select_option("en")
    assert PASSPHRASE not in shopper.content()
