"""checkov on the synthesized stacks, from its own virtualenv, with every skipped check explained here.

`python -m terraform.checkov [STACK_DIR ...]` creates `.venv-checkov` from requirements/checkov.lock when
missing or stale (its pins would fight the project's), scans each stack folder with `-d` (the terraform_json
runner: `-f file --framework terraform` would scan nothing and pass), and exits 1 on any failed check.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terraform.environment import OUTDIR, ROOT

CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV_LOCK = ROOT / "requirements" / "checkov.lock"

# Every check this project does not meet, and why. A check not listed here must pass.
SKIPPED_CHECKS: dict[str, str] = {
    "CKV_AWS_50": "X-Ray needs xray:PutTraceSegments on Resource '*'; Powertools' JSON logs and EMF metrics "
    "already trace each batch.",
    "CKV_AWS_115": "Reserving concurrency fails on new accounts (10 concurrent executions in total); the "
    "processor is bounded by the event source mapping's maximum concurrency, the others run on a schedule.",
    "CKV_AWS_116": "The processor's failed messages go to the queue's DLQ (redrive); scheduled functions are "
    "retried by EventBridge Scheduler and alarm on errors, so a Lambda DLQ would hold nothing useful.",
    "CKV_AWS_117": "The functions reach only public AWS endpoints; a VPC would need a NAT gateway or "
    "interface "
    "endpoints, dollars a day against a free-tier budget, for no exposure removed.",
    "CKV_AWS_173": "Environment variables hold table names and settings, no secrets; Lambda encrypts them at "
    "rest with its service key.",
    "CKV_AWS_272": "The zips are built deterministically from the reviewed repository by the deploy task; "
    "code signing needs a Signer profile and S3 uploads the project does not otherwise need.",
    "CKV_AWS_158": "CloudWatch Logs encrypts log data at rest; a customer managed KMS key costs a dollar a "
    "month per key against a free-tier budget.",
    "CKV_AWS_338": "Log retention is an environment setting (14 days in dev, 90 in prod): logs are for "
    "operations, the data that matters is in DynamoDB.",
    "CKV_AWS_119": "The tables are encrypted with the AWS managed key; a customer managed key costs a dollar "
    "a month and adds nothing for a single-account project.",
    "CKV_AWS_297": "Schedules carry no data beyond the target ARN; AWS-owned-key encryption applies.",
    "CKV_AWS_26": "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and a "
    "customer managed key costs a dollar a month; notifications carry alarm names only.",
    "CKV_AWS_273": "The Cloudflare Worker runs outside AWS and can hold only static keys; the user can do "
    "nothing but sqs:SendMessage on one queue.",
    "CKV_AWS_18": "Access logs of the state bucket would need a second bucket; CloudTrail already records "
    "who read or wrote state.",
    "CKV_AWS_144": "State is versioned and can be re-imported; cross-region replication would double the "
    "state's cost for a project deployed in one region.",
    "CKV2_AWS_62": "Nothing consumes events of the state bucket.",
    "CKV_AWS_319": "The silent-Worker alarm is created with its actions off, so a fresh environment does not "
    "page before its first event; arm-silent-alarm turns them on. checkov skips only by check id here, so "
    "tests/infra/test_guardrail_alarms.py checks every other alarm keeps its actions on.",
}


@dataclass(frozen=True)
class CheckovResult:
    passed: int
    failed: int
    skipped: int
    failures: list[str]


def _fingerprint() -> str:
    return hashlib.sha256(CHECKOV_LOCK.read_bytes()).hexdigest()


def checkov_executable() -> Path:
    """`.venv-checkov/bin/checkov`, (re)installed from its lock when the lock changed."""
    stamp = CHECKOV_VENV / ".installed"
    executable = CHECKOV_VENV / "bin" / "checkov"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == _fingerprint() and executable.exists():
        return executable
    print(f"checkov: installing into {CHECKOV_VENV.relative_to(ROOT)} (first run only)", file=sys.stderr)
    venv.create(CHECKOV_VENV, with_pip=True, clear=True)
    subprocess.run(  # noqa: S603 - pip of the checkov virtualenv, arguments built here
        [
            str(CHECKOV_VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-qq",
            "--disable-pip-version-check",
            "-r",
            str(CHECKOV_LOCK),
        ],
        check=True,
    )
    stamp.write_text(_fingerprint(), encoding="utf-8")
    return executable


def _json_documents(text: str) -> list[dict[str, Any]]:
    """checkov prints one JSON document per scanned directory, one after the other."""
    decoder = json.JSONDecoder()
    documents: list[dict[str, Any]] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(text, position)
        documents.extend(document if isinstance(document, list) else [document])
    return documents


def run_checkov(stack_dirs: Sequence[Path]) -> CheckovResult:
    executable = checkov_executable()
    environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    directories = [arg for stack_dir in stack_dirs for arg in ("-d", str(stack_dir))]
    completed = subprocess.run(  # noqa: S603 - checkov from its own virtualenv
        [
            str(executable),
            *directories,
            "--framework",
            "terraform_json",
            "-o",
            "json",
            "--compact",
            "--quiet",
            "--skip-download",
            "--skip-check",
            ",".join(sorted(SKIPPED_CHECKS)),
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if completed.returncode not in (0, 1) or not completed.stdout.strip():
        raise RuntimeError(f"checkov did not run: {completed.stderr[-2000:]}")
    reports = _json_documents(completed.stdout)
    passed = failed = skipped = 0
    failures: list[str] = []
    for report in reports:
        summary = report.get("summary", {})
        passed += int(summary.get("passed", 0))
        failed += int(summary.get("failed", 0))
        skipped += int(summary.get("skipped", 0))
        for check in report.get("results", {}).get("failed_checks", []):
            failures.append(
                f"{check['file_path']}: {check['check_id']} {check['check_name']} ({check['resource']})"
            )
    return CheckovResult(passed=passed, failed=failed, skipped=skipped, failures=failures)


def main(argv: Sequence[str]) -> int:
    stack_dirs = [Path(arg) for arg in argv] or sorted(p for p in (OUTDIR / "stacks").iterdir() if p.is_dir())
    result = run_checkov(stack_dirs)
    for failure in result.failures:
        print(f"FAILED {failure}")
    print(
        f"checkov: {len(stack_dirs)} stacks, {result.passed} passed, {result.failed} failed, "
        f"{len(SKIPPED_CHECKS)} checks skipped with reasons in terraform/checkov.py"
    )
    return 1 if result.failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
