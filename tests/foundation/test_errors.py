"""Error codes: every foundation code is produced by some refusal, and docs/ERRORS.md agrees.

Method: one trigger per code of the foundation (each must raise exactly that code, with a
one-line message), and a parser for the markdown tables of docs/ERRORS.md compared row by
row with `commerce.errors.ErrorCode`, `node.errors.NodeErrorCode` and
`client.errors.ClientErrorCode`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import msgpack
import pytest

from client.errors import ClientErrorCode
from commerce.address import from_text
from commerce.amount import parse_amount
from commerce.block import BlockHeader, decode_block, tx_root
from commerce.encoding import decode, encode
from commerce.errors import CodeTable, ErrorCode, ValidationError
from commerce.genesis import parse_genesis
from commerce.ledger import Account, put_account
from commerce.limits import MAX_AMOUNT_MINOR
from commerce.machine import ChainContext, apply_tx, execute_block
from commerce.state import MemoryState, Overlay
from commerce.tx import decode_tx
from node.errors import NodeError, NodeErrorCode
from node.store import Store
from tests.foundation.workload import genesis_memory, make_genesis, make_keys, transfer

DOC = Path(__file__).resolve().parents[2] / "docs" / "ERRORS.md"
KEYS = make_keys(3)
GENESIS = make_genesis(KEYS)
CTX = ChainContext.of(GENESIS, 1)
TX = transfer(KEYS[0], KEYS[1], 5, 0)


def _apply(tx_args: tuple[int, int, int, int], chain_id: str = GENESIS.chain_id,
           state: MemoryState | None = None, check_signature: bool = True) -> None:
    sender, to, amount, nonce = tx_args
    tx = transfer(KEYS[sender], KEYS[to], amount, nonce, chain_id=chain_id)
    apply_tx(CTX, Overlay(state or genesis_memory(GENESIS)), tx, check_signature=check_signature)


def _bad_signature() -> None:
    fields = decode(TX.raw)
    fields[5] = KEYS[1].sign(TX.signing_bytes())
    apply_tx(CTX, Overlay(genesis_memory(GENESIS)), decode_tx(encode(fields)))


def _credit_overflow() -> None:
    state = genesis_memory(GENESIS)
    view = Overlay(state)
    put_account(view, TX.body.to_array()[0], Account(MAX_AMOUNT_MINOR, 0))
    state.apply(view.writes)
    _apply((0, 1, 5, 0), state=state)


def _tx_with(index: int, value: object) -> None:
    fields = decode(TX.raw)
    fields[index] = value
    decode_tx(msgpack.packb(fields, use_bin_type=True))


def _block_limit() -> None:
    txs = [transfer(KEYS[0], KEYS[1], 5, n) for n in range(2)]
    execute_block(genesis_memory(GENESIS), CTX, bytes(32), txs, drop_invalid=False, max_txs=1)


def _bad_block() -> None:
    header = BlockHeader("c", 1, bytes(32), tx_root([TX]), bytes(32), bytes(32), 0, bytes(32))
    decode_block(encode([header.to_array(), []]))


TRIGGERS: dict[CodeTable, Callable[[], object]] = {
    ErrorCode.MALFORMED: lambda: decode(b"\x81\x01\x02"),
    ErrorCode.NON_CANONICAL: lambda: decode(b"\xcc\x01"),
    ErrorCode.TOO_LARGE: lambda: decode(encode(b"x" * 10), max_bytes=5),
    ErrorCode.UNKNOWN_TYPE: lambda: _tx_with(3, "no_such_type"),
    ErrorCode.FIELD_INVALID: lambda: _tx_with(2, -1),
    ErrorCode.FIELD_TOO_LONG: lambda: _tx_with(0, "c" * 65),
    ErrorCode.AMOUNT_OUT_OF_RANGE: _credit_overflow,
    ErrorCode.BAD_ADDRESS: lambda: from_text("agora1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"),
    ErrorCode.BAD_AMOUNT: lambda: parse_amount("1.5e3"),
    ErrorCode.BAD_SIGNATURE: _bad_signature,
    ErrorCode.WRONG_CHAIN: lambda: _apply((0, 1, 5, 0), chain_id="other"),
    ErrorCode.BAD_NONCE: lambda: _apply((0, 1, 5, 3)),
    ErrorCode.INSUFFICIENT_FUNDS: lambda: _apply((0, 1, 10**12, 0)),
    ErrorCode.SELF_TRANSFER: lambda: _apply((0, 0, 5, 0)),
    ErrorCode.BAD_GENESIS: lambda: parse_genesis({"chain_id": "x"}),
    ErrorCode.BAD_BLOCK: _bad_block,
    ErrorCode.BLOCK_LIMIT: _block_limit,
}


@pytest.mark.parametrize("code", list(TRIGGERS), ids=lambda code: code.reason)
def test_error_code_trigger_raises_that_code(code: CodeTable) -> None:
    with pytest.raises(ValidationError) as info:
        TRIGGERS[code]()
    assert info.value.code is code
    assert info.value.reason == code.reason
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"{code.reason}: ")


def test_node_error_store_codes_are_raised(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "d", GENESIS)
    try:
        with pytest.raises(NodeError) as locked:
            Store.open(tmp_path / "d", GENESIS)
    finally:
        store.close()
    with pytest.raises(NodeError) as other:
        Store.open(tmp_path / "d", make_genesis(KEYS, "other"))
    assert locked.value.code is NodeErrorCode.STORE_LOCKED
    assert other.value.code is NodeErrorCode.WRONG_CHAIN_DATA


def _doc_tables() -> dict[str, dict[str, tuple[int, str]]]:
    """The rows of each `## ... (`module.Class`...)` section of docs/ERRORS.md."""
    tables: dict[str, dict[str, tuple[int, str]]] = {}
    current: dict[str, tuple[int, str]] | None = None
    row = re.compile(r"^\|\s*`([a-z_]+)`\s*\|\s*(-?\d+)\s*\|\s*(.+?)\s*\|$")
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## .*\(`([\w.]+)`", line)
        if heading:
            current = tables.setdefault(heading.group(1), {})
            continue
        match = row.match(line.strip())
        if match and current is not None:
            name, number, meaning = match.groups()
            assert name not in current, f"{name} is listed twice"
            current[name] = (int(number), meaning)
    return tables


@pytest.mark.parametrize("table", [ErrorCode, NodeErrorCode, ClientErrorCode],
                         ids=lambda t: t.__name__)
def test_errors_doc_table_equals_code_table(table: type[CodeTable]) -> None:
    section = f"{table.__module__}.{table.__name__}"
    documented = _doc_tables().get(section)
    assert documented is not None, f"docs/ERRORS.md has no section for {section}"
    actual = {code.reason: (code.rpc_code, code.meaning) for code in table}
    missing = [f"| `{name}` | {number} | {meaning} |"
               for name, (number, meaning) in actual.items() if documented.get(name) !=
               (number, meaning)]
    assert not missing, "docs/ERRORS.md lacks or differs on:\n" + "\n".join(missing)
    extra = sorted(set(documented) - set(actual))
    assert not extra, f"docs/ERRORS.md lists codes {section} does not have: {extra}"
    assert list(documented) == list(actual), "the doc lists the codes in table order"
