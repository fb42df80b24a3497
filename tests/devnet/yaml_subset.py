"""A tiny loader for the block-style YAML subset deploy/docker-compose.yml uses (PyYAML is not
a dependency): mappings, sequences of scalars, `|` block scalars, JSON-style flow sequences
and quoted strings, `&anchor` / `*alias` and `<<:` merges, comments. Anything else raises
ValueError, so the test fails if the file drifts outside what this checks."""

from __future__ import annotations

import json
from typing import Any


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.index = 0
        self.anchors: dict[str, Any] = {}

    def _skip(self) -> None:
        while self.index < len(self.lines):
            stripped = self.lines[self.index].strip()
            if stripped and not stripped.startswith("#"):
                return
            self.index += 1

    def _indent(self) -> int:
        line = self.lines[self.index]
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise ValueError(f"line {self.index + 1}: tab in indentation")
        return len(line) - len(line.lstrip(" "))

    def parse(self) -> Any:
        self._skip()
        value = self._block(0)
        self._skip()
        if self.index < len(self.lines):
            raise ValueError(f"line {self.index + 1}: unexpected indentation")
        return value

    def _block(self, indent: int) -> Any:
        self._skip()
        if self.lines[self.index].strip().startswith("- "):
            return self._sequence(indent)
        return self._mapping(indent)

    def _sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while True:
            self._skip()
            if self.index >= len(self.lines) or self._indent() != indent:
                return items
            content = self.lines[self.index].strip()
            if not content.startswith("- "):
                return items
            items.append(_scalar(content[2:], self.index))
            self.index += 1

    def _mapping(self, indent: int) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        merged: set[str] = set()  # keys that came from a merge; an explicit key overrides
        while True:
            self._skip()
            if self.index >= len(self.lines):
                return mapping
            current = self._indent()
            if current < indent:
                return mapping
            if current > indent:
                raise ValueError(f"line {self.index + 1}: unexpected indentation")
            content = self.lines[self.index].strip()
            key, sep, rest = content.partition(":")
            if not sep or (rest and not rest.startswith(" ")):
                raise ValueError(f"line {self.index + 1}: not a `key: value` line")
            key = _scalar(key, self.index)
            rest = rest.strip()
            self.index += 1
            anchor = None
            if rest.startswith("&"):
                anchor, _, rest = rest[1:].partition(" ")
                rest = rest.strip()
            if key == "<<":
                if not rest.startswith("*") or rest[1:] not in self.anchors:
                    raise ValueError(f"line {self.index}: a merge needs a known alias")
                for merged_key, merged_value in self.anchors[rest[1:]].items():
                    if merged_key not in mapping:
                        mapping[merged_key] = merged_value
                        merged.add(merged_key)
                continue
            if key in mapping and key not in merged:
                raise ValueError(f"line {self.index}: duplicate key {key!r}")
            if rest == "":
                self._skip()
                if self.index >= len(self.lines) or self._indent() <= indent:
                    value: Any = None
                else:
                    value = self._block(self._indent())
            elif rest == "|":
                value = self._literal(indent)
            elif rest.startswith("*"):
                value = self.anchors[rest[1:]]
            else:
                value = _scalar(rest, self.index - 1)
            if anchor is not None:
                self.anchors[anchor] = value
            merged.discard(key)
            mapping[key] = value

    def _literal(self, indent: int) -> str:
        collected: list[str] = []
        while self.index < len(self.lines):
            line = self.lines[self.index]
            if line.strip() and len(line) - len(line.lstrip(" ")) <= indent:
                break
            collected.append(line)
            self.index += 1
        while collected and not collected[-1].strip():
            collected.pop()
        margin = min(len(c) - len(c.lstrip(" ")) for c in collected if c.strip())
        return "\n".join(c[margin:] for c in collected) + "\n"


def _scalar(text: str, index: int) -> Any:
    text = text.strip()
    if text.startswith(('"', "[", "{")):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(f"line {index + 1}: bad quoted or flow value: {exc}") from None
    if " #" in text:
        text = text.split(" #", 1)[0].rstrip()
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise ValueError(f"line {index + 1}: unterminated single quote")
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if text.lstrip("-").isdigit():
        return int(text)
    if text in ("", "~", "null"):
        return None
    if text[0] in "&*!|>%@`":
        raise ValueError(f"line {index + 1}: unsupported YAML {text!r}")
    return text


def load_yaml_subset(text: str) -> Any:
    """Parse `text`; raises ValueError naming the line for anything outside the subset."""
    return _Parser(text).parse()
