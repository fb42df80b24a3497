"""The browser tier: real headless Chromium (Debian's `chromium`, driven by Playwright for
Python through `executable_path`, no browser download) against a real 4-validator devnet
whose nodes serve the built app (`make web`). One devnet and one browser for the package;
every page is audited with axe-core (from npm, injected) and saved as a screenshot in
`tests/web_browser/artifacts/` (gitignored)."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from tests.cli_e2e.conftest import AGORA, Shell, running_devnet

ROOT = Path(__file__).resolve().parents[2]
APP_INDEX = ROOT / "web" / "app" / "dist" / "index.html"
AXE_SCRIPT = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSPHRASE = "correct horse battery"
TX_TIMEOUT_MS = 60_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SERIOUS = ("serious", "critical")

pytestmark = pytest.mark.e2e


@dataclass
class WebDevnet:
    """The devnet, its nodes' RPC addresses by name, and the CLI to act beside the browser."""

    shell: Shell
    rpc: dict[str, str]

    @property
    def url(self) -> str:
        return self.shell.node

    def agora(self, *args: str) -> Any:
        """`agora ARGS` with the devnet's test keyring; the JSON answer."""
        return self.shell.ok(*args, *self.shell.keyring)

    def query(self, *args: str) -> Any:
        """`agora query ARGS`; the JSON answer."""
        return self.shell.ok("query", *args)

    def fund(self, address: str, tokens: str) -> None:
        self.shell.tx("transfer", "alice", "--to", address, "--amount", tokens)

    def seed(self, name: str) -> str:
        return str(self.agora("keys", "export", name, "--hex", "--unsafe")["seed"])

    def devnet(self, *args: str) -> None:
        done = subprocess.run([AGORA, "devnet", *args], capture_output=True, text=True,
                              cwd=self.shell.cwd, timeout=120)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="package")
def web() -> Iterator[WebDevnet]:
    if not APP_INDEX.is_file() or not AXE_SCRIPT.is_file():
        pytest.fail("the web app is not built: run `make web` (make test does)")
    import tempfile
    with tempfile.TemporaryDirectory(prefix="agora-web-") as directory:
        with running_devnet(Path(directory), validators=4) as shell:
            status = shell.run("devnet", "status", "--output", "json")
            assert status.returncode == 0, status.stderr
            nodes = json.loads(status.stdout)["nodes"]
            yield WebDevnet(shell, {node["name"]: node["rpc"] for node in nodes})


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is missing: run `make chromium` as root, or "
                    "`sudo apt-get install chromium`")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


def new_context(browser: Browser, *, phone: bool = False) -> BrowserContext:
    """A fresh browser profile (its own localStorage); CSP bypassed so axe can be injected."""
    context = browser.new_context(viewport=PHONE if phone else DESKTOP, bypass_csp=True,
                                  locale="en-GB")
    context.set_default_timeout(20_000)
    return context


@contextlib.contextmanager
def contexts(browser: Browser, *phones: bool) -> Iterator[list[BrowserContext]]:
    """Fresh browser profiles, one per entry of `phones` (a phone's screen where true), all
    closed on the way out, also on failure."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(contextlib.closing(new_context(browser, phone=phone)))
               for phone in phones]


def audit(page: Page, name: str) -> None:
    """Save a screenshot, then fail when the page is wider than the screen (a phone must not
    scroll sideways) or on any serious or critical axe-core violation."""
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow} px wider than the screen"
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }));
    }""")
    serious = [v for v in result if v["impact"] in SERIOUS]
    assert not serious, f"{name}: accessibility violations: {json.dumps(serious, indent=1)}"


def create_wallet(page: Page, url: str) -> str:
    """Create a browser wallet on `url`'s app; its address."""
    page.goto(f"{url}/#/wallet")
    page.get_by_label("Passphrase", exact=True).first.fill(PASSPHRASE)
    page.get_by_label("Repeat the passphrase").first.fill(PASSPHRASE)
    page.get_by_role("button", name="Create wallet").click()
    address = page.get_by_test_id("wallet-address")
    expect(address).to_contain_text("agora1", timeout=30_000)
    return address.inner_text().strip()


def funded_wallet(page: Page, url: str, web: WebDevnet, tokens: str) -> str:
    """A new browser wallet on `url`'s app, funded with `tokens` by the devnet; its address,
    once the wallet shows the balance."""
    address = create_wallet(page, url)
    web.fund(address, tokens)
    expect(page.get_by_test_id("balance")).to_have_text(f"{tokens} AGR", timeout=20_000)
    return address


def import_wallet(page: Page, url: str, seed: str) -> str:
    page.goto(f"{url}/#/wallet")
    page.get_by_label("Secret key").fill(seed)
    form = page.locator("form", has=page.get_by_role("button", name="Import"))
    form.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    form.get_by_label("Repeat the passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Import").click()
    address = page.get_by_test_id("wallet-address")
    expect(address).to_contain_text("agora1", timeout=30_000)
    return address.inner_text().strip()


def sign(page: Page, *, passphrase: str | None = None, expect_final: bool = True) -> str:
    """In the transaction dialog: check it says what will be signed, sign, wait for the
    outcome; the outcome's text (the dialog is then closed)."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("You are about to sign:")).to_be_visible()
    field = dialog.get_by_label("Your passphrase")
    if field.is_visible():  # the key is locked after a page load: the dialog unlocks it
        field.fill(passphrase or PASSPHRASE)
    dialog.get_by_role("button", name="Sign and send").click()
    outcome = dialog.locator("[data-testid=tx-final], [data-testid=tx-refused], "
                             "[data-testid=tx-unreachable]")
    expect(outcome).to_be_visible(timeout=TX_TIMEOUT_MS)
    text = outcome.inner_text()
    if expect_final:
        assert "Final in block" in text, text
    return text


def close_dialog(page: Page) -> None:
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_be_hidden()


def send(page: Page, button: Locator, says: str | None = None) -> None:
    """Click `button`, check that the transaction dialog says `says` (when given), sign, wait
    for the transaction to be final and close the dialog."""
    button.click()
    if says is not None:
        expect(page.get_by_role("dialog")).to_contain_text(says)
    sign(page)
    close_dialog(page)


def fill_in(scope: Page | Locator, fields: dict[str, str]) -> None:
    """Fill each field of `scope` (a page or a form), found by its label, with its text."""
    for label, text in fields.items():
        scope.get_by_label(label).fill(text)
