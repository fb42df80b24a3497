"""The client config a devnet leaves for the CLI: where its node is, its keyring and accounts.

`agora devnet up` writes `<devnet>/client.toml` (by default `./.devnet/client.toml`); any
`agora` command run in the directory that holds `.devnet` (or with AGORA_DEVNET_HOME set)
reads it for its default node URL and to resolve the devnet's well-known account names
(`--to bob`) when the keyring in use does not hold them. The file is small TOML:

    node = "http://127.0.0.1:27100"
    chain_id = "agora-devnet"
    keyring_dir = "/path/to/.devnet/keyring"
    keyring_backend = "test"

    [accounts]
    alice = "agora1..."
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CLIENT_CONFIG_NAME = "client.toml"
DEFAULT_DEVNET_DIR = ".devnet"
MAX_CLIENT_CONFIG_BYTES = 64 * 1024


@dataclass(frozen=True)
class ClientConfig:
    """What a devnet tells the CLI."""

    path: Path
    node: str
    chain_id: str = ""
    keyring_dir: str = ""
    keyring_backend: str = ""
    accounts: dict[str, str] = field(default_factory=dict)


def client_config_path() -> Path:
    """$AGORA_DEVNET_HOME/client.toml, else ./.devnet/client.toml."""
    env = os.environ.get("AGORA_DEVNET_HOME")
    root = Path(env).expanduser() if env else Path(DEFAULT_DEVNET_DIR)
    return root / CLIENT_CONFIG_NAME


def load_client_config() -> ClientConfig | None:
    """The client config in effect, or None when there is none (or it is unreadable:
    it is only a default, so a broken file must not stop a command that names its node)."""
    path = client_config_path()
    try:
        if path.stat().st_size > MAX_CLIENT_CONFIG_BYTES:
            return None
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    node = data.get("node")
    if not isinstance(node, str) or not node:
        return None
    accounts = data.get("accounts")
    named = {str(k): str(v) for k, v in accounts.items()} if isinstance(accounts, dict) else {}
    return ClientConfig(path=path, node=node, chain_id=str(data.get("chain_id", "")),
                        keyring_dir=str(data.get("keyring_dir", "")),
                        keyring_backend=str(data.get("keyring_backend", "")), accounts=named)


def write_client_config(root: Path, *, node: str, chain_id: str, keyring_dir: str,
                        keyring_backend: str, accounts: dict[str, str]) -> Path:
    """Write `<root>/client.toml` (JSON string quoting is valid TOML for these values)."""
    lines = ["# Written by `agora devnet up`: the defaults `agora` uses next to this devnet.",
             f"node = {json.dumps(node)}", f"chain_id = {json.dumps(chain_id)}",
             f"keyring_dir = {json.dumps(keyring_dir)}",
             f"keyring_backend = {json.dumps(keyring_backend)}", "", "[accounts]"]
    lines += [f"{json.dumps(name)} = {json.dumps(address)}" for name, address in accounts.items()]
    path = root / CLIENT_CONFIG_NAME
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
