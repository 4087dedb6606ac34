"""Sign requests with botocore's SigV4Auth, the reference the TypeScript signer of src/edge must match.

Reads a JSON array of requests on stdin ({method, url, headers, body, amzDate, region, service, accessKeyId,
secretAccessKey, optional sessionToken}) and prints a JSON array of the Authorization headers botocore
computes for them, in order. Run by the edge client's node tests.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def authorization(request: dict[str, Any]) -> str:
    """The Authorization header botocore puts on one request, signed at the request's own time."""
    signed_at = dt.datetime.strptime(request["amzDate"], "%Y%m%dT%H%M%SZ")
    aws_request = AWSRequest(
        method=request["method"],
        url=request["url"],
        headers=dict(request["headers"]),
        data=request["body"].encode("utf-8"),
    )
    credentials = Credentials(request["accessKeyId"], request["secretAccessKey"], request.get("sessionToken"))
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        SigV4Auth(credentials, request["service"], request["region"]).add_auth(aws_request)
    return str(aws_request.headers["Authorization"])


def main() -> None:
    requests = json.load(sys.stdin)
    json.dump([authorization(request) for request in requests], sys.stdout)


if __name__ == "__main__":
    main()
