"""The audit trail: one structured log line per admin request, accepted or refused.

A line says who (a token id, never the token), what (action, outcome and details),
when and from where. Refused requests are audited too: repeated 401s from one
address are exactly what an operator reviewing the trail wants to see.
"""

from __future__ import annotations

import datetime as dt

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

logger = Logger(service="lakegate", child=True)  # under handler.app's logger, whatever the env


def audit(
    action: str,
    outcome: str,
    *,
    who: str | None,
    event: LambdaFunctionUrlEvent,
    **details: object,
) -> None:
    """Write the audit line. `details` must hold nothing secret: it is logged as is."""
    context = event.request_context
    record: dict[str, object] = {
        "action": action,
        "outcome": outcome,
        "who": who,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "source_ip": viewer_ip(event),
        "peer_ip": context.http.source_ip,
        "request_id": context.request_id,
        **details,
    }
    logger.info("admin audit", extra={"audit": record})


def viewer_ip(event: LambdaFunctionUrlEvent) -> str | None:
    """The client's address as CloudFront saw it, else the connection's.

    Behind CloudFront the Function URL's `sourceIp` is a CloudFront address. The
    viewer's is in CloudFront-Viewer-Address ("ip:port") when the origin request
    policy forwards it, and is always the *last* X-Forwarded-For entry: CloudFront
    appends it, and any earlier entries came from the client and prove nothing.
    """
    headers = event.headers
    viewer = headers.get("cloudfront-viewer-address")
    if viewer:
        return viewer.rsplit(":", 1)[0].strip("[]")
    forwarded = headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[-1].strip() or None
    return event.request_context.http.source_ip
