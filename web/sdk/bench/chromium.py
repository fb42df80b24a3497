"""The SDK's signing rate in Debian's headless Chromium (the browsers' figure beside
`npm run bench`'s Node.js one).

    cd web && npm ci && npm run build -w @agora/sdk && cd ..
    .venv/bin/python web/sdk/bench/chromium.py [TXS]

Serves web/ on a free loopback port (the built SDK and its dependencies, unbundled, through
the import map of chromium.html), opens the page in `chromium` through Playwright and prints
what it measured.
"""

from __future__ import annotations

import functools
import shutil
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

WEB = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 600_000


class _Quiet(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                      ".mjs": "text/javascript"}

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


def main(argv: list[str]) -> int:
    """Print the rates measured in Chromium; 1 with one line when something is missing."""
    txs = int(argv[0]) if argv else 2000
    chromium = shutil.which("chromium")
    if chromium is None:
        print("no chromium: apt-get install chromium", file=sys.stderr)
        return 1
    if not (WEB / "sdk" / "dist" / "index.js").exists():
        print("the SDK is not built: cd web && npm ci && npm run build -w @agora/sdk",
              file=sys.stderr)
        return 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=WEB))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
            try:
                page = browser.new_page()
                port = server.server_address[1]
                page.goto(f"http://127.0.0.1:{port}/sdk/bench/chromium.html?txs={txs}")
                page.wait_for_function("window.benchResult !== undefined", timeout=TIMEOUT_MS)
                print(f"{browser.version}:")
                for line in page.evaluate("window.benchResult"):
                    print(f"  {line}")
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
