"""Request bodies are parsed by pydantic-core's parser and, when it refuses, by
`json.loads`: the outcome must be exactly `json.loads`'s alone (the only parser before).

Method: a corpus of edge cases (numbers at every limit, escapes, surrogates, duplicate keys,
whitespace, nesting, non-JSON literals) and seeded fuzzing (random texts from a JSON-ish
alphabet, mutated request bodies, random decimal numbers); for each text, `parse_json` and
`parse_json_stdlib` must both refuse with ValueError or give the same value, compared with
types (1, 1.0 and True differ) and floats by their exact repr.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from node.rpc.jsonrpc import parse_json, parse_json_stdlib

_CORPUS = [
    '{"a":1,"a":2}', "1e400", "-1e400", "1e-400", "01", "+1", ".5", "1.", "-", "1e", "0x10",
    "NaN", "Infinity", "-Infinity", '"a\nb"', '"a\\x"', '"\\ud800"', '"\\udc00"',
    '"\\ud800\\u0041"', '"\\ud83d\\ude00"', "1" * 4300, "1" * 4301, "1." + "1" * 5000,
    " [1] ", "[1,]", '{"a":1,}', '"\u0000"', '"\\u0000"', "true", "True", "null", "\ufeff[1]",
    '"\t"', "-0", "-0.0", "1E5", "1e5", "123456789012345678901234567890",
    "1.7976931348623157e308", "1.7976931348623157e309", "4.9e-324", "2.4e-324",
    "2.2250738585072011e-308", '"\\/"', '{"":1}', "[]", "{}", '"\u2028"', "[1 2]", "{1:2}",
    '{"a" 1}', "", " ", "\x0c[1]", "[1]\x0b", "\xa0[1]", "[1]\n\r\t ", '"\\u00e9\u00e9"',
    "[" * 2000 + "]" * 2000, '{"jsonrpc":"2.0","id":1,"method":"tx_submitBatch",'
    '"params":{"txs":["ab","0xcd"]}}', '[{"jsonrpc":"2.0","method":"m"},1,"x",null]',
]


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return ("object", [(key, _typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [_typed(item) for item in value])
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def _outcome(parse: Any, text: str | bytes) -> Any:
    try:
        return ("value", _typed(parse(text)))
    except ValueError:
        return ("refused",)
    except RecursionError:
        return ("too deep",)


def _check(text: str) -> bool:
    body = text.encode("utf-8", "surrogatepass")
    for form in (text, body):
        expected = _outcome(parse_json_stdlib, form)
        assert _outcome(parse_json, form) == expected, repr(text[:80])
    return expected[0] == "value"


@pytest.mark.parametrize("text", _CORPUS, ids=range(len(_CORPUS)))
def test_parse_json_corpus_answers_as_json_loads(text: str) -> None:
    _check(text)


_ALPHABET = [*'{}[]:,"\\ 0123456789.eE+-truefalsnu\t\n\r\x0c\x0b\x00abc/', "\\u00", "\\ud83d",
             "\\ude00", "null", "true", '"a"', "1e999", "\u00e9", "\u2028", "\ufeff", "\xa0",
             "1.0", "-0", "1e2", "99999999999999999999", "0.1", "5e-324"]
_SEEDS = ['{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":[1,2.5,"x",null,true]}}',
          '[{"a":1},{"b":[]}]', '"a\\"b"', "-12.5e-3", "[1.0, 2, 1e2, -0, 0.1, 1E+2]",
          '{"a":{"a":{"a":1}}}']


def test_parse_json_fuzzed_texts_answer_as_json_loads() -> None:
    rng = random.Random(20240611)
    accepted = 0
    for round_index in range(30_000):
        if round_index % 3 == 0:
            text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12)))
        else:
            chars = list(rng.choice(_SEEDS))
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(chars) + 1)
                operation = rng.randrange(3)
                if operation == 0 and chars:
                    chars.pop(min(at, len(chars) - 1))
                elif operation == 1:
                    chars.insert(at, rng.choice(_ALPHABET))
                elif chars:
                    chars[min(at, len(chars) - 1)] = rng.choice(_ALPHABET)
            text = "".join(chars)
        accepted += _check(text)
    assert accepted > 2_000, "the fuzzing reaches accepted texts"


def test_parse_json_random_numbers_answer_as_json_loads() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        whole = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 25)))
        exponent = rng.choice(["", f"e{rng.randint(-340, 320)}", f"E+{rng.randint(0, 30)}",
                               f"e-{rng.randint(0, 30)}"])
        text = ("-" if rng.random() < 0.3 else "") + (whole.lstrip("0") or "0") + \
            ("." + fraction if fraction else "") + exponent
        _check(text)
