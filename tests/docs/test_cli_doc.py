"""docs/CLI.md matches the `agora` command tree: the set of ``### agora ...`` headings equals
the set of visible command paths, and every option a section mentions is one its command
accepts (or one of the shared transaction options, for `agora tx`).

Method: walk `typer.main.get_command(cli.main.app)`, skipping hidden commands (the tx group's
underscore aliases), and parse the Markdown page by its ``### `` headings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.docs.gen_cli_doc import EXAMPLES, command_paths, option_names

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "CLI.md"
OPTION_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def doc_sections() -> dict[str, str]:
    """Each ``### agora ...`` section's text, up to the next heading."""
    text = CLI_DOC.read_text(encoding="utf-8")
    parts = re.split(r"^#{2,3} (.*)$", text, flags=re.M)
    sections: dict[str, str] = {}
    for index in range(1, len(parts), 2):
        title = parts[index].strip()
        if title.startswith("agora "):
            assert title not in sections, f"docs/CLI.md documents {title} twice"
            sections[title] = parts[index + 1]
    return sections


def test_cli_doc_headings_equal_the_command_paths() -> None:
    paths = set(command_paths())
    documented = set(doc_sections())
    assert not paths - documented, f"commands missing from docs/CLI.md: {paths - documented}"
    assert not documented - paths, f"docs/CLI.md names no such command: {documented - paths}"


def test_cli_doc_every_command_has_an_example() -> None:
    for path, body in doc_sections().items():
        assert path in EXAMPLES, f"{path}: no example in tests/docs/gen_cli_doc.py"
        assert "```sh" in body, f"{path}: the section has no example"
        assert path in body.split("```sh", 1)[1], f"{path}: the example runs another command"


def test_cli_doc_options_mentioned_exist() -> None:
    commands = command_paths()
    tx_shared = option_names(commands["agora tx transfer"])
    for path, body in doc_sections().items():
        accepted = option_names(commands[path]) | {"--help"}
        if path.startswith("agora tx "):
            accepted |= tx_shared
        mentioned = set(OPTION_RE.findall(body))
        assert mentioned <= accepted, f"{path}: unknown options {sorted(mentioned - accepted)}"


def test_cli_help_shows_written_defaults_and_no_stray_metavars() -> None:
    """`--help` keeps bracketed text such as ``[default: <home>/keyring]`` (rich markup used
    to swallow it) and prints no ``<bool>`` after flags."""
    agora = str(Path(sys.executable).parent / "agora")
    env = {**os.environ, "COLUMNS": "200"}
    shown = subprocess.run([agora, "tx", "purchase", "--help"], capture_output=True, text=True,
                           env=env, timeout=60, check=True).stdout
    flat = " ".join(shown.split())
    for written in ("[default: <home>/keyring]", "[default: $AGORA_HOME or ~/.agora]",
                    "[default: the one in the --share link]"):
        assert written in flat, f"{written} missing from --help:\n{shown}"
    assert "<bool>" not in shown, shown
