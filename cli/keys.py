"""`agora keys add|list|show|delete|export|import`: named account keys in a local keyring.

The passphrase of the file backend comes from `--passphrase-file` (its first line), else the
AGORA_PASSPHRASE environment variable, else a hidden prompt on the terminal (asked twice when
a new passphrase is set), else the first line of standard input when it is not a terminal.
A new passphrase of the file backend is checked by the keyring (`check_new_passphrase`: at
least MIN_PASSPHRASE_CHARS characters, not one character repeated).
The test backend stores keys unencrypted: every command that opens a `test` keyring says so
on stderr when it succeeds.

Every command takes the keyring options (`--keyring-dir`, `--keyring-backend`, `--home`),
some `--passphrase-file`, and `--output`; `keys_command` adds them to a command's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    OUTPUT_OPTIONS,
    HomeOption,
    OutputFormat,
    command_with,
    emit,
    fail,
    print_fields,
    print_json,
    print_table,
    resolve_home,
    shared_options,
    warn_on_success,
)
from client.keyring import TEST_BACKEND_WARNING, KeyInfo, Keyring
from node.home import NodeHome, load_node_key

MAX_PASSPHRASE_FILE_BYTES = 4096
MAX_IMPORT_FILE_BYTES = 64 * 1024

app = typer.Typer(
    name="keys",
    help="Manage named account keys (encrypted at rest unless --keyring-backend test).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class KeyringBackend(StrEnum):
    """Where and how keys are stored."""

    file = "file"
    test = "test"


KeyringDirOption = Annotated[
    Path | None,
    typer.Option(
        "--keyring-dir",
        help="Keyring directory [default: <home>/keyring].",
        show_default=False,
    ),
]
BackendOption = Annotated[
    KeyringBackend,
    typer.Option(
        "--keyring-backend",
        "--keyring",
        envvar="AGORA_KEYRING_BACKEND",
        help="file: encrypted with a passphrase (Argon2id); test: UNENCRYPTED, devnets only.",
    ),
]
PassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="Read the passphrase from the first line of this file "
        "[default: $AGORA_PASSPHRASE, else prompt].",
        show_default=False,
    ),
]
NameArgument = Annotated[str, typer.Argument(help="The key's name.")]


def open_keyring(keyring_dir: Path | None, home: Path | None,
                 backend: KeyringBackend) -> Keyring:
    """The keyring in `keyring_dir` (default `<home>/keyring`); a `test` one is reported
    unencrypted on stderr when the command succeeds."""
    directory = keyring_dir.expanduser() if keyring_dir else resolve_home(home) / "keyring"
    if backend is KeyringBackend.test:
        warn_on_success(TEST_BACKEND_WARNING)
    return Keyring(directory, backend.value)


def read_passphrase(passphrase_file: Path | None, *, confirm: bool) -> str:
    """The passphrase from the file, the environment, or a hidden prompt."""
    if passphrase_file is not None:
        with passphrase_file.expanduser().open("rb") as handle:
            data = handle.read(MAX_PASSPHRASE_FILE_BYTES + 1)
        if len(data) > MAX_PASSPHRASE_FILE_BYTES:
            fail("bad_key", f"passphrase file {passphrase_file} is too large")
        lines = data.decode("utf-8").splitlines()
        if not lines or not lines[0]:
            fail("bad_key", f"passphrase file {passphrase_file} has an empty first line")
        return lines[0]
    env = os.environ.get("AGORA_PASSPHRASE")
    if env:
        return env
    if not sys.stdin.isatty():
        # Piped input (`echo pw | agora keys add k`): the first line, no prompt or echo noise.
        line = sys.stdin.readline(MAX_PASSPHRASE_FILE_BYTES).rstrip("\r\n")
        if not line:
            fail("bad_key", "no passphrase given: use --passphrase-file or AGORA_PASSPHRASE")
        return line
    try:
        value: str = typer.prompt(
            "Passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
    except typer.Abort:
        fail("bad_key", "no passphrase given: use --passphrase-file or AGORA_PASSPHRASE")
    if not value:
        fail("bad_key", "the passphrase is empty")
    return value


KEYRING_OPTIONS = shared_options(
    ("keyring_dir", KeyringDirOption, None),
    ("keyring_backend", BackendOption, KeyringBackend.file),
    ("home", HomeOption, None),
)
PASSPHRASE_OPTIONS = shared_options(("passphrase_file", PassphraseFileOption, None))


@dataclass
class KeysContext:
    """What a `keys` command works on: the keyring its options name, and how to print."""

    keyring_dir: Path | None
    keyring_backend: KeyringBackend
    home: Path | None
    output: OutputFormat
    passphrase_file: Path | None = None

    def keyring(self) -> Keyring:
        """The keyring named by --keyring-dir/--home and --keyring-backend."""
        return open_keyring(self.keyring_dir, self.home, self.keyring_backend)

    def passphrase(self, *, confirm: bool) -> str:
        """The passphrase from --passphrase-file, AGORA_PASSPHRASE, a prompt or stdin."""
        return read_passphrase(self.passphrase_file, confirm=confirm)

    def print_key(self, info: KeyInfo) -> None:
        """A key's name, address, public key and backend (or its JSON)."""
        emit(self.output, info.to_dict(), lambda: print_fields({
            "name": info.name, "address": info.address, "public key": info.public_key,
            "backend": info.backend}))


KeysRun = Callable[..., None]


def keys_command(name: str, *, passphrase: bool = False) -> Callable[[KeysRun], KeysRun]:
    """Register `run(keys: KeysContext, <own options>)` as `agora keys <name>`, with the
    keyring options (and --passphrase-file) and --output after its own."""
    shared = KEYRING_OPTIONS + (PASSPHRASE_OPTIONS if passphrase else []) + OUTPUT_OPTIONS

    def register(run: KeysRun) -> KeysRun:
        app.command(name)(command_with(run, shared, KeysContext))
        return run

    return register


@keys_command("add", passphrase=True)
def add(keys: KeysContext, name: NameArgument) -> None:
    """Generate a new key and store it under NAME."""
    keyring = keys.keyring()
    passphrase: str | None = None
    if keyring.encrypted:
        if (keyring.directory / f"{name}.json").exists():
            keyring.show(name)  # Fail on the name before asking for a passphrase.
        passphrase = keys.passphrase(confirm=True)
    keys.print_key(keyring.add(name, passphrase=passphrase))


@keys_command("list")
def list_keys(keys: KeysContext) -> None:
    """List the stored keys with their addresses."""
    rows = [info.to_dict() for info in keys.keyring().list()]
    emit(keys.output, rows, lambda: print_table(
        rows, [("name", "NAME"), ("address", "ADDRESS"), ("public_key", "PUBLIC KEY")],
        empty="(no keys)"))


@keys_command("show")
def show(
    keys: KeysContext,
    name: NameArgument,
    *,
    address: Annotated[bool, typer.Option("--address", "-a", help="Print only the address.")] = (
        False
    ),
) -> None:
    """Show a key's address and public key (no passphrase needed)."""
    info = keys.keyring().show(name)
    if address and keys.output is OutputFormat.text:
        typer.echo(info.address)
        return
    keys.print_key(info)


@keys_command("delete")
def delete(
    keys: KeysContext,
    name: NameArgument,
    *,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = (
        False
    ),
) -> None:
    """Delete a key; without --yes, asks first."""
    keyring = keys.keyring()
    info = keyring.show(name)
    if not yes:
        if not sys.stdin.isatty():
            fail("usage", "refusing to delete without --yes when not on a terminal", code=2)
        if not typer.confirm(f"Delete key {name!r} ({info.address})?", err=True):
            fail("aborted", "key not deleted")
    keyring.delete(name)
    emit(keys.output, {"deleted": info.to_dict()}, lambda: typer.echo(f"deleted key {name}"))


@keys_command("export", passphrase=True)
def export(
    keys: KeysContext,
    name: NameArgument,
    *,
    unsafe: Annotated[
        bool,
        typer.Option("--unsafe", help="Required with --hex: the seed gives full control."),
    ] = False,
    hex_seed: Annotated[
        bool, typer.Option("--hex", help="Print the raw seed as hex instead of armor.")
    ] = False,
) -> None:
    """Print a key as passphrase-encrypted armor, or as a raw hex seed (--hex --unsafe)."""
    keyring = keys.keyring()
    keyring.show(name)
    if hex_seed:
        if not unsafe:
            fail("usage", "--hex prints the secret seed; add --unsafe to confirm", code=2)
        passphrase = keys.passphrase(confirm=False) if keyring.encrypted else None
        seed = keyring.export_seed_hex(name, passphrase=passphrase)
        emit(keys.output, {"name": name, "seed": seed}, lambda: typer.echo(seed))
        return
    # The test backend has no passphrase yet: a new one is set for the armor, so confirm it.
    passphrase = keys.passphrase(confirm=not keyring.encrypted)
    armor = keyring.export_armored(name, passphrase=passphrase)
    if keys.output is OutputFormat.json:
        print_json({"name": name, "armor": armor})
    else:
        typer.echo(armor, nl=False)


@keys_command("import", passphrase=True)
def import_key(
    keys: KeysContext,
    name: NameArgument,
    file: Annotated[
        Path | None,
        typer.Argument(help="Armored key file from `keys export`, or - for stdin.",
                       show_default=False),
    ] = None,
    *,
    from_node_key: Annotated[
        bool, typer.Option("--from-node-key", help="Take the seed of <home>/config/"
                           "node_key.json: the account `agora init` funded.")
    ] = False,
    hex_seed: Annotated[
        bool, typer.Option("--hex", help="The file holds a 64-hex-digit seed, not armor.")
    ] = False,
) -> None:
    """Store a key from an armored export (opened with the passphrase), a hex seed, or the
    node key of --home (--from-node-key)."""
    keyring = keys.keyring()
    if from_node_key:
        if file is not None:
            fail("usage", "give FILE or --from-node-key, not both", code=2)
        seed = load_node_key(NodeHome(resolve_home(keys.home)).node_key_file).seed.hex()
        secret = keys.passphrase(confirm=True) if keyring.encrypted else None
        keys.print_key(keyring.import_seed_hex(name, seed, passphrase=secret))
        return
    if file is None:
        fail("usage", "give the key FILE (or - for stdin), or --from-node-key", code=2)
    if str(file) == "-":
        text = sys.stdin.read(MAX_IMPORT_FILE_BYTES + 1)
    else:
        with file.expanduser().open("r", encoding="utf-8") as handle:
            text = handle.read(MAX_IMPORT_FILE_BYTES + 1)
    if len(text) > MAX_IMPORT_FILE_BYTES:
        fail("bad_key", f"{file} is too large for a key")
    if hex_seed:
        passphrase = keys.passphrase(confirm=True) if keyring.encrypted else None
        info = keyring.import_seed_hex(name, text, passphrase=passphrase)
    else:
        info = keyring.import_armored(name, text, passphrase=keys.passphrase(confirm=False))
    keys.print_key(info)
