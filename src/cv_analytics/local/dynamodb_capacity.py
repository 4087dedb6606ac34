"""DynamoDB's capacity units, computed from item sizes: what moto 5.2.5 does not report.

moto answers `ReturnConsumedCapacity` with a constant (1.0 for PutItem, DeleteItem and Query, 0.5 for
GetItem), nothing at all for UpdateItem and TransactWriteItems, and never counts an index's writes
(moto/dynamodb/responses.py, `include_consumed_capacity`). A cost model needs the units DynamoDB bills, so
they are computed here from the items before and after each write, by DynamoDB's documented rules:

- an item's size is the UTF-8 length of its attribute names plus their values: a string its UTF-8 length,
  a number about one byte per two significant digits plus one, binary its length, a boolean or null one
  byte, a list or map three bytes plus its elements and one byte per element (names of map entries count);
- a write consumes one unit per started KB of the larger of the item before and after it (a delete: the
  item removed; a write that changes nothing still costs one unit); in a transaction, twice that;
- every global secondary index the write changes costs its own units for the projected item: a write that
  puts an item into an index, takes it out, or changes a projected attribute writes the index once, one
  that changes the index's key writes it twice (a delete and a put). Index writes are counted once, also
  inside a transaction;
- a read consumes one unit per started 4 KB (of the item, or of all the items a Query returns), half for an
  eventually consistent read, twice for a transactional one.

Pure functions of DynamoDB's JSON wire form (`{"name": {"S": "text"}}`), so they are tested without a twin;
`cv_analytics.local.request_meter` applies them to what the twin holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

WireItem = Mapping[str, Mapping[str, Any]]

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
CONTAINER_OVERHEAD_BYTES = 3
ELEMENT_OVERHEAD_BYTES = 1


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _number_size(text: str) -> int:
    digits = str(Decimal(text).normalize()).lstrip("-").replace(".", "")
    significant = digits.split("E")[0].strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:  # noqa: PLR0911 - one return per DynamoDB type
    """The stored size of one attribute value in DynamoDB JSON."""
    ((kind, content),) = value.items()
    if kind == "S":
        return _utf8(content)
    if kind == "N":
        return _number_size(content)
    if kind == "B":
        return len(content) if isinstance(content, bytes | bytearray) else len(str(content)) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(element) for element in content)
    if kind == "NS":
        return sum(_number_size(element) for element in content)
    if kind == "BS":
        return sum(value_size({"B": element}) for element in content)
    if kind == "L":
        return CONTAINER_OVERHEAD_BYTES + sum(ELEMENT_OVERHEAD_BYTES + value_size(v) for v in content)
    if kind == "M":
        return CONTAINER_OVERHEAD_BYTES + sum(
            ELEMENT_OVERHEAD_BYTES + _utf8(name) + value_size(v) for name, v in content.items()
        )
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: WireItem | None) -> int:
    """Bytes DynamoDB counts for an item (0 for no item)."""
    if not item:
        return 0
    return sum(_utf8(name) + value_size(value) for name, value in item.items())


def write_units_for(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units_for(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class Index:
    """A global secondary index as the capacity rules see it."""

    name: str
    key_attributes: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


def _projected(item: WireItem | None, index: Index, table_keys: Sequence[str]) -> dict[str, Any] | None:
    """The item as the index stores it, or None when the item is not in the (sparse) index."""
    if not item or any(name not in item for name in index.key_attributes):
        return None
    if index.projection == "ALL":
        return dict(item)
    kept = set(table_keys) | set(index.key_attributes)
    if index.projection == "INCLUDE":
        kept |= set(index.included)
    return {name: value for name, value in item.items() if name in kept}


def index_write_units(
    before: WireItem | None, after: WireItem | None, index: Index, table_keys: Sequence[str]
) -> int:
    old, new = _projected(before, index, table_keys), _projected(after, index, table_keys)
    if old is None and new is None:
        return 0
    if old is None or new is None:
        return write_units_for(item_size(new if old is None else old))
    if old == new:
        return 0
    if any(old[name] != new[name] for name in index.key_attributes):
        return write_units_for(item_size(old)) + write_units_for(item_size(new))
    return write_units_for(max(item_size(old), item_size(new)))


@dataclass(frozen=True)
class WriteUnits:
    table: int
    indexes: int

    @property
    def total(self) -> int:
        return self.table + self.indexes


def write_units(
    before: WireItem | None,
    after: WireItem | None,
    *,
    indexes: Sequence[Index] = (),
    table_keys: Sequence[str] = (),
    transactional: bool = False,
) -> WriteUnits:
    """Units one item write consumes: the table's (twice in a transaction) and its indexes'."""
    table = write_units_for(max(item_size(before), item_size(after)))
    index_units = sum(index_write_units(before, after, index, table_keys) for index in indexes)
    return WriteUnits(table=table * 2 if transactional else table, indexes=index_units)
