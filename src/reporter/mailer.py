"""The email as MIME, and sending it through SES.

`send_raw_email` with a multipart/alternative body: the plain-text part first, the HTML part last, so a
client shows the richest part it can. SES errors split in two: throttling and other transient failures
propagate (the caller releases the week and the Lambda retries the whole invocation), a permanent rejection
becomes `SesRejectedError` so the caller can record it instead of retrying forever.
"""

from __future__ import annotations

import quopri
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from reporter.render import RenderedEmail

# Characters per line of a base64 body, as the email package writes it (each line ends with a newline).
BASE64_LINE = 76

# SES error codes that no retry will fix: the message or the account must change first.
PERMANENT_ERRORS = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerified",
        "MailFromDomainNotVerifiedException",
        "ConfigurationSetDoesNotExist",
        "ConfigurationSetDoesNotExistException",
        "ConfigurationSetSendingPausedException",
        "AccountSendingPausedException",
        "InvalidParameterValue",
    }
)


class SesRejectedError(Exception):
    """SES refused the message for a reason a retry cannot fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def build_message(email: RenderedEmail, sender: str, recipients: Sequence[str]) -> bytes:
    """The whole MIME message, ready for `send_raw_email`."""
    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    domain = Address(addr_spec=sender).domain if "@" in sender else "cv-analytics.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(email.text, subtype="plain", charset="utf-8", cte=transfer_encoding(email.text))
    message.add_alternative(email.html, subtype="html", charset="utf-8", cte=transfer_encoding(email.html))
    return message.as_bytes()


def transfer_encoding(text: str) -> str:
    """The 7-bit transfer encoding that makes this part smaller.

    Quoted-printable keeps ASCII close to its size but triples every byte of a non-ASCII character (a CJK
    question costs nine bytes a character) and every `=` of the inlined styles; base64 costs a flat third
    more. Measured on the whole text, not guessed from its first lines as the standard library does.
    """
    data = text.encode("utf-8")
    quoted = len(quopri.encodestring(data))
    base64_size = (len(data) + 2) // 3 * 4 * (BASE64_LINE + 1) // BASE64_LINE
    return "base64" if base64_size < quoted else "quoted-printable"


class SesMailer:
    """Sends raw messages through SES (moto server when AWS_ENDPOINT_URL is set)."""

    def __init__(self, region: str, endpoint_url: str | None) -> None:
        # One HTTP attempt per send: the SDK's own retry after a read timeout could deliver a second copy
        # behind the marker's back. Errors go to the caller, which releases the week or records the doubt.
        self._client: Any = boto3.client(
            "ses",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(retries={"total_max_attempts": 1}),
        )

    def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> str:
        """The SES message id; raises SesRejectedError, or the transient ClientError as it came."""
        try:
            response = self._client.send_raw_email(
                Source=sender, Destinations=list(recipients), RawMessage={"Data": raw}
            )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in PERMANENT_ERRORS:
                raise SesRejectedError(code, str(error.response["Error"].get("Message", ""))) from error
            raise
        return str(response["MessageId"])
