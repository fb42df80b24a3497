"""What `agora tx` and `agora query` share: the node URL, RPC calls, signing and submitting.

Each command parses its arguments, makes one call here, and renders the result. The calls go
through the SDK (`client.rpc`, `client.wallet`); this module turns its errors into one line
on stderr.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from cli.client_config import load_client_config
from cli.common import fail, resolve_home
from cli.keys import KeyringBackend, open_keyring, read_passphrase
from cli.words import AMOUNT_REASONS, DEFAULT_SYMBOL, node_message
from client.rpc import RpcCallError, RpcTransportError, SyncRpcClient
from client.wallet import Wallet
from commerce.address import Address, from_text
from commerce.errors import AgoraError
from commerce.keys import Keypair
from commerce.tx import Transaction, TxBody
from node.config import load_config, parse_host_port

DEFAULT_NODE = "http://127.0.0.1:26657"
HOW_TO_NAME_A_NODE = "name one with --node URL, the AGORA_NODE variable, or --home DIR"

NodeOption = Annotated[
    str | None,
    typer.Option("--node",
                 help="The node's JSON-RPC URL [default: $AGORA_NODE, else the rpc.listen of "
                      "--home or $AGORA_HOME, else the devnet's .devnet/client.toml, else "
                      f"~/.agora's rpc.listen, else {DEFAULT_NODE}].", show_default=False),
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


class NodeUrl(str):
    """A node URL that remembers where it came from (for the unreachable message)."""

    source: str = ""

    @classmethod
    def of(cls, url: str, source: str) -> NodeUrl:
        """`url` (with http:// added when missing) chosen because of `source`."""
        value = cls(url if "://" in url else f"http://{url}")
        value.source = source
        return value


def _home_rpc(home: Path) -> str | None:
    config_file = home / "config" / "config.toml"
    if not config_file.is_file():
        return None
    host, port = parse_host_port(load_config(config_file).rpc.listen)
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def node_url(node: str | None, home: Path | None) -> NodeUrl:
    """The RPC URL: --node, $AGORA_NODE, the rpc.listen of --home or $AGORA_HOME, the
    devnet's client config (./.devnet/client.toml), ~/.agora's rpc.listen, the default."""
    if node:
        return NodeUrl.of(node, "--node")
    if os.environ.get("AGORA_NODE"):
        return NodeUrl.of(os.environ["AGORA_NODE"], "AGORA_NODE")
    if home is not None or os.environ.get("AGORA_HOME"):
        url = _home_rpc(resolve_home(home))
        if url:
            return NodeUrl.of(url, f"the rpc.listen of {resolve_home(home)}")
    client = load_client_config()
    if client is not None:
        return NodeUrl.of(client.node, str(client.path))
    url = _home_rpc(resolve_home(None))
    if url:
        return NodeUrl.of(url, f"the rpc.listen of {resolve_home(None)}")
    return NodeUrl.of(DEFAULT_NODE, "the default")


def unreachable(url: str) -> NoReturn:
    """One line: the URL tried, where it came from, and how to name another node."""
    source = getattr(url, "source", "")
    came = f" ({source})" if source else ""
    fail("node_unreachable", f"no node answers at {url}{came}; {HOW_TO_NAME_A_NODE}, "
         "or start a devnet with `agora devnet up`")


def token_symbol(url: str) -> str:
    """The chain's token symbol as `node_status` reports it (DEFAULT_SYMBOL if it cannot)."""
    try:
        with SyncRpcClient(url) as client:
            status = client.call("node_status")
    except (RpcCallError, RpcTransportError, OSError):
        return DEFAULT_SYMBOL
    return str(status.get("token_symbol") or DEFAULT_SYMBOL)


@contextlib.contextmanager
def connected(url: str) -> Iterator[SyncRpcClient]:
    """A client of the node at `url`; an RPC error inside becomes one line on stderr and
    exit code 1."""
    try:
        with SyncRpcClient(url) as client:
            yield client
    except RpcCallError as exc:
        reason = exc.reason or str(exc.code)
        symbol = token_symbol(url) if reason in AMOUNT_REASONS else DEFAULT_SYMBOL
        fail(reason, node_message(reason, exc.message, symbol))
    except RpcTransportError as exc:
        if str(exc).startswith("cannot reach"):
            unreachable(url)
        fail("node_unreachable", f"the server at {url} does not answer as an Agora node; "
             f"{HOW_TO_NAME_A_NODE}")
    except OSError:
        unreachable(url)


def rpc(url: str, method: str, **params: Any) -> Any:
    """Call one RPC method; an error becomes one line on stderr and exit code 1."""
    with connected(url) as client:
        return client.call(method, **params)


@dataclass
class Signer:
    """Where the signing key comes from."""

    name: str
    keyring_dir: Path | None
    backend: KeyringBackend
    home: Path | None
    passphrase_file: Path | None
    _unlocked: Keypair | None = field(default=None, repr=False, compare=False)

    def keypair(self) -> Keypair:
        """Unlock the key (asking for the passphrase of the file backend), once: a command
        that seals with the key before signing (`tx profile-set`, `tx purchase
        --delivery-field`) asks for the passphrase one time."""
        if self._unlocked is None:
            keyring = open_keyring(self.keyring_dir, self.home, self.backend)
            keyring.show(self.name)  # fails with key_not_found before asking a passphrase
            passphrase = None
            if self.backend is KeyringBackend.file:
                passphrase = read_passphrase(self.passphrase_file, confirm=False)
            self._unlocked = keyring.keypair(self.name, passphrase=passphrase)
        return self._unlocked


def signer_options(from_key: str, keyring_dir: Path | None, keyring_backend: KeyringBackend,
                   home: Path | None, passphrase_file: Path | None) -> Signer:
    """Bundle the signing options of a command."""
    return Signer(from_key, keyring_dir, keyring_backend, home, passphrase_file)


def resolve_address(text: str, keyring_dir: Path | None, backend: KeyringBackend,
                    home: Path | None) -> Address:
    """An address given as agora1... text, as the name of a key in the keyring, or as the
    name of a devnet account (from the devnet's client config) the keyring does not hold."""
    if text.startswith("agora1"):
        return from_text(text)
    keyring = open_keyring(keyring_dir, home, backend)
    try:
        return from_text(keyring.show(text).address)
    except AgoraError as exc:
        client = load_client_config()
        if exc.reason != "key_not_found" or client is None or text not in client.accounts:
            raise
        return from_text(client.accounts[text])


def build_and_send(url: str, signer: Signer, body: TxBody, *, wait: bool, dry_run: bool,
                   nonce: int | None) -> tuple[Transaction, dict[str, Any]]:
    """Sign `body` with the signer's next nonce (or `nonce`) and submit it, waiting for
    finality when `wait` (or simulate it); the transaction and the node's answer."""
    keypair = signer.keypair()
    with connected(url) as client:
        wallet = Wallet(client, keypair)
        tx = wallet.sign(body, nonce=nonce)
        receipt = wallet.simulate(tx) if dry_run else wallet.submit(tx, wait=wait)
    return tx, receipt.result
