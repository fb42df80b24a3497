"""The root of Agora's coded errors and the base of every layer's code table (STYLE section 6).

Each layer keeps its codes in one table (`commerce.errors.ErrorCode`,
`node.errors.NodeErrorCode`, `node.rpc.errors.RpcErrorCode`, `devnet.errors.DevnetErrorCode`):
a stable snake_case name shown to users, a JSON-RPC number and a one-line meaning.
`check_table` asserts a table's names and numbers unique and in the layer's range.
"""

from __future__ import annotations

from enum import Enum


class CodeTable(Enum):
    """Base of each layer's error table: a stable name, a JSON-RPC number, a meaning.

    Commerce owns -32001..-32049 and -32100..-32199 (round 2: governance -32100..-32119,
    group buying and promotions -32120..-32139, profiles and follows -32140..-32159, listing
    media -32160..-32179); the node owns -32050..-32099.
    """

    def __init__(self, reason: str, rpc_code: int, meaning: str) -> None:
        self.reason = reason
        self.rpc_code = rpc_code
        self.meaning = meaning


def check_table(table: type[CodeTable], *ranges: tuple[int, int]) -> None:
    """Assert a table's names and numbers are unique and each number in one of the
    inclusive ``(low, high)`` ranges."""
    reasons = {code.reason for code in table}
    assert len(reasons) == len(table), f"{table.__name__}: reasons must be unique"
    numbers = {code.rpc_code for code in table}
    assert len(numbers) == len(table), f"{table.__name__}: rpc codes must be unique"
    assert all(any(low <= n <= high for low, high in ranges) for n in numbers), (
        f"{table.__name__}: codes out of range")


class AgoraError(Exception):
    """Base of all Agora errors: a stable code and a one-line message."""

    def __init__(self, code: CodeTable, message: str) -> None:
        assert "\n" not in message, "error messages are one line"
        super().__init__(f"{code.reason}: {message}")
        self.code = code
        self.message = message

    @property
    def reason(self) -> str:
        """The stable snake_case name of the error."""
        return self.code.reason
