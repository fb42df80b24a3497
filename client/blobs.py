"""Listing pictures: upload a blob to a node and read one back (`docs/RPC.md`, "Blobs").

    async with RpcClient("http://127.0.0.1:26657") as client:
        chain_id = (await client.status())["chain_id"]
        blob = await upload_blob(client, merchant_key, chain_id, picture_bytes)
        data, content_type = await get_blob(client, blob["sha256"])

    with SyncRpcClient(url) as client:
        blob = client.run(upload_blob(client.aio, merchant_key, chain_id, picture_bytes))

A blob is named by its SHA-256 (`blob_name`); the upload is signed by the merchant's key
over the chain id, the name, the size and the time (`upload_headers`), so only an approved
merchant can store one, on a node whose clock is within five minutes of the caller's. A
node's refusal raises `RpcCallError` with its reason (`blob_not_image`, `blob_quota`, ...);
a failure to reach the node raises `RpcTransportError`. `get_blob` re-checks that the
bytes hash to the name asked for.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import aiohttp

from client.rpc import RpcCallError, RpcClient, RpcTransportError
from commerce.keys import Keypair
from commerce.media import upload_signing_bytes

HEADER_KEY = "X-Agora-Key"
HEADER_TIMESTAMP = "X-Agora-Timestamp"
HEADER_SIGNATURE = "X-Agora-Signature"


def blob_name(data: bytes) -> str:
    """The name of `data` (its SHA-256) as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def blob_url(rpc_url: str, name: str) -> str:
    """Where the node at `rpc_url` serves blob `name`."""
    return f"{rpc_url.rstrip('/')}/blobs/{name}"


def upload_headers(key: Keypair, chain_id: str, data: bytes,
                   timestamp_ms: int | None = None) -> dict[str, str]:
    """The authentication headers of an upload of `data` by the merchant holding `key`."""
    if timestamp_ms is None:
        timestamp_ms = time.time_ns() // 1_000_000
    name = hashlib.sha256(data).digest()
    signature = key.sign(upload_signing_bytes(chain_id, name, len(data), timestamp_ms))
    return {HEADER_KEY: key.public_key.hex(), HEADER_TIMESTAMP: str(timestamp_ms),
            HEADER_SIGNATURE: signature.hex()}


async def upload_blob(client: RpcClient, key: Keypair, chain_id: str, data: bytes, *,
                      timestamp_ms: int | None = None) -> dict[str, Any]:
    """Upload `data` to the node of `client`; returns the blob's description (`sha256`,
    `url`, `bytes`, `content_type`, `width`, `height`, ...), also when it was held already."""
    headers = upload_headers(key, chain_id, data, timestamp_ms)
    headers["Content-Type"] = "application/octet-stream"
    url = blob_url(client.url, blob_name(data))
    status, body = await _request(client, "PUT", url, data=data, headers=headers)
    answer = _json_of(url, status, body)
    if status not in (200, 201) or not isinstance(answer, dict):
        raise _refusal(url, status, answer)
    return answer


async def get_blob(client: RpcClient, name: str) -> tuple[bytes, str]:
    """Blob `name`'s bytes and content type from the node of `client`; raises RpcCallError
    (`blob_not_found`, ...) when it does not serve it, RpcTransportError when the bytes do
    not hash to `name`."""
    url = blob_url(client.url, name)
    async with _session_request(client, "GET", url) as response:
        body = await response.read()
        content_type = response.headers.get("Content-Type", "")
        status = response.status
    if status != 200:
        raise _refusal(url, status, _json_of(url, status, body))
    if blob_name(body) != name:
        raise RpcTransportError(f"{url} answered bytes that do not hash to {name}")
    return body, content_type


def _session_request(client: RpcClient, method: str, url: str, **kwargs: Any) -> Any:
    return client.session.request(method, url, timeout=aiohttp.ClientTimeout(
        total=client.timeout_s), **kwargs)


async def _request(client: RpcClient, method: str, url: str,
                   **kwargs: Any) -> tuple[int, bytes]:
    try:
        async with _session_request(client, method, url, **kwargs) as response:
            return response.status, await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RpcTransportError(f"cannot reach {url}: {exc or type(exc).__name__}") from None


def _json_of(url: str, status: int, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise RpcTransportError(f"HTTP {status} from {url} is not JSON: {body[:100]!r}"
                                ) from None


def _refusal(url: str, status: int, answer: Any) -> RpcCallError:
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return RpcCallError(-32603, f"HTTP {status} from {url} without an error object")
    return RpcCallError(int(error.get("code", -32603)), str(error.get("message", "")),
                        {"reason": error.get("reason", "")})
