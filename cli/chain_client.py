"""What `agora tx` and `agora query` share: the node URL, RPC calls, signing and submitting.

Each command parses its arguments, makes one call here, and renders the result.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import fail, resolve_home
from cli.keys import KeyringBackend
from cli.keys import _keyring as open_keyring
from cli.keys import _passphrase as read_passphrase
from commerce.address import Address, address_of, from_text, to_text
from commerce.keys import Keypair
from commerce.tx import Transaction, TxBody, sign_tx
from node.config import load_config
from node.rpc.client import RpcCallError, RpcClient, RpcTransportError

DEFAULT_NODE = "http://127.0.0.1:26657"

NodeOption = Annotated[
    str | None,
    typer.Option("--node", envvar="AGORA_NODE",
                 help="The node's JSON-RPC URL [default: the local home's rpc.listen, "
                      f"else {DEFAULT_NODE}].", show_default=False),
]
FromOption = Annotated[str, typer.Option("--from", help="Name of the signing key in the keyring.")]
WaitOption = Annotated[
    bool, typer.Option("--wait/--no-wait", help="Wait until the transaction is finalized.")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Simulate against the latest state; submit nothing.")
]
NonceOption = Annotated[
    int | None,
    typer.Option("--nonce", min=0, help="Use this nonce [default: the account's next one].",
                 show_default=False),
]


def node_url(node: str | None, home: Path | None) -> str:
    """The RPC URL: --node, else the home's rpc.listen, else the default."""
    if node:
        return node if "://" in node else f"http://{node}"
    config_file = resolve_home(home) / "config" / "config.toml"
    if config_file.is_file():
        host, port = load_config(config_file).rpc.listen.rsplit(":", 1)
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{host}:{port}"
    return DEFAULT_NODE


async def _call(url: str, method: str, params: dict[str, Any]) -> Any:
    async with RpcClient(url) as client:
        return await client.call(method, **params)


def rpc(url: str, method: str, **params: Any) -> Any:
    """Call one RPC method; an error becomes one line on stderr and exit code 1."""
    try:
        return asyncio.run(_call(url, method, params))
    except RpcCallError as exc:
        fail(exc.reason or str(exc.code), exc.message)
    except RpcTransportError as exc:
        fail("node_unreachable", f"{url}: {exc}")
    except OSError as exc:
        fail("node_unreachable", f"{url}: {exc}")


@dataclass
class Signer:
    """Where the signing key comes from."""

    name: str
    keyring_dir: Path | None
    backend: KeyringBackend
    home: Path | None
    passphrase_file: Path | None

    def keypair(self) -> Keypair:
        """Unlock the key (asking for the passphrase of the file backend)."""
        keyring = open_keyring(self.keyring_dir, self.home, self.backend)
        keyring.show(self.name)  # fails with key_not_found before asking a passphrase
        passphrase = None
        if self.backend is KeyringBackend.file:
            passphrase = read_passphrase(self.passphrase_file, confirm=False)
        return keyring.keypair(self.name, passphrase=passphrase)


def signer_options(from_key: str, keyring_dir: Path | None, keyring_backend: KeyringBackend,
                   home: Path | None, passphrase_file: Path | None) -> Signer:
    """Bundle the signing options of a command."""
    return Signer(from_key, keyring_dir, keyring_backend, home, passphrase_file)


def resolve_address(text: str, keyring_dir: Path | None, backend: KeyringBackend,
                    home: Path | None) -> Address:
    """An address given as agora1... text or as the name of a key in the keyring."""
    if text.startswith("agora1"):
        return from_text(text)
    keyring = open_keyring(keyring_dir, home, backend)
    return from_text(keyring.show(text).address)


def build_and_send(url: str, signer: Signer, body: TxBody, *, wait: bool, dry_run: bool,
                   nonce: int | None) -> tuple[Transaction, dict[str, Any]]:
    """Sign `body` with the signer's next nonce and submit it (or simulate it)."""
    keypair = signer.keypair()
    status = rpc(url, "node_status")
    chain_id = str(status["chain_id"])
    if nonce is None:
        account = rpc(url, "state_getAccount", address=to_text(address_of(keypair.public_key)))
        nonce = int(account["pending_nonce"])
    tx = sign_tx(keypair, chain_id, nonce, body)
    if dry_run:
        return tx, rpc(url, "tx_simulate", tx=tx.raw.hex())
    result = rpc(url, "tx_submit", tx=tx.raw.hex(), wait="commit" if wait else "none")
    return tx, result
