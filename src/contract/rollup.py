"""What one final record adds to the rollups the weekly report reads: pure functions, no I/O.

A rollup is a handful of small items per UTC day and write shard, in the Analytics table under their own
partition prefix (`ROLLUP#<day>[#shard]`):

- one counters item per UTC hour (`H#00` to `H#23`, write shard from the request id): requests by fate,
  match type, HTTP status, country, referrer host, model (requests and tokens), CV source, session; orphans,
  healed records, cache hits, answers timed before their question; a latency histogram; the ids of errors
  and of questions without an answer (few, listed in data quality);
- one tally item per wording and UTC day (`W#<wording key>`, write shard from the wording, so a wording's
  day is one item): its spellings, and per UTC hour how often it was asked, refused, unanswered or
  partially matched, with the match scores and, for the unanswered, the CV sources cited and the best score.

Why per UTC hour: a report week runs from local midnight to local midnight, and every offset of the
owner's zone (Europe/London: +0 and +1) is a whole number of hours, so a local week is an exact union of
UTC hours, across both DST changes, without reading a single record. (A zone with a half-hour offset, such
as Asia/Kolkata, would need quarter-hour items; `reporter.settings` refuses such a zone rather than be off.)

Everything is a counter that DynamoDB's `ADD` creates when missing (one attribute each, the ids listed in
data quality included: `E:<time> <id>` is 1 while that error is counted), or a string set that only ever
grows by `ADD` (spellings, best scores), so one UpdateItem per item applies a record without reading
anything first, inside the transaction that writes the record (see `processor.repository`). Healing
subtracts the orphan's contribution and adds the complete record's in the same transaction (`merge` folds
both into one update per item, since a transaction may touch an item only once). The same functions
applied in memory (`RollupItems`) give what the table holds, which is how the reporter aggregates records
directly and how `rebuild` recomputes rollups from records.

Latency histogram: DDSketch's logarithmic buckets with relative accuracy a = RELATIVE_ACCURACY (2 %):
bucket i holds (g^(i-1), g^i] with g = (1 + a) / (1 - a), and is read back as 2 g^i / (g + 1), within a of
every value in it. Percentiles are taken over the bucketed values with the same linear interpolation as
before, so p50, p95 and p99 (and the minimum and maximum) are within 2 % of the exact figure over the same
answers, whatever their number; buckets from days and weeks merge by adding counts. Zero is a bucket of its
own.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Context, Decimal
from urllib.parse import urlsplit

from contract.facts import ANSWERED, ERROR, FAILED, MISSING, REFUSED, Request, fate
from contract.keys import shard_of
from contract.tables import QUERY_ONLY, RESPONSE_ONLY
from contract.wording import spelling, wording_key

ROLLUP_PREFIX = "ROLLUP#"
HOUR_PREFIX = "H#"
WORDING_PREFIX = "W#"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# The Worker sends this when it has no session; it says nothing about how many people asked.
ANONYMOUS_SESSION = "anonymous"
MATCH_TYPES = ("full", "partial", "none")

RELATIVE_ACCURACY = 0.02
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
ZERO_BUCKET = "Lz"

# DynamoDB adds numbers exactly to 38 digits; the in-memory twin does the same.
DECIMALS = Context(prec=38)

# Counter attributes of an hour item.
REQUESTS = "n"
QUESTIONS = "q"  # requests with a question that was not refused: what the wording tallies add up to
FATES = {ANSWERED: "a", REFUSED: "rf", FAILED: "fl", MISSING: "ms"}
ERRORS = "er"
ORPHAN_QUERIES = "qo"
ORPHAN_RESPONSES = "ro"
HEALED = "hl"
BEFORE_QUESTION = "rb"
CACHE_HITS = "ch"
CACHE_KNOWN = "ck"
MATCHES = {"full": "mf", "partial": "mp", "none": "mn"}
SCORE_TOTAL = "sc"
SCORED = "sn"
# Prefixes of an hour item's open-ended counters.
LATENCY = "L"
STATUS = "st:"
COUNTRY = "c:"
REFERRER = "r:"
MODEL_REQUESTS = "m:"
MODEL_INPUT = "i:"
MODEL_OUTPUT = "o:"
SOURCE = "s:"
SESSIONS = "h"  # `h<register>:<rank>`: the sessions sketch (see `session_sketch`)
# Counters of an hour item, one per request listed in data quality: `E:<15-digit time> <request id>` for
# each error, `O:...` for each question never answered (a subtraction takes a healed one back to 0).
ERROR_IDS = "E:"
ORPHAN_IDS = "O:"

# Attributes of a wording item: its spellings and day total, then per UTC hour `<hh><field>`.
SPELLINGS = "sp"
WORDING_TOTAL = "n"
ASKED, ASKED_SCORE, ASKED_SCORED = "q", "qt", "qk"
UNANSWERED, UNANSWERED_SCORE, UNANSWERED_SCORED, UNANSWERED_BEST, UNANSWERED_SOURCE = (
    "u", "ut", "uk", "uB", "us:"
)  # fmt: skip
PARTIAL, PARTIAL_SCORE, PARTIAL_SCORED = "p", "pt", "pk"
REFUSED_ASKED = "x"

Value = Decimal | frozenset[str]
# The `kind` of every rollup item (`contract.tables.RollupItem`).
ROLLUP_KIND = "rollup"
_KEY_ATTRIBUTES = frozenset({"pk", "sk", "kind"})


def rollup_partition(day: date, shard: int = 0) -> str:
    """Partition key of one UTC day's rollup shard; shard 0 is the plain day, as for records."""
    base = f"{ROLLUP_PREFIX}{day.isoformat()}"
    return base if shard == 0 else f"{base}#{shard}"


def rollup_partitions(day: date, shards: int) -> list[str]:
    return [rollup_partition(day, shard) for shard in range(max(shards, 1))]


def partition_day(partition: str) -> date:
    return date.fromisoformat(partition.removeprefix(ROLLUP_PREFIX)[:10])


def latency_bucket(latency_ms: float) -> str:
    if latency_ms <= 0:
        return ZERO_BUCKET
    return f"{LATENCY}{math.ceil(math.log(latency_ms) / _LOG_GAMMA)}"


def bucket_value(bucket: str) -> float:
    """The value a latency bucket stands for: within RELATIVE_ACCURACY of everything counted in it."""
    if bucket == ZERO_BUCKET:
        return 0.0
    index = int(bucket.removeprefix(LATENCY))
    return 2 * GAMMA**index / (GAMMA + 1)


# Sessions: a HyperLogLog sketch of SKETCH_REGISTERS registers (standard error 1.04 / sqrt(128) = 9.2 %),
# kept as one counter per (register, rank) so that healing can take a request out again, and merged by
# taking each register's highest rank with a count above zero. An hour item holds at most 128 registers
# times the ranks its sessions reach (a few each: rank r is reached by one session in 2^r), however many
# sessions it counts. A week small enough is counted exactly from its records instead (reporter.store).
SKETCH_BITS = 7
SKETCH_REGISTERS = 1 << SKETCH_BITS
_REST_BITS = 64 - SKETCH_BITS


def session_sketch(session_id: str) -> tuple[int, int]:
    """The register and rank a session sets: the top bits of its 64-bit hash, and one more than the number
    of leading zeros of the rest."""
    digest = hashlib.blake2b(session_id.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    rest = value & ((1 << _REST_BITS) - 1)
    return value >> _REST_BITS, _REST_BITS - rest.bit_length() + 1


def sessions_estimate(ranks: Mapping[int, int]) -> int:
    """HyperLogLog's estimate from each register's highest rank (a register never set counts as 0)."""
    m = SKETCH_REGISTERS
    harmonic = sum(2.0 ** -ranks.get(register, 0) for register in range(m))
    estimate = 0.7213 / (1 + 1.079 / m) * m * m / harmonic  # HyperLogLog's bias correction alpha
    empty = m - sum(1 for register in range(m) if ranks.get(register, 0))
    if estimate <= 2.5 * m and empty:
        estimate = m * math.log(m / empty)  # the small-range correction: linear counting
    return round(estimate)


def referrer_host(referer: str) -> str:
    """Where a visitor came from, without the path (which can carry personal data)."""
    host = urlsplit(referer if "//" in referer else f"//{referer}").hostname
    return host or referer


def listed_id(timestamp: int, request_id: str) -> str:
    return f"{timestamp:015d} {request_id}"


def parse_listed_id(entry: str) -> tuple[int, str]:
    timestamp, _, request_id = entry.partition(" ")
    return int(timestamp), request_id


def number(value: float | int) -> Decimal:
    """A record's number as DynamoDB holds it: the shortest text that reads back as the same float."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


@dataclass
class Delta:
    """What one or more records add to one rollup item: counters to add and string sets to change."""

    pk: str
    sk: str
    numbers: dict[str, Decimal] = field(default_factory=dict)
    added: dict[str, set[str]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.pk, self.sk

    def count(self, name: str, amount: Decimal | int = 1) -> None:
        self.numbers[name] = DECIMALS.add(self.numbers.get(name, Decimal(0)), Decimal(amount))

    def include(self, name: str, entry: str) -> None:
        self.added.setdefault(name, set()).add(entry)

    @property
    def empty(self) -> bool:
        return not (any(self.numbers.values()) or self.added)


def contributions(request: Request, *, shards: int) -> list[Delta]:  # noqa: PLR0912, PLR0915 - one branch per figure
    """The updates that add one record to its rollups: its hour's counters, and its wording's tally."""
    timestamp = request.timestamp
    day = datetime.fromtimestamp(timestamp / 1000, tz=UTC).date()
    hour = (timestamp % DAY_MS) // HOUR_MS
    counters = Delta(rollup_partition(day, shard_of(request.request_id, shards)), f"{HOUR_PREFIX}{hour:02d}")
    counters.count(REQUESTS)
    if request.correlation == QUERY_ONLY:
        counters.count(ORPHAN_QUERIES)
        counters.count(ORPHAN_IDS + listed_id(timestamp, request.request_id))
    elif request.correlation == RESPONSE_ONLY:
        counters.count(ORPHAN_RESPONSES)
    if request.healed:
        counters.count(HEALED)
    session = request.session_id
    if session and session != ANONYMOUS_SESSION:
        register, rank = session_sketch(session)
        counters.count(f"{SESSIONS}{register}:{rank}")
    kind = fate(request)
    counters.count(FATES[kind])
    if kind == FAILED and request.outcome == ERROR:
        counters.count(ERRORS)
        counters.count(ERROR_IDS + listed_id(timestamp, request.request_id))
    if request.match_type in MATCHES:
        counters.count(MATCHES[request.match_type])
    score = request.match_score
    if score is not None:
        counters.count(SCORE_TOTAL, number(score))
        counters.count(SCORED)
    if request.response_before_query:
        counters.count(BEFORE_QUESTION)
    elif request.latency_ms is not None:
        counters.count(latency_bucket(request.latency_ms))
    if request.cache_hit is not None:
        counters.count(CACHE_KNOWN)
        if request.cache_hit:
            counters.count(CACHE_HITS)
    if request.status is not None:
        counters.count(f"{STATUS}{request.status}")
    model = request.model
    if model:
        counters.count(MODEL_REQUESTS + model)
        if request.input_tokens:
            counters.count(MODEL_INPUT + model, request.input_tokens)
        if request.output_tokens:
            counters.count(MODEL_OUTPUT + model, request.output_tokens)
    for source in request.sources:
        counters.count(SOURCE + source)
    if request.country:
        counters.count(COUNTRY + request.country)
    if request.referer:
        counters.count(REFERRER + referrer_host(request.referer))
    if request.question is None:
        return [counters]
    if kind != REFUSED:
        counters.count(QUESTIONS)
    return [counters, _wording(request, kind, day, f"{hour:02d}", shards)]


def _wording(request: Request, kind: str, day: date, hour: str, shards: int) -> Delta:
    question = request.question or ""
    key = wording_key(question)
    tally = Delta(rollup_partition(day, shard_of(key, shards)), f"{WORDING_PREFIX}{key}")
    tally.count(WORDING_TOTAL)
    tally.include(SPELLINGS, spelling(question))
    score = request.match_score
    if kind == REFUSED:
        tally.count(hour + REFUSED_ASKED)
        return tally
    tally.count(hour + ASKED)
    if score is not None:
        tally.count(hour + ASKED_SCORE, number(score))
        tally.count(hour + ASKED_SCORED)
    if kind == MISSING:
        tally.count(hour + UNANSWERED)
        if score is not None:
            tally.count(hour + UNANSWERED_SCORE, number(score))
            tally.count(hour + UNANSWERED_SCORED)
            tally.include(hour + UNANSWERED_BEST, format(number(score).normalize(), "f"))
        for source in request.sources:
            tally.count(hour + UNANSWERED_SOURCE + source)
    elif kind == ANSWERED and request.match_type == "partial":
        tally.count(hour + PARTIAL)
        if score is not None:
            tally.count(hour + PARTIAL_SCORE, number(score))
            tally.count(hour + PARTIAL_SCORED)
    return tally


def negated(delta: Delta) -> Delta:
    """What takes a contribution back out: its counters subtracted. Its set entries stay: spellings and best
    scores are unions, and the record that replaces an orphan has the orphan's question (a response-only
    orphan has none), so healing never has anything to take out of one."""
    return Delta(delta.pk, delta.sk, numbers={name: -amount for name, amount in delta.numbers.items()})


def merge(deltas: Iterable[Delta]) -> list[Delta]:
    """One delta per item, in first-seen order: counters summed (zeros dropped), sets joined."""
    merged: dict[tuple[str, str], Delta] = {}
    for delta in deltas:
        into = merged.setdefault(delta.key, Delta(delta.pk, delta.sk))
        for name, amount in delta.numbers.items():
            into.count(name, amount)
        for name, entries in delta.added.items():
            into.added.setdefault(name, set()).update(entries)
    result = []
    for delta in merged.values():
        delta.numbers = {name: amount for name, amount in delta.numbers.items() if amount}
        if not delta.empty:
            result.append(delta)
    return result


Item = dict[str, Decimal | set[str]]


class RollupItems:
    """Rollup items in memory, changed exactly as DynamoDB's ADD changes them.

    What the reporter aggregates records with, what `rebuild` writes, and what the tests compare the table
    against.
    """

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}

    def apply(self, delta: Delta) -> None:
        item = self.items.setdefault(delta.key, {})
        for name, amount in delta.numbers.items():
            current = item.get(name, Decimal(0))
            assert isinstance(current, Decimal)
            item[name] = DECIMALS.add(current, amount)
        for name, entries in delta.added.items():
            members = item.setdefault(name, set())
            assert isinstance(members, set)
            members.update(entries)

    def add(self, request: Request, *, shards: int) -> None:
        for delta in contributions(request, shards=shards):
            self.apply(delta)

    def add_all(self, requests: Iterable[Request], *, shards: int) -> RollupItems:
        for request in requests:
            self.add(request, shards=shards)
        return self


def from_wire(item: Mapping[str, Mapping[str, object]]) -> tuple[tuple[str, str], Item]:
    """A rollup item as DynamoDB sends it (`{"N": "3"}`, `{"SS": [...]}`): its key and its values."""
    values: Item = {}
    for name, typed in item.items():
        if name in _KEY_ATTRIBUTES:
            continue
        if "N" in typed:
            values[name] = Decimal(str(typed["N"]))
        elif "SS" in typed:
            entries = typed["SS"]
            values[name] = {str(entry) for entry in entries} if isinstance(entries, list) else set()
    return (str(item["pk"]["S"]), str(item["sk"]["S"])), values


def to_wire(key: tuple[str, str], item: Mapping[str, Decimal | set[str]]) -> dict[str, dict[str, object]]:
    """A whole rollup item in DynamoDB's wire format, for a PutItem (`from_wire` reads it back)."""
    wire: dict[str, dict[str, object]] = {
        "pk": {"S": key[0]},
        "sk": {"S": key[1]},
        "kind": {"S": ROLLUP_KIND},
    }
    for name, value in item.items():
        if isinstance(value, Decimal):
            wire[name] = {"N": str(value)}
        elif value:
            wire[name] = {"SS": sorted(value)}
    return wire


def canonical(items: Mapping[tuple[str, str], Item]) -> dict[tuple[str, str], dict[str, Value]]:
    """Items as a comparable value: zero counters and empty items dropped (a heal can leave zeros)."""
    result: dict[tuple[str, str], dict[str, Value]] = {}
    for key, item in items.items():
        values: dict[str, Value] = {}
        for name, value in item.items():
            if isinstance(value, Decimal):
                if value:
                    values[name] = value
            elif value:
                values[name] = frozenset(value)
        if values:
            result[key] = values
    return result


@dataclass(frozen=True)
class HourRollup:
    """One UTC hour of one write shard, read back."""

    start_ms: int
    numbers: Mapping[str, Decimal]

    def count(self, name: str) -> int:
        return int(self.numbers.get(name, 0))


@dataclass(frozen=True)
class WordingRollup:
    """One wording's tally of one UTC day, read back; `hours` maps `hh` to that hour's fields."""

    day_ms: int
    key: str
    spellings: frozenset[str]
    hours: Mapping[str, Mapping[str, Decimal]]
    best: Mapping[str, frozenset[str]]

    def hour_start_ms(self, hour: str) -> int:
        return self.day_ms + int(hour) * HOUR_MS


def _midnight_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def read_hour(pk: str, sk: str, item: Mapping[str, Decimal | set[str] | frozenset[str]]) -> HourRollup:
    numbers = {name: value for name, value in item.items() if isinstance(value, Decimal)}
    start = _midnight_ms(partition_day(pk)) + int(sk.removeprefix(HOUR_PREFIX)) * HOUR_MS
    return HourRollup(start, numbers)


def read_wording(pk: str, sk: str, item: Mapping[str, Decimal | set[str] | frozenset[str]]) -> WordingRollup:
    hours: dict[str, dict[str, Decimal]] = {}
    best: dict[str, frozenset[str]] = {}
    spellings: frozenset[str] = frozenset()
    for name, value in item.items():
        if name == SPELLINGS:
            spellings = frozenset(value) if not isinstance(value, Decimal) else spellings
        elif name == WORDING_TOTAL or len(name) < 3 or not name[:2].isdigit():
            continue
        elif isinstance(value, Decimal):
            hours.setdefault(name[:2], {})[name[2:]] = value
        else:
            best[name[:2]] = frozenset(value)
    day_ms = _midnight_ms(partition_day(pk))
    return WordingRollup(day_ms, sk.removeprefix(WORDING_PREFIX), spellings, hours, best)


def read_items(items: Mapping[tuple[str, str], Item]) -> tuple[list[HourRollup], list[WordingRollup]]:
    hours, wordings = [], []
    for (pk, sk), item in items.items():
        if sk.startswith(HOUR_PREFIX):
            hours.append(read_hour(pk, sk, item))
        elif sk.startswith(WORDING_PREFIX):
            wordings.append(read_wording(pk, sk, item))
    return hours, wordings


def source_counts(fields: Mapping[str, Decimal]) -> Counter[str]:
    """The CV sources an hour's unanswered answers cited, from a wording hour's fields."""
    counts: Counter[str] = Counter()
    for name, value in fields.items():
        if value and name.startswith(UNANSWERED_SOURCE):
            counts[name[len(UNANSWERED_SOURCE) :]] += int(value)
    return counts
