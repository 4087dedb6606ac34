"""Every AWS request the twin answers, counted by service, action and caller: what the cost model prices.

The twin wraps moto's WSGI application in `RequestMeter`, which records one `MeteredRequest` per request
(service and region from the SigV4 credential scope, the action from `X-Amz-Target` or the form's
`Action`, the caller's access key, the HTTP status) and, for DynamoDB, the capacity units the request
consumed, computed from the items before and after it (`dynamodb_capacity`, since moto's own figures are
constants). `GET /_twin/meter` returns what was recorded since `POST /_twin/meter/reset`; `read` and
`reset` are the client side of those two.

Counting costs a dictionary append per request, and for a DynamoDB write two in-memory item lookups, so it
is always on.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from contract.dynamodb import CONDITIONAL_CHECK_FAILED
from cv_analytics.local import dynamodb_capacity as capacity
from cv_analytics.local.moto_gaps import BACKENDS

if TYPE_CHECKING:
    from cv_analytics.local.twin import Twin

HTTP_OK = 200
METER_PATH = "/_twin/meter"
RESET_PATH = "/_twin/meter/reset"

# A failed condition still consumes the write's units (DynamoDB bills the attempt); other errors do not.
BILLED_ERRORS = (CONDITIONAL_CHECK_FAILED, "TransactionCanceledException")

DYNAMODB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


@dataclass(frozen=True)
class MeteredRequest:
    service: str
    action: str
    access_key: str
    status: int
    write_units: int = 0
    index_write_units: int = 0
    read_units: float = 0.0
    request_bytes: int = 0
    # Which table the units went to: a transaction writes to several (its indexes' units with each), and a
    # read names one (`read_table`; empty for a multi-table read), so a table's own traffic can be priced.
    table_write_units: dict[str, int] = field(default_factory=dict)
    read_table: str = ""


def _credential_scope(environ: Mapping[str, Any]) -> tuple[str, str, str]:
    """(access key, region, service) from the SigV4 Authorization header or presigned query."""
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    credential = header.partition("Credential=")[2].split(",")[0]
    if not credential:
        query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
        credential = (query.get("X-Amz-Credential") or [""])[0]
    parts = credential.split("/")
    if len(parts) < 4:
        return "", "", "unsigned"
    return parts[0], parts[2], parts[3]


def _action(environ: Mapping[str, Any], body: bytes) -> str:
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rpartition(".")[2]
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}"


@dataclass(frozen=True)
class PlannedWrite:
    table: str
    key: dict[str, Any] | None  # None: taken from `item` (PutItem)
    item: dict[str, Any] | None
    transactional: bool


def planned_writes(action: str, body: Mapping[str, Any]) -> list[PlannedWrite]:
    if action == "PutItem":
        return [PlannedWrite(body["TableName"], None, body["Item"], False)]
    if action in ("UpdateItem", "DeleteItem"):
        return [PlannedWrite(body["TableName"], body["Key"], None, False)]
    if action == "TransactWriteItems":
        writes = []
        for entry in body.get("TransactItems", []):
            for kind, request in entry.items():
                if kind == "Put":
                    writes.append(PlannedWrite(request["TableName"], None, request["Item"], True))
                elif kind in ("Update", "Delete"):
                    writes.append(PlannedWrite(request["TableName"], request["Key"], None, True))
        return writes
    if action == "BatchWriteItem":
        writes = []
        for table, requests in body.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    writes.append(PlannedWrite(table, None, request["PutRequest"]["Item"], False))
                else:
                    writes.append(PlannedWrite(table, request["DeleteRequest"]["Key"], None, False))
        return writes
    return []


class Tables:
    """What moto holds, read in moto's own process (the meter runs inside the twin)."""

    def __init__(self, region: str) -> None:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self.backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]

    def _table(self, name: str) -> Any:
        return self.backend.get_table(name)

    def keys(self, name: str) -> list[str]:
        table = self._table(name)
        return [key for key in (table.hash_key_attr, table.range_key_attr) if key]

    def indexes(self, name: str) -> list[capacity.Index]:
        return [
            capacity.Index(
                name=index.name,
                key_attributes=tuple(key["AttributeName"] for key in index.schema),
                projection=str((index.projection or {}).get("ProjectionType", "ALL")),
                included=tuple((index.projection or {}).get("NonKeyAttributes", ())),
            )
            for index in self._table(name).global_indexes
        ]

    def item(self, name: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self._table(name)
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        found = table.get_item(hash_key, range_key)
        return copy.deepcopy(found.to_json()["Attributes"]) if found else None


def item_key(tables: Tables, write: PlannedWrite) -> Mapping[str, Any]:
    if write.key is not None:
        return write.key
    assert write.item is not None
    return {name: write.item[name] for name in tables.keys(write.table)}


def write_units_of(
    tables: Tables, writes: Sequence[PlannedWrite], before: list[Any], after: list[Any]
) -> tuple[int, int, dict[str, int]]:
    """The units of the tables, of their indexes, and of each table with its indexes."""
    table_units = index_units = 0
    by_table: dict[str, int] = {}
    for write, old, new in zip(writes, before, after, strict=True):
        units = capacity.write_units(
            old,
            new,
            indexes=tables.indexes(write.table),
            table_keys=tables.keys(write.table),
            transactional=write.transactional,
        )
        table_units += units.table
        index_units += units.indexes
        by_table[write.table] = by_table.get(write.table, 0) + units.table + units.indexes
    return table_units, index_units, by_table


def writes_before(
    tables: Tables, action: str, request: Mapping[str, Any]
) -> tuple[list[PlannedWrite], list[Any]]:
    """The items a write request will change, as they stand before it runs (read before moto answers)."""
    try:
        writes = planned_writes(action, request)
        return writes, [tables.item(write.table, item_key(tables, write)) for write in writes]
    except Exception:  # an unknown table or a malformed request: moto refuses it, nothing is billed
        return [], []


def billed(status: int, error: str) -> bool:
    """Whether DynamoDB bills a write: when it succeeded, and when its condition failed."""
    return status == HTTP_OK or error.endswith(BILLED_ERRORS)


def units_after(
    tables: Tables, writes: Sequence[PlannedWrite], before: list[Any]
) -> tuple[int, int, dict[str, int]]:
    """`write_units_of` the writes, from the items as they stood before and as they stand now."""
    after = [tables.item(write.table, item_key(tables, write)) for write in writes]
    return write_units_of(tables, writes, before, after)


def read_units_of(action: str, request: Mapping[str, Any], response: Mapping[str, Any]) -> float:
    consistent = bool(request.get("ConsistentRead", False))
    if action == "GetItem":
        return capacity.read_units_for(capacity.item_size(response.get("Item")), consistent=consistent)
    if action in ("Query", "Scan"):
        total = sum(capacity.item_size(item) for item in response.get("Items", []))
        return capacity.read_units_for(total, consistent=consistent)
    if action == "TransactGetItems":
        return sum(
            2 * capacity.read_units_for(capacity.item_size(entry.get("Item")), consistent=True)
            for entry in response.get("Responses", [])
        )
    if action == "BatchGetItem":
        units = 0.0
        for table, items in response.get("Responses", {}).items():
            strong = bool(request.get("RequestItems", {}).get(table, {}).get("ConsistentRead", False))
            units += sum(capacity.read_units_for(capacity.item_size(i), consistent=strong) for i in items)
        return units
    return 0.0


class RequestMeter:
    """A WSGI layer in front of moto that records every request (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[MeteredRequest] = []

    def _record(self, record: MeteredRequest) -> None:
        with self._lock:
            self._records.append(record)

    def _answer(self, environ: Mapping[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            if environ.get("PATH_INFO") == RESET_PATH:
                self._records.clear()
                body = b"{}"
            else:
                body = json.dumps({"requests": [asdict(r) for r in self._records]}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def wrap(self, application: Callable[..., Any]) -> Callable[..., Any]:
        def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") in (METER_PATH, RESET_PATH):
                return self._answer(environ, start_response)
            key, _, service = _credential_scope(environ)
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            if service != "dynamodb":
                action = _action(environ, body)
                status: list[int] = []

                def noting(code: str, headers: Any, *rest: Any) -> Any:
                    status.append(int(code.split(maxsplit=1)[0]))
                    return start_response(code, headers, *rest)

                result = application(environ, noting)
                self._record(
                    MeteredRequest(service, action, key, status[0] if status else 0, request_bytes=length)
                )
                return result  # type: ignore[no-any-return]
            return self._dynamodb(application, environ, start_response)

        return serve

    def _dynamodb(
        self, application: Callable[..., Any], environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Answer a DynamoDB request through moto and record the units it consumed.

        The items are read before and after under the lock that serves moto's requests one at a time
        (`moto_gaps.BACKENDS`), so no other request's write falls between the two reads.
        """
        with BACKENDS:
            return self._dynamodb_served(application, environ, start_response)

    def _dynamodb_served(
        self, application: Callable[..., Any], environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        key, region, _ = _credential_scope(environ)
        body = environ["wsgi.input"].getvalue()
        action = _action(environ, body)
        request: dict[str, Any] = json.loads(body or b"{}")
        tables = Tables(region)
        writes, before = writes_before(tables, action, request)
        status: list[str] = []

        def noting(code: str, headers: Any, *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        answer = b"".join(application(environ, noting))
        code = int(status[0].split()[0]) if status else 0
        response: dict[str, Any] = {}
        with contextlib.suppress(ValueError):
            response = json.loads(answer or b"{}")
        write_units = index_units = 0
        by_table: dict[str, int] = {}
        if writes and billed(code, str(response.get("__type", ""))):
            write_units, index_units, by_table = units_after(tables, writes, before)
        read_units = read_units_of(action, request, response) if code == HTTP_OK else 0.0
        self._record(
            MeteredRequest(
                "dynamodb",
                action,
                key,
                code,
                write_units,
                index_units,
                read_units,
                request_bytes=len(body),
                table_write_units=by_table,
                read_table=str(request.get("TableName", "")),
            )
        )
        return [answer]

    def records(self) -> list[MeteredRequest]:
        with self._lock:
            return list(self._records)


def _call(twin: Twin, path: str, method: str) -> bytes:
    from cv_analytics.local.twin import _tls_context

    data = b"" if method == "POST" else None
    request = urllib.request.Request(f"{twin.endpoint_url}{path}", method=method, data=data)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30, context=_tls_context(twin.tls)) as response:  # noqa: S310
        return bytes(response.read())


def reset(twin: Twin) -> None:
    """Forget what the twin counted so far: the next `read` starts here."""
    _call(twin, RESET_PATH, "POST")


def read(twin: Twin) -> list[MeteredRequest]:
    """Every request the twin answered since the last `reset`."""
    loaded = json.loads(_call(twin, METER_PATH, "GET"))
    return [MeteredRequest(**entry) for entry in loaded["requests"]]
