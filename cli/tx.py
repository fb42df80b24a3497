"""`agora tx <type>`: build a transaction, sign it with a named key, submit it.

Every command takes `--from KEY` and the keyring options, `--node`, `--wait/--no-wait`
(default: wait for finality), `--dry-run`, `--nonce` and `--output`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.chain_client import (
    DryRunOption,
    FromOption,
    NodeOption,
    NonceOption,
    WaitOption,
    build_and_send,
    node_url,
    resolve_address,
    signer_options,
)
from cli.common import HomeOption, OutputFormat, OutputOption, emit, handle_errors, print_fields
from cli.keys import BackendOption, KeyringBackend, KeyringDirOption, PassphraseFileOption
from commerce.amount import parse_amount
from commerce.transfer import Transfer
from commerce.tx import Transaction, TxBody

app = typer.Typer(name="tx", help="Build, sign and submit transactions.",
                  no_args_is_help=True)


class Common:
    """The options every `agora tx` command shares."""

    def __init__(self, from_key: str, keyring_dir: Path | None,
                 keyring_backend: KeyringBackend, home: Path | None,
                 passphrase_file: Path | None, node: str | None, wait: bool, dry_run: bool,
                 nonce: int | None, output: OutputFormat) -> None:
        self.signer = signer_options(from_key, keyring_dir, keyring_backend, home,
                                     passphrase_file)
        self.url = node_url(node, home)
        self.keyring_dir = keyring_dir
        self.backend = keyring_backend
        self.home = home
        self.wait = wait
        self.dry_run = dry_run
        self.nonce = nonce
        self.output = output

    def address(self, text: str) -> bytes:
        """An address from agora1... text or a key name."""
        return resolve_address(text, self.keyring_dir, self.backend, self.home)

    def send(self, body: TxBody, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Sign, submit and print; returns the RPC result."""
        tx, result = build_and_send(self.url, self.signer, body, wait=self.wait,
                                    dry_run=self.dry_run, nonce=self.nonce)
        render_result(tx, result, self.output, self.dry_run, extra or {})
        return result


def render_result(tx: Transaction, result: dict[str, Any], output: OutputFormat,
                  dry_run: bool, extra: dict[str, Any]) -> None:
    """Print a submit or simulate result."""
    value = {**result, **extra, "type": tx.type, "nonce": tx.nonce}

    def text() -> None:
        fields: dict[str, Any] = {"type": tx.type, "id": tx.tx_id.hex(), "nonce": tx.nonce}
        if dry_run:
            fields["simulation"] = "ok (nothing submitted)"
        else:
            fields["status"] = result.get("status", "")
            if "height" in result:
                fields["height"] = result["height"]
        for event in result.get("events", []):
            fields.setdefault("events", "")
            fields["events"] += (" " if fields["events"] else "") + str(event.get("kind"))
        fields.update(extra)
        print_fields(fields)

    emit(output, value, text)


def common(
    from_key: str, keyring_dir: Path | None, keyring_backend: KeyringBackend,
    home: Path | None, passphrase_file: Path | None, node: str | None, wait: bool,
    dry_run: bool, nonce: int | None, output: OutputFormat,
) -> Common:
    """Bundle the shared options."""
    return Common(from_key, keyring_dir, keyring_backend, home, passphrase_file, node, wait,
                  dry_run, nonce, output)


@app.command("transfer")
@handle_errors
def transfer(
    *,
    to: Annotated[str, typer.Option(help="Recipient: agora1... address or a key name.")],
    amount: Annotated[str, typer.Option(help="Amount in tokens, e.g. 12.5 (6 decimals).")],
    memo: Annotated[str, typer.Option(help="A short public note.")] = "",
    from_key: FromOption,
    keyring_dir: KeyringDirOption = None,
    keyring_backend: BackendOption = KeyringBackend.file,
    home: HomeOption = None,
    passphrase_file: PassphraseFileOption = None,
    node: NodeOption = None,
    wait: WaitOption = True,
    dry_run: DryRunOption = False,
    nonce: NonceOption = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Send tokens to another account."""
    opts = common(from_key, keyring_dir, keyring_backend, home, passphrase_file, node, wait,
                  dry_run, nonce, output)
    opts.send(Transfer(to=opts.address(to), amount=parse_amount(amount), memo=memo))
