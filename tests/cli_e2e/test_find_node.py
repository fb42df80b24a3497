"""`agora` finds the node without --node: next to a devnet (its client.toml), from --home,
from AGORA_NODE; and when nothing answers it says in one line which URL it tried and how to
name another."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_e2e.conftest import Shell
from tests.cli_e2e.test_shop_cli import free_base_port

pytestmark = pytest.mark.e2e


def test_query_next_to_devnet_without_flags_finds_its_node(shell: Shell) -> None:
    status = shell.ok("query", "status")
    assert status["chain_id"] == "agora-devnet" and status["height"] >= 1
    assert (shell.devnet / "client.toml").is_file()


def test_query_elsewhere_with_devnet_home_variable_finds_its_node(shell: Shell,
                                                                   tmp_path: Path) -> None:
    status = shell.ok("query", "status", cwd=tmp_path,
                      env={"AGORA_DEVNET_HOME": str(shell.devnet)})
    assert status["chain_id"] == "agora-devnet"


def test_query_with_home_uses_the_home_rpc_address(shell: Shell, tmp_path: Path) -> None:
    status = shell.ok("query", "status", "--home", str(shell.home_v0), cwd=tmp_path)
    assert status["rpc_port"] == int(shell.node.rsplit(":", 1)[1])


def test_query_with_agora_node_variable_uses_it(shell: Shell, tmp_path: Path) -> None:
    status = shell.ok("query", "status", cwd=tmp_path, env={"AGORA_NODE": shell.node})
    assert status["chain_id"] == "agora-devnet"


def test_query_no_node_anywhere_is_one_line_with_the_url_and_the_ways(shell: Shell,
                                                                       tmp_path: Path) -> None:
    done = shell.run("query", "account", "agora14ftm6r3e3j68p694tec9gkvaruxrmh4ttu82ts",
                     cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    line = done.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith("error: node_unreachable: no node answers at "
                           "http://127.0.0.1:26657 (the default); "), line
    assert line.count("http://") == 1, line
    for way in ("--node", "AGORA_NODE", "--home"):
        assert way in line, line
    assert "ssl" not in line and "Cannot connect" not in line, line


def test_query_dead_node_names_where_the_url_came_from(shell: Shell, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_base_port(1)}"
    done = shell.run("query", "status", cwd=tmp_path, env={"AGORA_NODE": url})
    assert done.returncode == 1
    assert done.stderr.strip().startswith(
        f"error: node_unreachable: no node answers at {url} (AGORA_NODE); "), done.stderr


def test_transfer_to_devnet_name_from_file_keyring_finds_the_devnet_account(
        shell: Shell, tmp_path: Path) -> None:
    """`--to bob` resolves through the devnet's well-known accounts when the keyring in use
    (here a file keyring that holds only the sender) has no `bob`."""
    seed = shell.run("keys", "export", "carol", "--hex", "--unsafe", *shell.keyring)
    assert seed.returncode == 0, seed.stderr
    secret = tmp_path / "seed.hex"
    secret.write_text(seed.stdout.strip())
    keyring = ["--keyring-dir", str(tmp_path / "keys")]
    words = {"AGORA_PASSPHRASE": "correct horse battery staple"}
    done = shell.run("keys", "import", "carol", str(secret), "--hex", *keyring, env=words)
    assert done.returncode == 0, done.stderr
    before = shell.ok("query", "account", shell.accounts["bob"])["balance"]
    sent = shell.ok("tx", "transfer", "--from", "carol", "--to", "bob", "--amount", "1.5",
                    *keyring, env=words)
    assert sent["status"] == "finalized", sent
    assert shell.ok("query", "account", "bob")["balance"] == before + 1_500_000
