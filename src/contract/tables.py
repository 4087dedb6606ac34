"""PynamoDB models of the two tables: the one description of their keys, indexes and TTL.

The processor and the reporter read and write through these models, and the infrastructure derives the
DynamoDB key schemas, the index and the TTL attribute from them (`table_definition`), so a key is never
written down twice.

QueryEvents holds one interim item per request while its halves meet. Analytics is a single table with a
few item kinds told apart by `kind`: a request's final record in its day partition, a guard item per request
id that makes "one record per request" a conditional write, quarantined events, and weekly report markers.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from contract.config import AwsSettings

PAY_PER_REQUEST = "PAY_PER_REQUEST"

# Interim item states.
PENDING = "pending"
CORRELATED = "correlated"
ORPHANED = "orphaned"

# The value of the sparse index's hash key: present only while an item is pending.
PENDING_BUCKET = "pending"
# The value of the late-records index's hash key: present only on a record whose day may be rolled up already.
LATE_BUCKET = "late"

# How a request's final record came about.
COMPLETE = "complete"
QUERY_ONLY = "query_only"
RESPONSE_ONLY = "response_only"


class PendingIndex(GlobalSecondaryIndex["InterimRequest"]):  # type: ignore[no-untyped-call]
    """Sparse index over pending interim items, oldest first: how the sweep finds work without a Scan.

    Keys only: the index holds the request id and first-seen time, never the halves, so storing a half
    or settling an item writes the index at most once, at one unit (a projection of every attribute wrote
    the whole item, halves included, and again on every change). The sweep reads each due item itself.
    """

    class Meta:
        index_name = "pending-by-first-seen"
        projection = KeysOnlyProjection()

    pending_bucket = UnicodeAttribute(hash_key=True)
    first_seen = NumberAttribute(range_key=True)


class LateIndex(GlobalSecondaryIndex["AnalyticsItem"]):  # type: ignore[no-untyped-call]
    """Sparse index over records written after their day's rollup may have been built: how the roll-up
    finds the days to build again without a Scan (see `contract.lateness`).

    Only late or healed records are in it, so an ordinary record costs it nothing. It carries the item kind
    (without it PynamoDB cannot tell which model an item is, and skips it), when the record was written and
    the healed orphan's partition: all the roll-up needs, without reading the record.
    """

    class Meta:
        index_name = "late-records"
        projection = IncludeProjection(["kind", "recorded_at", "replaced_partition"])

    late_bucket = UnicodeAttribute(hash_key=True)


class InterimRequest(Model):
    """One request while it is incomplete (table QueryEvents).

    Each half is stored as the JSON it arrived as, so unknown fields survive until the final record.
    `pending_bucket` exists only while `status` is pending; removing it drops the item from the index.
    """

    class Meta:
        table_name = AwsSettings.query_events_table
        region = AwsSettings.aws_region
        billing_mode = PAY_PER_REQUEST

    request_id = UnicodeAttribute(hash_key=True)
    query_event = UnicodeAttribute(null=True)
    response_event = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=PENDING)
    first_seen = NumberAttribute()
    pending_bucket = UnicodeAttribute(null=True)
    record_partition = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    pending_index = PendingIndex()


class AnalyticsItem(Model):
    """Every item of the Analytics table; `kind` selects the subclass PynamoDB returns."""

    class Meta:
        table_name = AwsSettings.analytics_table
        region = AwsSettings.aws_region
        billing_mode = PAY_PER_REQUEST

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    # Only on a late or healed request record; removed once a roll-up has counted it.
    late_bucket = UnicodeAttribute(null=True)

    late_index = LateIndex()


class RequestRecord(AnalyticsItem, discriminator="request"):
    """The final record of one request, in the partition of its UTC day (see `contract.keys`).

    `correlation` says whether both halves arrived (complete) or only one (an orphan); `healed` is true when
    a late half turned an orphan into a complete record. Times are epoch milliseconds, durations milliseconds.
    """

    request_id = UnicodeAttribute()
    correlation = UnicodeAttribute()
    day = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    query_time = NumberAttribute(null=True)
    response_time = NumberAttribute(null=True)
    latency_ms = NumberAttribute(null=True)
    worker_total_ms = NumberAttribute(null=True)
    llm_ms = NumberAttribute(null=True)
    retrieval_ms = NumberAttribute(null=True)
    question = UnicodeAttribute(null=True)
    match_type = UnicodeAttribute(null=True)
    match_score = NumberAttribute(null=True)
    match_quality = NumberAttribute(null=True)
    reasoning = UnicodeAttribute(null=True)
    vector_matches = NumberAttribute(null=True)
    cache_hit = BooleanAttribute(null=True)
    sources = ListAttribute(of=UnicodeAttribute, null=True)
    model = UnicodeAttribute(null=True)
    input_tokens = NumberAttribute(null=True)
    output_tokens = NumberAttribute(null=True)
    status = NumberAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    referer = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    healed = BooleanAttribute(default=False)
    # Where the orphan this record healed lived, when that was another day partition: its day changed too.
    replaced_partition = UnicodeAttribute(null=True)
    # Some text was cut to fit DynamoDB's item limit (see `processor.records.TEXT_LIMIT` and after).
    truncated = BooleanAttribute(default=False)
    # The response is timed before its query beyond `processor.records.CLOCK_SKEW_ALLOWANCE_MS`: impossible
    # data, kept as evidence, without a latency, and counted in the report's data quality.
    response_before_query = BooleanAttribute(default=False)
    recorded_at = NumberAttribute()
    query_event = UnicodeAttribute(null=True)
    response_event = UnicodeAttribute(null=True)


class RequestGuard(AnalyticsItem, discriminator="guard"):
    """Exactly one per request id: where its record lives and in which state.

    Writing the record and creating (or moving) the guard in one transaction turns "exactly one record per
    request" into a condition DynamoDB enforces, even when the record's day partition changes on healing.
    """

    request_id = UnicodeAttribute()
    correlation = UnicodeAttribute()
    record_partition = UnicodeAttribute()


class QuarantinedEvent(AnalyticsItem, discriminator="quarantine"):
    """A message that is not valid JSON or breaks the contract, kept with its reason, never retried."""

    message_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    path = UnicodeAttribute()
    raw_body = UnicodeAttribute()
    body_truncated = BooleanAttribute(default=False)
    received_at = NumberAttribute()
    message_group_id = UnicodeAttribute(null=True)
    day = UnicodeAttribute()


class ReportMarker(AnalyticsItem, discriminator="report"):
    """One per ISO week: pending when claimed, sending just before SES is called, then sent (with the SES
    message id), rejected, or in_doubt when an attempt died while sending (see reporter/marker.py)."""

    week = UnicodeAttribute()
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    updated_at = NumberAttribute()
    ses_message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    # Which attempt owns a pending report, and until when (epoch ms): a retry takes over only after that.
    claim_id = UnicodeAttribute(null=True)
    claimed_until = NumberAttribute(null=True)


class DayRollup(AnalyticsItem, discriminator="rollup"):
    """One part of one local day's rollup for one write shard: the day's figures, compressed JSON
    (`reporter.figures.to_json`), split in parts when they exceed one item.

    All parts of one build share `generation` (when it was built, epoch ms) and say how many there are,
    and are written at once (one PutItem, or one transaction for several): a reader never sees half a build.
    """

    zone = UnicodeAttribute()
    day = UnicodeAttribute()
    shard = NumberAttribute()
    part = NumberAttribute()
    parts = NumberAttribute()
    generation = NumberAttribute()
    requests = NumberAttribute()
    body = BinaryAttribute(legacy_encoding=False)


TABLE_MODELS: tuple[type[Model], ...] = (InterimRequest, AnalyticsItem)


def _model_family(model: type[Model]) -> list[type[Model]]:
    family = [model]
    for subclass in model.__subclasses__():
        family.extend(_model_family(subclass))
    return family


def bind_tables(settings: AwsSettings) -> None:
    """Point the models at the configured tables, region and endpoint (moto server when set).

    PynamoDB caches one connection per model class; it is dropped here so the next call uses the new values.
    """
    names = {InterimRequest: settings.query_events_table, AnalyticsItem: settings.analytics_table}
    for root, table_name in names.items():
        for model in _model_family(root):
            model.Meta.table_name = table_name
            model.Meta.region = settings.aws_region
            model.Meta.host = settings.aws_endpoint_url
            model._connection = None


def _keys(key_schema: list[Any]) -> list[dict[str, str]]:
    """Hash key first, as DynamoDB and Terraform list them."""
    ordered = sorted(key_schema, key=lambda key: key["KeyType"] != "HASH")
    return [{"attribute_name": key["AttributeName"], "key_type": key["KeyType"]} for key in ordered]


def table_definition(model: type[Model]) -> dict[str, Any]:
    """Keys, attribute definitions, indexes and TTL attribute of a table, as DynamoDB names them.

    This is what the infrastructure builds the tables from; it comes from PynamoDB's own schema so it cannot
    disagree with what the code reads and writes.
    """
    schema = model._get_schema()
    ttl_attribute = next(
        (attr.attr_name for attr in model.get_attributes().values() if isinstance(attr, TTLAttribute)),
        None,
    )
    return {
        "key_schema": _keys(schema["key_schema"]),
        "attribute_definitions": [
            {"attribute_name": attr["AttributeName"], "attribute_type": attr["AttributeType"]}
            for attr in schema["attribute_definitions"]
        ],
        "global_secondary_indexes": [
            {
                "index_name": index["index_name"],
                "key_schema": _keys(index["key_schema"]),
                "projection_type": index["projection"]["ProjectionType"],
                **(
                    {"non_key_attributes": index["projection"]["NonKeyAttributes"]}
                    if "NonKeyAttributes" in index["projection"]
                    else {}
                ),
            }
            for index in schema.get("global_secondary_indexes", [])
        ],
        "ttl_attribute": ttl_attribute,
    }
