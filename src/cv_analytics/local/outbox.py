"""The mail moto's SES accepted: the whole MIME of every `send_raw_email`, read back from moto server.

moto keeps sent raw messages under `ses.RawMessage` in `/moto-api/data.json`; reading them back is how the
demo writes the email exactly as it was sent, and how tests check what a recipient would read.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from email import message_from_bytes, policy
from email.message import Message
from typing import Any


def sent_messages(endpoint_url: str, ca_file: str | None = None) -> list[Message]:
    """Every raw email moto's SES accepted, parsed, oldest first; `ca_file` is the CA of a TLS endpoint."""
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    # The twin (TLS, `ca_file`) serves the sent mail on its own path; a bare moto server in data.json.
    url = f"{endpoint_url}/_twin/ses/raw-messages" if ca_file else f"{endpoint_url}/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=10, context=context) as response:  # noqa: S310
        data = json.load(response)
    raw: list[dict[str, Any]] = data.get("ses", {}).get("RawMessage", [])
    return [message_from_bytes(str(item["raw_data"]).encode(), policy=policy.default) for item in raw]


def parts(message: Message) -> dict[str, str]:
    """The decoded text of each part, by content type (text/plain, text/html), in the message's order."""
    texts: dict[str, str] = {}
    for candidate in message.walk():
        payload = candidate.get_payload(decode=True)
        if isinstance(payload, bytes):
            texts.setdefault(
                candidate.get_content_type(), payload.decode(candidate.get_content_charset() or "utf-8")
            )
    return texts


def part(message: Message, content_type: str) -> str:
    """The decoded text of the message's first part of `content_type` (text/html, text/plain)."""
    try:
        return parts(message)[content_type]
    except KeyError:
        raise LookupError(f"no {content_type} part in the message") from None
