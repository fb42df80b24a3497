"""The app by keyboard alone: skip to the content, move through the navigation, make a
wallet with Tab and Enter, and a transaction dialog that holds the focus and closes with
Escape without signing anything."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.web_browser.conftest import PASSPHRASE, WebDevnet, audit, new_context


def focused(page: Page) -> str:
    """The focused element: its accessible text, or its label's."""
    return str(page.evaluate("""() => {
        const e = document.activeElement;
        if (!e) return '';
        const label = e.id ? document.querySelector(`label[for="${e.id}"]`) : null;
        return (label ? label.textContent : (e.textContent || e.id || e.tagName)).trim();
    }"""))


def tab_to(page: Page, text: str, *, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page).startswith(text):
            return
    raise AssertionError(f"Tab never reached {text!r}; last focus {focused(page)!r}")


def test_the_app_works_by_keyboard(web: WebDevnet, browser: Browser) -> None:
    created = web.agora("tx", "listing-create", "--from", "acme", "--title", "Bamboo whisk",
                        "--price", "8", "--stock", "4", "--category", "kitchen")
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(web.url + "/")
        page.keyboard.press("Tab")
        assert focused(page) == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("Shift+Tab")
        tab_to(page, "Wallet")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{web.url}/#/wallet")
        tab_to(page, "Passphrase")
        page.keyboard.type(PASSPHRASE)
        tab_to(page, "Repeat the passphrase")
        page.keyboard.type(PASSPHRASE)
        tab_to(page, "Create wallet")
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("wallet-address")).to_contain_text("agora1", timeout=30_000)

        page.goto(f"{web.url}/#/listing/{created['listing']}")
        expect(page.get_by_role("heading", name="Bamboo whisk")).to_be_visible()
        tab_to(page, "Delivery details")
        page.keyboard.type("Keyboard user, 1 Tab Street")
        tab_to(page, "Buy")
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        for _ in range(8):  # the modal dialog keeps the focus inside it
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.closest('dialog') !== null "
                                 "|| document.activeElement === document.body")
        audit(page, "buy-dialog-keyboard")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(page.get_by_label("Delivery details")).to_have_value("Keyboard user, 1 Tab Street")
        assert web.query("listing", str(created["listing"]))["stock"] == 4
    finally:
        context.close()
