"""The reporter's peak memory on a large week, model loaded, against the Lambda memory it is configured with.

One child process runs what an invocation runs after reading DynamoDB: the handler's imports (boto3,
Powertools), eight weeks of PER_WEEK records each (every question a different wording, the grouping's worst
case), the aggregation, the grouping by meaning with the model loaded, the rendering and the MIME message.
A second child runs the same without the model (every wording its own group), so the line says what the
model adds. The peak is the child's max RSS, which is what Lambda's memory limit counts; each environment
file's `reporter.memory_mb` is printed beside it with the ratio.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from bench.reporter_grouping import distinct_questions

PER_WEEK = int(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else 10_000
ENVIRONMENTS = Path(__file__).resolve().parents[1] / "terraform" / "environments"


def child(with_model: bool) -> dict[str, float]:
    from zoneinfo import ZoneInfo

    import reporter.handler  # noqa: F401 - the Lambda's own imports count towards its memory
    from bench.reporter_data import synthetic_requests
    from reporter.aggregation import WeekAggregator, WeekRouter, build_insights, data_quality, report_weeks
    from reporter.fitting import fit
    from reporter.grouping import default_grouper
    from reporter.mailer import build_message
    from reporter.period import ReportWeek
    from reporter.settings import ReporterSettings

    week = ReportWeek.parse("2026-W47", ZoneInfo("Europe/London"))
    weeks = [WeekAggregator(each) for each in report_weeks(week)]
    router = WeekRouter(weeks)
    questions = distinct_questions(PER_WEEK)
    records = 0
    for aggregator in weeks:
        for chunk in synthetic_requests(aggregator.week, PER_WEEK, seed=aggregator.week.number):
            router.add_all(
                replace(record, question=questions[(records + index) % PER_WEEK])
                if record.question is not None
                else record
                for index, record in enumerate(chunk)
            )
            records += len(chunk)
    settings = ReporterSettings()
    quality = data_quality(weeks[-1], [], 0, 0)
    grouper = default_grouper() if with_model else None
    insights = build_insights(weeks, quality, settings.model_prices(), settings.report_currency, grouper)
    _, message = fit(insights, lambda email: build_message(email, "a@example.com", ["b@example.com"]))
    return {"records": records, "groups": insights.question_groups, "message_bytes": len(message)}


def run(with_model: bool) -> tuple[dict[str, float], float]:
    """One child's figures and its peak RSS in MB."""
    mode = "model" if with_model else "none"
    command = [sys.executable, "-m", "bench.reporter_memory", str(PER_WEEK), "--child", mode]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    figures = json.loads(completed.stdout)
    return figures, figures.pop("peak_kb") / 1024


def configured() -> dict[str, int]:
    """Each environment file's reporter memory in MB."""
    return {
        path.stem: int(json.loads(path.read_text(encoding="utf-8"))["reporter"]["memory_mb"])
        for path in sorted(ENVIRONMENTS.glob("*.json"))
    }


def main() -> None:
    if "--child" in sys.argv:
        figures = child(sys.argv[-1] == "model")
        figures["peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps(figures))
        return
    with_model, peak = run(True)
    _, peak_without = run(False)
    records = with_model["records"]
    print(f"the reporter on eight weeks of {PER_WEEK:,} different questions each ({records:,.0f} records)")
    print(
        f"  peak {peak:.0f} MB with the model loaded ({with_model['groups']:,.0f} groups, "
        f"{with_model['message_bytes']:,.0f} bytes of message), {peak_without:.0f} MB without it: "
        f"the model adds {peak - peak_without:.0f} MB"
    )
    for environment, memory in configured().items():
        print(f"  {environment}: reporter memory {memory} MB, peak {peak / memory:.2f} of it")


if __name__ == "__main__":
    main()
