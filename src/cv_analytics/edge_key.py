"""Rotate the edge publisher's access key, the one long-lived secret of the system, without a failed send.

The order keeps the Worker holding a key that can send at every moment:
1. A second key is created (IAM allows two per user), and used once for STS GetCallerIdentity (allowed to
   every valid key) until IAM accepts it: a new key can take seconds to be valid everywhere.
2. It is handed to the Worker, key id and secret together in one deployment (`wrangler secret bulk`:
   two `wrangler secret put` would deploy twice, the first time with the new id and the old secret).
   The old key stays active meanwhile, so an isolate still holding it keeps sending.
3. The task waits until IAM says the new key was used for SQS: the publisher may do nothing but
   `sqs:SendMessage`, and no one else holds the key, so that is the Worker sending with it.
4. Only then the old key is deactivated and deleted.
If anything before step 4 fails or is declined, the new key is deleted again (or, once the Worker may
hold it, both keys are left active and the error says how to finish by hand): the old key never goes first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# How long a new key may take to be accepted, and how long the Worker may take to send with it. On AWS
# the second is as long as it takes a visitor to ask the bot something, plus IAM's lag in recording use.
ACCEPT_TIMEOUT_SECONDS = 60
SEND_TIMEOUT_SECONDS = 1800
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str


class RotationError(RuntimeError):
    """A rotation that stopped; the message says which keys are active and what to do."""


class HandOver(Protocol):
    """Gives the Worker a key; raises (or returns False) when the owner declined."""

    def __call__(self, key: AccessKey) -> bool: ...


@dataclass(frozen=True)
class Rotated:
    new_key_id: str
    old_key_id: str | None
    waited_seconds: float


def _keys(iam: Any, user: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    return found


def used_for_sqs(iam: Any, key_id: str) -> bool:
    last = iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]
    return bool(last.get("ServiceName") == "sqs" and last.get("LastUsedDate"))


def rotate(
    iam: Any,
    *,
    user: str,
    accepted: Callable[[AccessKey], bool],
    hand_over: HandOver,
    say: Callable[[str], None] = lambda _: None,
    accept_timeout: float = ACCEPT_TIMEOUT_SECONDS,
    send_timeout: float = SEND_TIMEOUT_SECONDS,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Rotated:
    """Rotate `user`'s key as the module docstring says; `accepted(key)` asks AWS whether it is valid."""
    existing = _keys(iam, user)
    if len(existing) > 1:
        ids = ", ".join(k["AccessKeyId"] for k in existing)
        raise RotationError(
            f"{user} has two access keys already ({ids}) and IAM allows no third: delete the one the "
            f"Worker does not hold (aws iam delete-access-key --user-name {user} --access-key-id ...), "
            "then run again"
        )
    old = existing[0]["AccessKeyId"] if existing else None
    created = iam.create_access_key(UserName=user)["AccessKey"]
    new = AccessKey(created["AccessKeyId"], created["SecretAccessKey"])
    say(f"created {new.access_key_id}" + (f" beside {old}" if old else ""))

    def forget_new(reason: str) -> RotationError:
        iam.delete_access_key(UserName=user, AccessKeyId=new.access_key_id)
        kept = f"{old} stays the Worker's key" if old else "the Worker has no key"
        return RotationError(f"{reason}: {new.access_key_id} deleted again, {kept}")

    deadline = clock() + accept_timeout
    while not accepted(new):
        if clock() > deadline:
            raise forget_new(f"AWS did not accept {new.access_key_id} within {accept_timeout:.0f} s")
        sleep(poll)
    try:
        handed = hand_over(new)
    except Exception as error:
        raise forget_new(f"handing the key to the Worker failed ({error})") from error
    if not handed:
        raise forget_new("the key was not handed to the Worker")

    say(f"waiting for the Worker to send with {new.access_key_id} (ask the bot a question if it is quiet)")
    started = clock()
    while not used_for_sqs(iam, new.access_key_id):
        if clock() - started > send_timeout:
            raise RotationError(
                f"no send with {new.access_key_id} within {send_timeout:.0f} s; both keys stay active. Check "
                "the Worker's logs; once it sends with the new key, finish with aws iam update-access-key "
                f"--user-name {user} --status Inactive --access-key-id {old} and aws iam delete-access-key"
            )
        sleep(poll)
    waited = clock() - started
    say(f"the Worker sent with {new.access_key_id} after {waited:.0f} s")
    if old is not None:
        iam.update_access_key(UserName=user, AccessKeyId=old, Status="Inactive")
        iam.delete_access_key(UserName=user, AccessKeyId=old)
        say(f"deactivated and deleted {old}")
    return Rotated(new.access_key_id, old, waited)


def secrets_of(key: AccessKey) -> dict[str, str]:
    """The Worker's two secrets for a key (the names `withAnalytics` reads)."""
    return {"AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": key.secret_access_key}


def wrangler_command(worker_dir: Path) -> list[str] | None:
    """`wrangler secret bulk` from the Worker's own node_modules or PATH; None when there is no wrangler."""
    local = worker_dir / "node_modules" / ".bin" / "wrangler"
    found = str(local) if local.exists() else shutil.which("wrangler")
    return [found, "secret", "bulk"] if found else None


@dataclass
class WranglerHandOver:
    """Hands the key over with `wrangler secret bulk` in the Worker's folder, secrets on its standard input.

    The command is shown and run only when `confirm` says yes. Without wrangler the commands are printed
    with the values to paste, and the rotation waits for the Worker's send all the same.
    """

    worker_dir: Path
    confirm: Callable[[str], bool]
    say: Callable[[str], None]

    def __call__(self, key: AccessKey) -> bool:
        command = wrangler_command(self.worker_dir)
        secrets = secrets_of(key)
        if command is None:
            self.say(
                "wrangler is not installed: set both secrets in one deployment yourself, for example with "
                f"`wrangler secret bulk` in {self.worker_dir} and this JSON on its standard input "
                "(it holds the secret: paste it, do not store it):\n" + json.dumps(secrets)
            )
            return True
        shown = " ".join(command)
        question = (
            f"Run `{shown}` in {self.worker_dir} with AWS_ACCESS_KEY_ID={key.access_key_id} and "
            "AWS_SECRET_ACCESS_KEY (hidden) on its standard input?"
        )
        if not self.confirm(question):
            return False
        subprocess.run(  # noqa: S603 - wrangler, arguments fixed here
            command, cwd=self.worker_dir, input=json.dumps(secrets), text=True, check=True
        )
        return True
