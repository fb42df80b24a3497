"""One way for a command to reach a node: the shared options and the context built from them.

`agora query`, `agora tx` and `agora order` commands declare only their own arguments and
options and take a context first: `NodeContext` (where the node is, the keyring that turns
key names into addresses, the output format) or `SigningContext` (also the key that signs).
The option lists below are appended to a command by `cli.common.command_with`, in the order
`--help` shows them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.chain_client import (
    FromOption,
    NodeOption,
    Signer,
    node_url,
    resolve_address,
    rpc,
    signer_options,
    token_symbol,
)
from cli.common import REQUIRED, HomeOption, OutputFormat, shared_options
from cli.keys import BackendOption, KeyringBackend, KeyringDirOption, PassphraseFileOption
from commerce.address import Address

# The keyring that resolves key names given where an address is expected.
NAME_OPTIONS = shared_options(
    ("keyring_dir", KeyringDirOption, None),
    ("keyring_backend", BackendOption, KeyringBackend.file),
)
# Where the node is (queries).
NODE_OPTIONS = shared_options(("node", NodeOption, None), ("home", HomeOption, None))
# The signing key, its keyring, and where the node is (transactions, sealed notes).
SIGNER_OPTIONS = shared_options(
    ("from_key", FromOption, REQUIRED),
    *((p.name, p.annotation, p.default) for p in NAME_OPTIONS),
    ("home", HomeOption, None),
    ("passphrase_file", PassphraseFileOption, None),
    ("node", NodeOption, None),
)


@dataclass
class NodeContext:
    """A command's way to the node (--node, --home), its keyring for names, its output."""

    node: str | None
    home: Path | None
    output: OutputFormat
    keyring_dir: Path | None = None
    keyring_backend: KeyringBackend = KeyringBackend.file

    @functools.cached_property
    def url(self) -> str:
        """The node's RPC URL (see `node_url` for where it comes from)."""
        return node_url(self.node, self.home)

    def call(self, method: str, **params: Any) -> Any:
        """Call `method` on the node with the params that are not None; a failure is one
        line on stderr and exit 1."""
        return rpc(self.url, method, **{k: v for k, v in params.items() if v is not None})

    def address(self, text: str) -> Address:
        """An address from agora1... text, a key name, or a devnet account name."""
        return resolve_address(text, self.keyring_dir, self.keyring_backend, self.home)

    @functools.cached_property
    def token_symbol(self) -> str:
        """The chain's token symbol (for amounts in messages)."""
        return token_symbol(self.url)


@dataclass
class SigningContext(NodeContext):
    """A `NodeContext` with the key named by --from (unlocked on first use)."""

    from_key: str = ""
    passphrase_file: Path | None = None

    @functools.cached_property
    def signer(self) -> Signer:
        """Where the signing key comes from (one object per command: it unlocks once)."""
        return signer_options(self.from_key, self.keyring_dir, self.keyring_backend,
                              self.home, self.passphrase_file)
