"""Mergeable summaries of the two figures a day's rollup cannot store as plain counters.

A week's report merges per-day, per-shard rollups instead of reading every record. Counts and sums merge by
addition, but latency percentiles need every latency and distinct sessions need every session id, so both
would grow with traffic. `LatencySketch` and `SessionCount` replace them with summaries of bounded size whose
error is known in advance, and whose serialised form is a deterministic function of the multiset of inputs:
however the records were split into days and shards, and in whatever order the parts are merged, the week's
summary (and so the report) comes out the same. Pure code, standard library only: nothing here may grow the
Lambda zip.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Mapping
from hashlib import blake2b
from itertools import pairwise
from typing import Any, ClassVar

_RELATIVE_ACCURACY = 0.02
_GAMMA = (1 + _RELATIVE_ACCURACY) / (1 - _RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
_LOG_REPRESENTATIVE_FACTOR = math.log(2 / (_GAMMA + 1))
_LATENCY_KEYS = ("accuracy", "count", "zeros", "min", "max", "indexes", "counts")


class _SerialisedEquality:
    """Two summaries are equal when they serialise equally: the stored form is what a rollup keeps, and it
    is the form the merge invariant is stated in."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _SerialisedEquality) or type(other) is not type(self):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # mutable


class LatencySketch(_SerialisedEquality):
    """Latency quantiles within 2 % without keeping the latencies: DDSketch's logarithmic mapping.

    Why this sketch: its error is relative to the value (2 % of a 40 ms answer and 2 % of a 20 s one, which
    is what a reader of p50/p95/p99 expects), it is guaranteed for every quantile and every input rather
    than probable, its state is one counter per occupied bucket, and merging is adding counters, so it is
    exact across any split of the records (a t-digest, say, depends on the order of its inputs).

    A value v > 0 goes to bucket i = ceil(log(v) / log(gamma)) with gamma = (1 + a) / (1 - a), a =
    RELATIVE_ACCURACY: bucket i holds (gamma**(i-1), gamma**i], and its representative 2*gamma**i/(gamma+1)
    is within a (relative) of every value in it. Between 1 ms and 10 minutes there are about 330 buckets
    (333), so the size stays bounded whatever the traffic; a day's latencies occupy far fewer. Zero (an
    answer from cache) has no logarithm and is common, so it has its own count; minimum and maximum are
    kept exactly.
    """

    RELATIVE_ACCURACY: ClassVar[float] = _RELATIVE_ACCURACY

    __slots__ = ("_buckets", "_maximum", "_minimum", "_zeros")

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self._zeros = 0
        self._minimum = math.inf
        self._maximum = -math.inf

    def add(self, value_ms: float) -> None:
        """Count one latency; the one call per record, so it does the least work it can."""
        if 0.0 < value_ms < math.inf:
            index = math.ceil(math.log(value_ms) / _LOG_GAMMA)
            buckets = self._buckets
            buckets[index] = buckets.get(index, 0) + 1
            if value_ms < self._minimum:
                self._minimum = float(value_ms)
            if value_ms > self._maximum:
                self._maximum = float(value_ms)
        elif value_ms == 0.0:
            self._zeros += 1
            # Stored as 0.0 whatever was passed (-0.0, 0), so the serialised form does not depend on it.
            self._minimum = 0.0
            self._maximum = max(self._maximum, 0.0)
        else:
            raise ValueError(f"latency must be a finite number of milliseconds >= 0, got {value_ms!r}")

    def merge(self, other: LatencySketch) -> None:
        """Add `other`'s latencies to these: the sketch of both parts is the sketch of the whole."""
        buckets = self._buckets
        for index, count in list(other._buckets.items()):
            buckets[index] = buckets.get(index, 0) + count
        self._zeros += other._zeros
        self._minimum = min(self._minimum, other._minimum)
        self._maximum = max(self._maximum, other._maximum)

    @property
    def count(self) -> int:
        return self._zeros + sum(self._buckets.values())

    @property
    def minimum(self) -> float | None:
        return self._minimum if self._minimum <= self._maximum else None

    @property
    def maximum(self) -> float | None:
        return self._maximum if self._minimum <= self._maximum else None

    def quantile(self, q: float) -> float:
        """The latency of rank floor(q * (count - 1)) (0-based, ascending), within RELATIVE_ACCURACY.

        The bound: |quantile(q) - x| <= 0.02 * x for x = sorted(values)[floor(q * (count - 1))], for every
        q and every input of zeros and normal floats (from 2.2e-308 ms: nothing a clock measures is smaller,
        and below it floats lose precision). It holds because the bucket's representative is within 2 % of
        every value in the bucket, and clamping it to the exact minimum and maximum only moves it towards x;
        q = 0 and q = 1 give the exact minimum and maximum.

        `stats.percentile` (numpy's linear method) interpolates between x and the value of the next rank,
        so it lies between the two; this figure is within 2 % of the lower one. Among the thousands of
        latencies of a week the two are close, and the report's percentiles move by little more than 2 %. The
        rank is q * (count - 1) where `percentile` takes (n - 1) * pct / 100: the floors can differ by one
        when the product lands within rounding of a whole number.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile {q!r} is outside 0 to 1")
        count = self.count
        if count == 0:
            raise ValueError("quantile of an empty latency sketch")
        return self._value_at(math.floor(q * (count - 1)))

    def percentile(self, pct: float) -> float:
        """The `pct` percentile the way `stats.percentile` (numpy's linear method) defines it, from the
        sketch: linear between the values of ranks floor(r) and floor(r) + 1, r = (count - 1) * pct / 100.

        Both values are within RELATIVE_ACCURACY of the exact ones and the weights are positive, so the
        result is within 2 % of the exact interpolated percentile: a week of four answers still gets the
        median between its second and third, as the records would give it.
        """
        if not 0 <= pct <= 100:
            raise ValueError(f"percentile {pct!r} is outside 0 to 100")
        count = self.count
        if count == 0:
            raise ValueError("percentile of an empty latency sketch")
        rank = (count - 1) * pct / 100
        lower = int(rank)
        upper = min(lower + 1, count - 1)
        low = self._value_at(lower)
        return low + (self._value_at(upper) - low) * (rank - lower)

    def _value_at(self, rank: int) -> float:
        """The sketch's value of the latency of `rank` (0-based, ascending)."""
        count = self.count
        if rank == count - 1:
            return self._maximum
        if rank < self._zeros:
            return 0.0
        if rank == 0:
            return self._minimum
        rank -= self._zeros
        for index in sorted(self._buckets):
            rank -= self._buckets[index]
            if rank < 0:
                return min(max(_representative(index), self._minimum), self._maximum)
        raise AssertionError("bucket counts do not add up to the count")  # pragma: no cover - invariant

    def to_json(self) -> dict[str, Any]:
        """Sorted bucket indexes as differences (mostly 1: short in JSON) and their counts, plus the exact
        figures; equal multisets of latencies give equal dicts."""
        indexes = sorted(self._buckets)
        empty = self.count == 0
        return {
            "accuracy": self.RELATIVE_ACCURACY,
            "count": self.count,
            "zeros": self._zeros,
            "min": None if empty else self._minimum,
            "max": None if empty else self._maximum,
            "indexes": [index - previous for index, previous in zip(indexes, [0, *indexes], strict=False)],
            "counts": [self._buckets[index] for index in indexes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LatencySketch:
        """The sketch `to_json` gave; refuses anything else, naming the key, rather than merge bad figures."""
        for key in _LATENCY_KEYS:
            if key not in data:
                raise ValueError(f"latency sketch JSON has no {key!r}")
        if data["accuracy"] != cls.RELATIVE_ACCURACY:
            raise ValueError(
                f"latency sketch JSON 'accuracy' is {data['accuracy']!r}, this code's buckets are for "
                f"{cls.RELATIVE_ACCURACY}: the two cannot be merged"
            )
        zeros = _natural(data, "zeros")
        deltas = _int_list(data, "indexes")
        counts = _int_list(data, "counts")
        if len(deltas) != len(counts):
            raise ValueError(f"latency sketch JSON 'indexes' has {len(deltas)} items, 'counts' {len(counts)}")
        if any(delta < 1 for delta in deltas[1:]):
            raise ValueError("latency sketch JSON 'indexes' must be ascending (differences of at least 1)")
        if any(count < 1 for count in counts):
            raise ValueError("latency sketch JSON 'counts' must all be at least 1")
        count = _natural(data, "count")
        if count != zeros + sum(counts):
            raise ValueError(f"latency sketch JSON 'count' {count} is not 'zeros' plus the sum of 'counts'")
        sketch = cls()
        sketch._zeros = zeros
        index = 0
        for delta, bucket_count in zip(deltas, counts, strict=True):
            index += delta
            sketch._buckets[index] = bucket_count
        if not count:
            if data["min"] is not None or data["max"] is not None:
                raise ValueError("latency sketch JSON of no latencies must have 'min' and 'max' null")
            return sketch
        lowest = None if zeros else min(sketch._buckets)
        highest = max(sketch._buckets) if sketch._buckets else None
        sketch._minimum = _exact_bound(data, "min", lowest)
        sketch._maximum = _exact_bound(data, "max", highest)
        if sketch._minimum > sketch._maximum:
            raise ValueError("latency sketch JSON 'min' is above 'max'")
        return sketch

    def __repr__(self) -> str:
        return f"LatencySketch(count={self.count}, minimum={self.minimum}, maximum={self.maximum})"


def _representative(index: int) -> float:
    """2 * gamma**index / (gamma + 1), as one exp so that it overflows only when the representative itself
    is past the largest float (infinity then, which the caller clamps to the maximum)."""
    try:
        return math.exp(index * _LOG_GAMMA + _LOG_REPRESENTATIVE_FACTOR)
    except OverflowError:
        return math.inf


def _natural(data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if type(value) is not int or value < 0:
        raise ValueError(f"sketch JSON {key!r} must be an integer >= 0, got {value!r}")
    return value


def _int_list(data: Mapping[str, Any], key: str) -> list[int]:
    value = data[key]
    if not isinstance(value, list) or any(type(item) is not int for item in value):
        raise ValueError(f"latency sketch JSON {key!r} must be a list of integers")
    return value


def _exact_bound(data: Mapping[str, Any], key: str, index: int | None) -> float:
    """`min` or `max`: a latency in the lowest or highest bucket `index`, or 0 when it is a zero."""
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"latency sketch JSON {key!r} must be a number, got {value!r}")
    value = float(value)
    if index is None:
        if value != 0.0:
            raise ValueError(f"latency sketch JSON {key!r} must be 0 with these counts, got {value!r}")
        return 0.0
    if not 0.0 < value < math.inf or math.ceil(math.log(value) / _LOG_GAMMA) != index:
        raise ValueError(f"latency sketch JSON {key!r} {value!r} is not in its bucket {index}")
    return value


# Exact up to 512 distinct 64-bit hashes: 512 * 8 bytes is the 4096 bytes of the registers, so the exact form
# is never bigger than the estimate would be, and small counts (most days) come out exact.
EXACT_LIMIT = 512
_PRECISION = 12
_REGISTERS = 1 << _PRECISION
_RANK_BITS = 64 - _PRECISION
_RANK_MASK = (1 << _RANK_BITS) - 1
_MAX_RANK = _RANK_BITS + 1
_ALPHA = 0.7213 / (1 + 1.079 / _REGISTERS)
# Session ids remembered to skip the hash of a repeat; cleared when full, so memory stays bounded.
_MEMO_LIMIT = 4096


def _session_hash(session_id: str) -> int:
    """64 bits of blake2b: the same in every process (unlike `hash`), so rollups from different Lambda
    invocations merge."""
    return int.from_bytes(blake2b(session_id.encode(), digest_size=8).digest(), "big")


class SessionCount(_SerialisedEquality):
    """Distinct sessions: exact (64-bit hashes) while small, a HyperLogLog with 2**12 registers past it.

    Why: a set of ids grows with traffic and cannot be stored per day; a HyperLogLog has a fixed size
    (4096 one-byte registers), merges exactly (register-wise maximum, so a session seen on two days or
    shards counts once) and has a standard error of 1.04 / sqrt(4096) = 1.6 %. Up to EXACT_LIMIT (512)
    distinct sessions the hashes themselves are kept, which is no bigger and exact; 64-bit hashes collide
    with probability about n**2 / 2**65, nothing at these counts. Below 2.5 * 4096 the estimate uses linear
    counting (the usual small-range correction), where the raw estimate is biased.
    """

    __slots__ = ("_hashes", "_registers", "_seen")

    def __init__(self) -> None:
        self._hashes: set[int] | None = set()
        self._registers: bytearray | None = None
        self._seen: set[str] = set()

    def add(self, session_id: str) -> None:
        """Count one session; a repeat, which is most calls, costs a set lookup."""
        seen = self._seen
        if session_id in seen:
            return
        if len(seen) >= _MEMO_LIMIT:
            seen.clear()
        seen.add(session_id)
        self._add_hash(_session_hash(session_id))

    def _add_hash(self, hashed: int) -> None:
        hashes = self._hashes
        if hashes is not None:
            hashes.add(hashed)
            if len(hashes) > EXACT_LIMIT:
                self._to_registers()
            return
        registers = self._registers
        assert registers is not None
        register = hashed >> _RANK_BITS
        rank = _MAX_RANK - (hashed & _RANK_MASK).bit_length()
        registers[register] = max(registers[register], rank)

    def _to_registers(self) -> None:
        hashes = self._hashes
        assert hashes is not None
        self._hashes = None
        self._registers = bytearray(_REGISTERS)
        for hashed in hashes:
            self._add_hash(hashed)

    def merge(self, other: SessionCount) -> None:
        """Add `other`'s sessions: a session in both counts once."""
        if other._hashes is not None:
            for hashed in list(other._hashes):
                self._add_hash(hashed)
            return
        if self._registers is None:
            self._to_registers()
        registers, others = self._registers, other._registers
        assert registers is not None and others is not None
        self._registers = bytearray(map(max, registers, others))

    def estimate(self) -> int:
        """The number of distinct sessions: exact while `exact`, else within 1.6 % (one standard error)."""
        if self._hashes is not None:
            return len(self._hashes)
        registers = self._registers
        assert registers is not None
        empty = registers.count(0)
        raw = _ALPHA * _REGISTERS * _REGISTERS / math.fsum(2.0**-rank for rank in registers)
        if raw <= 2.5 * _REGISTERS and empty:
            return round(_REGISTERS * math.log(_REGISTERS / empty))
        return round(raw)

    @property
    def exact(self) -> bool:
        return self._hashes is not None

    def to_json(self) -> dict[str, Any]:
        """Base64 of the sorted hashes (8 bytes each) or of the registers (one byte each)."""
        if self._hashes is not None:
            packed = struct.pack(f">{len(self._hashes)}Q", *sorted(self._hashes))
            return {"hashes": base64.b64encode(packed).decode("ascii")}
        assert self._registers is not None
        return {"registers": base64.b64encode(self._registers).decode("ascii")}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionCount:
        """The count `to_json` gave; refuses anything else, naming the key."""
        if ("hashes" in data) == ("registers" in data):
            raise ValueError(f"session count JSON needs one of 'hashes' or 'registers', got {sorted(data)}")
        key = "hashes" if "hashes" in data else "registers"
        value = data[key]
        if not isinstance(value, str):
            raise ValueError(
                f"session count JSON {key!r} must be a base64 string, got {type(value).__name__}"
            )
        try:
            packed = base64.b64decode(value, validate=True)
        except binascii.Error as error:
            raise ValueError(f"session count JSON {key!r} is not base64: {error}") from None
        count = cls()
        if key == "hashes":
            if len(packed) % 8 or len(packed) > 8 * EXACT_LIMIT:
                raise ValueError(
                    f"session count JSON 'hashes' must be at most {EXACT_LIMIT} hashes of 8 bytes, "
                    f"got {len(packed)} bytes"
                )
            hashes = struct.unpack(f">{len(packed) // 8}Q", packed)
            if any(left >= right for left, right in pairwise(hashes)):
                raise ValueError("session count JSON 'hashes' must be ascending without repeats")
            count._hashes = set(hashes)
            return count
        if len(packed) != _REGISTERS or max(packed) > _MAX_RANK:
            raise ValueError(
                f"session count JSON 'registers' must be {_REGISTERS} bytes of at most {_MAX_RANK}, "
                f"got {len(packed)} bytes"
            )
        count._hashes = None
        count._registers = bytearray(packed)
        return count

    def __repr__(self) -> str:
        return f"SessionCount(estimate={self.estimate()}, exact={self.exact})"
