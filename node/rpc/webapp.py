"""The web app (web/app, built to web/app/dist) served by the RPC server at GET `/`.

`add_web_routes(app, root)` serves the built files under `root`: `index.html` at `/` with
`Cache-Control: no-cache`, content-hashed files under `/assets/` cached for a year
(`immutable`), every other file `no-cache`. Only files of a known type are served, none over
`MAX_WEB_FILE_BYTES`, and never a path outside `root` (a `..` segment, a dot file, a
backslash or a symlink that leaves the root answers 404). The referral link's web form
`/listing/<id>?share=<id>` (the CLI's `agora://listing/<id>?share=<id>`) redirects to the
app's listing page with the share kept, `/#/listing/<id>?share=<id>`.

When `root` has no `index.html` (the app was not built) GET `/` answers one line saying how
to build it; when the app is turned off (`[web] enabled = false`) GET `/` answers 404 with
one line saying so. POST `/` stays JSON-RPC either way.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import web

from node.rpc.limits import (
    MAX_REFERRAL_ID_DIGITS,
    MAX_WEB_FILE_BYTES,
    MAX_WEB_PATH_CHARS,
    WEB_ASSET_MAX_AGE_S,
)

WEB_ROOT = web.AppKey("agora_web_root", Path)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = frozenset({".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt",
                          ".webmanifest"})
COMPRESS_FROM_BYTES = 1024  # smaller files go as they are: gzip would not pay
ASSETS_DIR = "assets"  # the bundler's output of content-hashed files
NO_CACHE = "no-cache"
ASSET_CACHE = f"public, max-age={WEB_ASSET_MAX_AGE_S}, immutable"
# The app loads its own scripts and styles and talks only to the node that served it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
NOT_BUILT = (
    "The Agora web app is not built on this node: run `make web` (or `make devnet`) in the "
    "source tree, or set [web] root in config.toml to a built app.\n"
)
TURNED_OFF = "The Agora web app is turned off on this node ([web] enabled = false).\n"
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_ID_RE = re.compile(rf"^[1-9][0-9]{{0,{MAX_REFERRAL_ID_DIGITS - 1}}}$")


def default_web_root() -> Path:
    """The app as built in the source tree (`web/app/dist` beside the `node` package)."""
    return Path(__file__).resolve().parents[2] / "web" / "app" / "dist"


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain",
                        headers={"Cache-Control": NO_CACHE, **SECURITY_HEADERS})


def resolve_web_path(root: Path, path: str) -> Path | None:
    """The file under `root` that the URL path names, or None when it names none we serve.

    Each segment must be a plain name (letters, digits, `_`, `-`, `.`, not starting with a
    dot), the type must be known, and the resolved file must stay inside `root`.
    """
    if len(path) > MAX_WEB_PATH_CHARS:
        return None
    segments = path.strip("/").split("/")
    if not segments or not all(_SEGMENT_RE.match(segment) for segment in segments):
        return None
    if Path(segments[-1]).suffix not in CONTENT_TYPES:
        return None
    base = root.resolve()
    candidate = base.joinpath(*segments).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


def _read_capped(path: Path) -> bytes | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_WEB_FILE_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_WEB_FILE_BYTES else None


async def _file_response(request: web.Request, path: Path, cache: str) -> web.Response:
    data = await asyncio.to_thread(_read_capped, path)
    if data is None:
        return _text(404, "not found\n")
    headers = {"Cache-Control": cache, **SECURITY_HEADERS}
    if path.suffix == ".html":
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response = web.Response(body=data, headers=headers)
    response.content_type = CONTENT_TYPES[path.suffix].split(";")[0]
    if "charset=" in CONTENT_TYPES[path.suffix]:
        response.charset = "utf-8"
    if path.suffix in COMPRESSIBLE and len(data) > COMPRESS_FROM_BYTES:
        response.enable_compression()
    return response


async def get_index(request: web.Request) -> web.StreamResponse:
    """The app's `index.html`, never cached without revalidation; one line when not built."""
    root = request.app[WEB_ROOT]
    index = resolve_web_path(root, "index.html")
    if index is None:
        return _text(503, NOT_BUILT)
    return await _file_response(request, index, NO_CACHE)


async def get_file(request: web.Request) -> web.StreamResponse:
    """A built file under the root: hashed assets cached for a year, others revalidated."""
    path = request.match_info["path"]
    found = resolve_web_path(request.app[WEB_ROOT], path)
    if found is None:
        return _text(404, "not found\n")
    cache = ASSET_CACHE if path.startswith(f"{ASSETS_DIR}/") else NO_CACHE
    return await _file_response(request, found, cache)


async def get_referral(request: web.Request) -> web.StreamResponse:
    """`/listing/<id>?share=<id>` to the app's listing page, the share carried along."""
    listing = request.match_info["listing"]
    share = request.query.get("share", "")
    if not _ID_RE.match(listing) or (share and not _ID_RE.match(share)):
        return _text(400, "a referral link is /listing/<listing id>?share=<share id>, "
                          "both positive whole numbers\n")
    target = f"/#/listing/{listing}" + (f"?share={share}" if share else "")
    raise web.HTTPFound(target, headers={"Cache-Control": NO_CACHE, **SECURITY_HEADERS})


async def get_turned_off(request: web.Request) -> web.StreamResponse:
    """GET `/` on a node whose app is off."""
    return _text(404, TURNED_OFF)


def add_web_routes(app: web.Application, root: Path | None) -> None:
    """Serve the app from `root` (None: turned off, GET `/` says so)."""
    if root is None:
        app.router.add_get("/", get_turned_off)
        return
    app[WEB_ROOT] = root
    app.router.add_get("/", get_index)
    app.router.add_get("/listing/{listing}", get_referral)
    app.router.add_get("/{path:.+}", get_file)
