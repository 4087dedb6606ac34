"""What DynamoDB can store, checked on a decoded event before anything is written.

JSON lets a sender write values that parse but that DynamoDB refuses on every attempt, so a message holding
one would fail, be retried and block its FIFO group until the dead-letter queue took it. This module decides,
once and for every value of a document (unknown fields included, since they are stored with the request):

- numbers must be finite and within DynamoDB's range: zero, or a magnitude from 1e-130 up to (not
  including) 1e126, and an integer at most 38 digits long (DynamoDB's precision); anything else is refused
  with the JSON path of the value, so the message is quarantined;
- nesting is limited to `MAX_DEPTH` levels of objects and arrays (the event object itself is level 1);
  deeper is refused, because no real event nests like that and every later walk over the document must
  stay far from Python's recursion limit;
- a lone UTF-16 surrogate (`"\\ud800"` is valid JSON, but no UTF-8 text) in a key or a string is replaced by
  U+FFFD and the document is marked altered, so the record says that what it keeps is not exactly what
  was sent. A valid pair is one character and stays as it is.

The document is walked with an explicit stack, never recursion.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from contract.errors import ContractError

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 38
SMALLEST_MAGNITUDE = 1e-130
LARGEST_MAGNITUDE = 1e126  # exclusive
REPLACEMENT_CHARACTER = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NUMBER_RULE = "finite, zero or of magnitude 1e-130 to 1e126, and at most 38 digits"


@dataclass(frozen=True, slots=True)
class Unstorable:
    """A number as the sender wrote it, which DynamoDB cannot store (the parser's stand-in for it)."""

    text: str


def parse_int(text: str) -> int | Unstorable:
    """`json.loads`'s integer hook: never parses a number too long to store (nor one past Python's limit)."""
    digits = text.lstrip("-")
    if len(digits) > MAX_INTEGER_DIGITS:
        return Unstorable(text)
    return int(text)


def parse_float(text: str) -> float | Unstorable:
    """`json.loads`'s hook for numbers with a fraction or an exponent (`1e400` would be infinity)."""
    value = float(text)
    magnitude = abs(value)
    if not math.isfinite(value) or (value != 0 and not SMALLEST_MAGNITUDE <= magnitude < LARGEST_MAGNITUDE):
        return Unstorable(text)
    return value


def replace_lone_surrogates(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    return _LONE_SURROGATE.sub(REPLACEMENT_CHARACTER, text)


def child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped}"]'


def make_storable(document: Any) -> tuple[Any, bool]:
    """The document with lone surrogates replaced, and whether any was; ContractError for what cannot be.

    Containers are rebuilt only where a string inside them changed, so an ordinary event is returned as the
    same object after one pass.
    """
    altered = False
    root: list[Any] = [document]
    # Each entry: (container, key in it, value, its path, depth of the value if it is a container)
    stack: list[tuple[Any, Any, Any, str, int]] = [(root, 0, document, "$", 1)]
    while stack:
        parent, key, value, path, depth = stack.pop()
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                parent[key] = replace_lone_surrogates(value)
                altered = True
        elif isinstance(value, Unstorable):
            reason = f"number {_shown(value.text)} cannot be stored in DynamoDB ({NUMBER_RULE})"
            raise ContractError(path, reason)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ContractError(path, f"nested deeper than {MAX_DEPTH} levels of objects and arrays")
            if isinstance(value, dict):
                if any(_LONE_SURROGATE.search(name) for name in value):
                    value = {replace_lone_surrogates(name): item for name, item in value.items()}
                    parent[key] = value
                    altered = True
                items: Any = value.items()
            else:
                items = enumerate(value)
            for name, item in items:
                stack.append((value, name, item, child_path(path, name), depth + 1))
    return root[0], altered


def _shown(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"
