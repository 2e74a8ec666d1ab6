"""What the S3 and DynamoDB adapters share: building a boto3 client and telling transient errors.

Imported only by those adapters (and only once stepmap is configured to use them), so boto3
stays an optional extra: ``pip install stepmap[s3]``.

botocore's own retries are switched off; :class:`~stepmap.storage.retry.Backoff` retries
instead, with full jitter, an injectable clock and a retry counter.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError, IncompleteReadError, NoRegionError
from botocore.exceptions import ConnectionError as BotoConnectionError

from stepmap.errors import InputError

__all__ = ["ClientError", "cause_code", "error_code", "is_transient", "make_client"]

# Error codes that mean "try again later" on S3 and DynamoDB.
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "InternalServerError",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "TooManyRequestsException",
    }
)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})


def make_client(service: str, *, endpoint_url: str | None, region: str | None, **config: Any) -> Any:
    """A boto3 client with botocore's retries off. ``config`` adds botocore ``Config`` options."""
    # A session of its own: boto3's default session is not safe to share between threads.
    session = boto3.session.Session()
    client: Any = session.client  # the stubs type only literal service names
    try:
        return client(service, endpoint_url=endpoint_url, region_name=region, config=_config(config))
    except NoRegionError:
        raise InputError(f"{service} needs an AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)") from None


def _config(config: dict[str, Any]) -> Config:
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
        **config,
    )


def error_code(exc: ClientError) -> str:
    """The AWS error code of a client error (for a HEAD without a body, the HTTP status)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(exc: BaseException) -> bool:
    """Is ``exc`` a throttle, a server error or a broken connection, worth retrying?"""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in _TRANSIENT_CODES or status in _TRANSIENT_STATUS
    return isinstance(exc, BotoConnectionError | HTTPClientError | IncompleteReadError)


def cause_code(exc: BaseException) -> str | None:
    """The AWS error code of the ``ClientError`` behind ``exc`` (its ``__cause__``), if any."""
    return error_code(exc.__cause__) if isinstance(exc.__cause__, ClientError) else None
