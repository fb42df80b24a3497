"""`agora media upload|get|show`: listing pictures as blobs on a node (`docs/RPC.md`, "Blobs").

`upload` sends image files to the node, signed by the merchant's key (--from), and prints
each one's SHA-256: give those to `agora tx listing-media` (or to `--media` of
`listing-create` / `listing-update`) so a listing version names them. `get` saves a blob's
bytes after checking they hash to its name; `show` lists a listing version's pictures and
whether the node holds each. All go through the Python SDK (`client.blobs`, `client.rpc`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.chain_client import connected
from cli.common import (
    OUTPUT_OPTIONS,
    command_with,
    emit,
    fail,
    print_fields,
    print_table,
    subcommands,
)
from cli.context import NODE_OPTIONS, SIGNER_OPTIONS, NodeContext, SigningContext
from client.blobs import blob_name, blob_url, get_blob, upload_blob

app = subcommands("media", "Listing pictures: upload to a node, fetch, show a listing's.")

FilesArg = Annotated[list[Path], typer.Argument(
    exists=True, dir_okay=False, readable=True, help="Image files (PNG, JPEG, WebP, GIF).")]
HashArg = Annotated[str, typer.Argument(help="The blob's SHA-256, 64 hex digits.")]
MAX_FILE_READ_BYTES = 64 * 1024 * 1024  # a file larger than any node's blob limit is refused


def _read(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_READ_BYTES:
        fail("blob_too_large", f"{path} is {size} bytes, far over a blob's limit")
    return path.read_bytes()


def upload(signer: SigningContext, files: FilesArg) -> None:
    """Upload pictures to the node (approved merchants); prints each one's SHA-256."""
    datas = [_read(path) for path in files]
    keypair = signer.signer.keypair()
    with connected(signer.url) as client:
        chain_id = str(client.status()["chain_id"])
        blobs: list[dict[str, Any]] = []
        for path, data in zip(files, datas, strict=True):
            blob = client.run(upload_blob(client.aio, keypair, chain_id, data))
            blobs.append({"file": str(path), **blob})
    emit(signer.output, blobs, lambda: print_table(blobs, [
        ("sha256", "SHA256"), ("content_type", "TYPE"), ("bytes", "BYTES"), ("file", "FILE")]))


def get(node: NodeContext, sha256: HashArg, *,
        out: Annotated[Path | None, typer.Option(
            "--out", dir_okay=False, help="Write the bytes here [default: <sha256>.<ext>].")]
        = None) -> None:
    """Save a blob the node serves, after checking its bytes hash to its name."""
    name = sha256.lower()
    with connected(node.url) as client:
        data, content_type = client.run(get_blob(client.aio, name))
    assert blob_name(data) == name, "get_blob checks the hash"
    extension = content_type.removeprefix("image/").replace("jpeg", "jpg") or "bin"
    target = out or Path(f"{name}.{extension}")
    target.write_bytes(data)
    result = {"sha256": name, "file": str(target), "bytes": len(data),
              "content_type": content_type}
    emit(node.output, result, lambda: print_fields(result))


def show(node: NodeContext, listing: Annotated[int, typer.Argument(min=1, help="Listing id.")],
         *, version: Annotated[int | None, typer.Option(min=1, help="An earlier version.")]
         = None) -> None:
    """A listing version's pictures, in display order, and whether the node holds each."""
    result = node.call("media_getListingMedia", id=listing, version=version)
    rows = [{**item, "url": blob_url(node.url, item["sha256"]),
             "held": "yes" if item["stored"] else "no"} for item in result["media"]]
    emit(node.output, result, lambda: print_table(rows, [
        ("sha256", "SHA256"), ("held", "HELD"), ("content_type", "TYPE"), ("bytes", "BYTES"),
        ("url", "URL")]))


app.command("upload")(command_with(upload, SIGNER_OPTIONS + OUTPUT_OPTIONS, SigningContext))
app.command("get")(command_with(get, NODE_OPTIONS + OUTPUT_OPTIONS, NodeContext))
app.command("show")(command_with(show, NODE_OPTIONS + OUTPUT_OPTIONS, NodeContext))
