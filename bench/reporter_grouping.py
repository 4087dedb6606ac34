"""Grouping a week's questions by meaning: model load, then 100, 1,000 and 10,000 distinct questions.

Each size runs in its own child process, so its wall time, CPU time and peak memory (max RSS) are its own;
the model's load (reading and widening the int8 weights, building the tokenizer, embedding the topic
examples) is measured apart as the cold start a Lambda pays once. Only the `reporter.grouping.MAX_GROUPED`
most asked wordings are embedded, so the largest week is bounded by that cap, not by its size. The last
lines compare the reporter's zip with and without what the grouping adds (the model files, numpy,
tokenizers, safetensors), from the zip `python -m cv_analytics.packaging reporter` builds.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

SIZES = (100, 1_000, 10_000)
LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
ADDED_BY_GROUPING = ("reporter/model/", "numpy/", "numpy.libs/", "numpy-", "tokenizers", "safetensors")

FRAMES = (
    "Does she have {} experience?", "has she worked with {}", "How many years of {} does she have?",
    "Is she good at {}?", "Tell me about her {} projects", "{} skills?", "Would she take a {} role?",
    "Has she led a {} team?", "Can she teach {} to juniors?", "What {} certifications does she hold?",
)  # fmt: skip
SUBJECTS = (
    "Kubernetes", "Python", "Go", "Rust", "Java", "Kotlin", "Swift", "React", "Vue", "Angular", "SQL",
    "Postgres", "Kafka", "Spark", "Airflow", "dbt", "Terraform", "Ansible", "AWS", "Azure", "GCP", "Docker",
    "Linux", "C++", "Scala", "Elixir", "GraphQL", "gRPC", "Redis", "MongoDB", "Snowflake", "Tableau",
)  # fmt: skip
EXTRAS = ("", " at scale", " in production", " recently", " for a bank", " in a startup", " remotely")


def distinct_questions(count: int, seed: int = 5) -> list[str]:
    """`count` different recruiter-like questions (frames x subjects x extras, then numbered)."""
    rng = random.Random(seed)
    pool = [frame.format(subject) + extra for frame in FRAMES for subject in SUBJECTS for extra in EXTRAS]
    rng.shuffle(pool)
    return [pool[index % len(pool)] + ("" if index < len(pool) else f" ({index})") for index in range(count)]


def child(size: int) -> dict[str, float]:
    from reporter.grouping import MAX_GROUPED, default_grouper, group_wordings
    from reporter.questions import normalise

    started, started_cpu = time.perf_counter(), time.process_time()
    grouper = default_grouper()
    grouper.group(["warm up"])  # embeds the topic examples once
    load_s, load_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    if size == 0:
        return {"wall_s": load_s, "cpu_s": load_cpu}
    questions = distinct_questions(size)
    wordings = {normalise(question): (question, 1 + index % 3) for index, question in enumerate(questions)}
    started, started_cpu = time.perf_counter(), time.process_time()
    group_of, _ = group_wordings(grouper, wordings)
    return {
        "wall_s": time.perf_counter() - started,
        "cpu_s": time.process_time() - started_cpu,
        "embedded": min(len(wordings), MAX_GROUPED),
        "groups": len(set(group_of.values())),
    }


def run(size: int) -> tuple[dict[str, float], float]:
    """One child's figures and its own peak RSS in MB."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.reporter_grouping", "--child", str(size)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures = json.loads(completed.stdout)
    return figures, figures.pop("peak_kb") / 1024


def zip_sizes(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
    zipped = sum(entry.compress_size for entry in entries)
    unzipped = sum(entry.file_size for entry in entries)
    added = [entry for entry in entries if entry.filename.startswith(ADDED_BY_GROUPING)]
    added_zipped = sum(entry.compress_size for entry in added)
    added_unzipped = sum(entry.file_size for entry in added)
    size = path.stat().st_size
    print(f"reporter zip {path}: {size / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unzipped")
    print(
        f"  without the grouping (model, numpy, tokenizers, safetensors): "
        f"{(size - added_zipped) / 1e6:.1f} MB zipped, {(unzipped - added_unzipped) / 1e6:.1f} MB unzipped; "
        f"the grouping adds {added_zipped / 1e6:.1f} MB zipped ({added_zipped / zipped:.0%} of the entries)"
    )
    print(
        f"  Lambda limits: direct upload {size / LAMBDA_ZIP_LIMIT:.2f} of 50 MB zipped, "
        f"{unzipped / LAMBDA_UNZIPPED_LIMIT:.2f} of 250 MB unzipped"
    )


def main() -> None:
    if "--child" in sys.argv:
        figures = child(int(sys.argv[-1]))
        figures["peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps(figures))
        return
    load, load_peak = run(0)
    print("grouping questions by meaning (all-MiniLM-L6-v2 in numpy, int8 weights), one child process each")
    print(
        f"  cold start: model load and topic classifier {load['wall_s']:.2f} s wall, "
        f"{load['cpu_s']:.2f} s CPU, peak {load_peak:.0f} MB"
    )
    for size in SIZES:
        figures, peak = run(size)
        print(
            f"  {size:>6,} distinct questions: {figures['wall_s']:.2f} s wall, {figures['cpu_s']:.2f} s CPU "
            f"after the load, {figures['embedded']:,.0f} embedded, {figures['groups']:,.0f} groups, "
            f"peak {peak:.0f} MB (load included), "
            f"{figures['wall_s'] / figures['embedded'] * 1000:.1f} ms per embedded wording"
        )
    zip_path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("dist/reporter.zip")
    if zip_path.exists():
        zip_sizes(zip_path)
    else:
        print(f"  no {zip_path}: run ./taskw build-reporter for the zip sizes")


if __name__ == "__main__":
    main()
