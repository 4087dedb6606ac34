"""Synthetic weeks for the reporter's benchmarks: a pool of varied records replayed with new ids and times."""

from __future__ import annotations

import random
from collections.abc import Iterator

from reporter.period import ReportWeek
from reporter.records import Request

QUESTIONS = [
    "Has she led a team using {}?",
    "has she led a team using {}",
    "What is her {} experience?",
    "How many years of {} does she have?",
    "Would she relocate for a {} role?",
    "Can she start a {} project next month?",
]
TOPICS = ["Kubernetes", "Python", "Go", "Terraform", "AWS", "React", "Rust", "leadership", "SQL", "Kafka"]
SOURCES = ["Kubernetes", "Docker", "Terraform", "AWS", "Go", "Python", "Leadership", "Education", "Projects"]
MODELS = ["@cf/meta/llama-3.1-8b-instruct", "@cf/meta/llama-3.3-70b-instruct-fp8-fast"]


def _pool(size: int, week: ReportWeek, rng: random.Random) -> list[Request]:
    """`size` different requests to replay."""
    pool = []
    for index in range(size):
        correlation = rng.choices(["complete", "query_only", "response_only"], [90, 7, 3])[0]
        answered = correlation != "query_only"
        question = rng.choice(QUESTIONS).format(rng.choice(TOPICS))
        if index % 10 == 0:
            question = f"{question} (asked differently {index})"
        pool.append(
            Request(
                request_id=f"template-{index}",
                correlation=correlation,
                timestamp=week.start_ms,
                session_id=f"session-{index % 3000}",
                question=question if correlation != "response_only" else None,
                match_type=rng.choices(["full", "partial", "none"], [5, 3, 2])[0] if answered else None,
                match_score=round(rng.uniform(0, 100), 1) if answered else None,
                latency_ms=rng.lognormvariate(7.3, 0.5) if correlation == "complete" else None,
                cache_hit=rng.random() < 0.25 if answered else None,
                sources=tuple(rng.sample(SOURCES, 3)) if answered else (),
                model=rng.choice(MODELS) if answered else None,
                input_tokens=rng.randrange(400, 1500) if answered else None,
                output_tokens=rng.randrange(50, 400) if answered else None,
                status=200,
                outcome="answered" if answered else "no_results",
                country=rng.choice(["GB", "DE", "US", "NL", None]),
                referer=rng.choice(["https://www.linkedin.com/in/someone", "https://example.dev/cv", None]),
                healed=rng.random() < 0.01,
            )
        )
    return pool


def _replay(template: Request, request_id: str, timestamp: int) -> Request:
    return Request(
        request_id, template.correlation, timestamp, template.session_id, template.question,
        template.match_type, template.match_score, template.latency_ms, template.cache_hit, template.sources,
        template.model, template.input_tokens, template.output_tokens, template.status, template.outcome,
        template.country, template.referer, template.healed,
    )  # fmt: skip


def synthetic_requests(
    week: ReportWeek, count: int, *, chunk: int = 100_000, seed: int = 1, pool_size: int = 20_000
) -> Iterator[list[Request]]:
    """`count` records spread over `week`, in lists of `chunk` so memory holds one chunk at a time."""
    rng = random.Random(seed)
    pool = _pool(pool_size, week, rng)
    span = week.end_ms - week.start_ms
    made = 0
    while made < count:
        size = min(chunk, count - made)
        yield [
            _replay(pool[n % pool_size], f"req-{n}", week.start_ms + n * 7919 % span)
            for n in range(made, made + size)
        ]
        made += size
