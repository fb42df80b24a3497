"""GET `/` serves the built web app: types, cache headers, limits, no way out of the root,
the referral redirect, the one-line answers when the app is not built or turned off."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from node.config import parse_config
from node.errors import NodeError
from node.rpc import Registry, create_app
from node.rpc.limits import MAX_WEB_FILE_BYTES
from node.rpc.webapp import default_web_root, resolve_web_path

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[Path | None], Awaitable[Client]]
INDEX = "<!doctype html><title>Agora</title><script type=module src=/assets/app-1a2b.js></script>"


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(root: Path | None) -> Client:
        client = TestClient(TestServer(create_app(Registry(), web_root=root)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-1a2b.js").write_text("console.log('agora');\n" * 100)
    (root / "assets" / "app-1a2b.css").write_text("body{margin:0}\n")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "notes.py").write_text("secret = 1\n")
    (root / ".env").write_text("KEY=1\n")
    (tmp_path / "outside.js").write_text("outside\n")
    (root / "assets" / "link.js").symlink_to(tmp_path / "outside.js")
    return root


async def test_index_is_html_revalidated_with_a_content_security_policy(
    make_client: MakeClient, built: Path
) -> None:
    client = await make_client(built)
    response = await client.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await response.text() == INDEX


async def test_post_root_stays_json_rpc(make_client: MakeClient, built: Path) -> None:
    client = await make_client(built)
    response = await client.post("/", data=json.dumps(
        {"jsonrpc": "2.0", "method": "rpc.discover", "id": 1}))
    assert response.status == 200
    assert (await response.json())["result"]["openrpc"].startswith("1.")


async def test_hashed_assets_are_cached_for_a_year_and_compressed(
    make_client: MakeClient, built: Path
) -> None:
    client = await make_client(built)
    response = await client.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip"
    assert (await response.text()).startswith("console.log")
    css = await client.get("/assets/app-1a2b.css")
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    icon = await client.get("/favicon.svg")
    assert icon.headers["Content-Type"] == "image/svg+xml"
    assert icon.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", [
    "/../outside.js", "/%2e%2e/outside.js", "/assets/%2e%2e/%2e%2e/outside.js",
    "/assets/..%2f..%2foutside.js", "/assets\\..\\..\\outside.js", "/.env", "/notes.py",
    "/assets/link.js", "/assets/", "/missing.js", "/assets/app-1a2b.js%00.png",
    "/" + "a" * 300 + ".js",
])
async def test_nothing_outside_the_root_or_of_an_unknown_type_is_served(
    make_client: MakeClient, built: Path, path: str
) -> None:
    client = await make_client(built)
    response = await client.get(path)
    assert response.status == 404, path
    assert "outside" not in await response.text()


def test_resolve_refuses_each_way_out(built: Path) -> None:
    assert resolve_web_path(built, "assets/app-1a2b.js") == (built / "assets/app-1a2b.js")
    for path in ("../outside.js", "assets/../../outside.js", "assets/link.js", ".env",
                 "assets//app-1a2b.js", "notes.py", "index.html/"[:-1] + "x"):
        assert resolve_web_path(built, path) is None, path


async def test_a_file_over_the_limit_is_not_served(make_client: MakeClient, built: Path) -> None:
    (built / "assets" / "huge-9f9f.js").write_bytes(b"x" * (MAX_WEB_FILE_BYTES + 1))
    (built / "assets" / "edge-9f9f.js").write_bytes(b"y" * MAX_WEB_FILE_BYTES)
    client = await make_client(built)
    assert (await client.get("/assets/huge-9f9f.js")).status == 404
    edge = await client.get("/assets/edge-9f9f.js")
    assert edge.status == 200
    assert len(await edge.read()) == MAX_WEB_FILE_BYTES


async def test_an_app_not_built_answers_one_line_saying_how(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(tmp_path / "no-dist")
    response = await client.get("/")
    assert response.status == 503
    text = await response.text()
    assert text.count("\n") == 1
    assert "make web" in text
    assert "Traceback" not in text


async def test_a_turned_off_app_says_so_and_serves_no_file(
    make_client: MakeClient, built: Path
) -> None:
    client = await make_client(None)
    response = await client.get("/")
    assert response.status == 404
    assert "turned off" in await response.text()
    assert (await client.get("/assets/app-1a2b.js")).status == 404
    assert (await client.get("/listing/3?share=2", allow_redirects=False)).status == 404


async def test_the_referral_link_redirects_to_the_listing_page_with_its_share(
    make_client: MakeClient, built: Path
) -> None:
    client = await make_client(built)
    response = await client.get("/listing/3?share=2", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/#/listing/3?share=2"
    plain = await client.get("/listing/7", allow_redirects=False)
    assert plain.headers["Location"] == "/#/listing/7"
    for bad in ("/listing/abc?share=2", "/listing/3?share=x", "/listing/0?share=1",
                "/listing/3?share=" + "9" * 30):
        refused = await client.get(bad, allow_redirects=False)
        assert refused.status == 400, bad
        assert "referral link" in await refused.text()


async def test_health_and_metrics_are_not_shadowed_by_the_files(
    make_client: MakeClient, built: Path
) -> None:
    client = await make_client(built)
    assert (await client.get("/health")).status == 200
    assert (await client.get("/metrics")).status == 200


def test_config_turns_the_app_off_and_names_its_root() -> None:
    config = parse_config({"web": {"enabled": False, "root": "site"}})
    assert config.web.enabled is False
    assert config.web.root == "site"
    assert parse_config({}).web.enabled is True
    with pytest.raises(NodeError, match="web.port: unknown key"):
        parse_config({"web": {"port": 1}})
    with pytest.raises(NodeError, match="web.enabled"):
        parse_config({"web": {"enabled": "yes"}})


def test_the_default_root_is_the_source_trees_build() -> None:
    assert default_web_root() == Path(__file__).resolve().parents[2] / "web" / "app" / "dist"


async def test_the_served_app_may_open_a_websocket_to_its_own_node(
    make_client: MakeClient, built: Path
) -> None:
    client = await make_client(built)
    host = f"{client.host}:{client.port}"
    ws = await client.ws_connect("/ws", origin=f"http://{host}")
    await ws.send_str(json.dumps({"jsonrpc": "2.0", "method": "rpc.discover", "id": 1}))
    assert (await ws.receive_json())["id"] == 1
    await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await client.ws_connect("/ws", origin="http://shop.example")
    assert caught.value.status == 403
