"""The cloud storage behind EXTERNAL_LINKS: presigned links, and the downloads they allow.

Databricks hands out a short-lived presigned URL per result chunk; the object store
checks the signature in the query string and nothing else. The emulator serves the
files itself, under

    GET /__storage/results/{statement_id}/{chunk_index}?expires={epoch}&signature={hmac}

and answers as S3 does, with an XML error body:

- a request carrying an Authorization header: 400 InvalidArgument ("only one auth
  mechanism allowed"), whatever the link; a client must drop its bearer token;
- a signature that does not match the path and expiry: 403 SignatureDoesNotMatch;
- a link past its expiry: 403 AccessDenied ("Request has expired");
- a statement or chunk it does not hold (closed, forgotten): 404 NoSuchKey.

Links live link_ttl_s (Databricks: at most 15 minutes). Every GET of a chunk signs a
fresh link, which is how a client replaces an expired one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

FORMATS = ("JSON_ARRAY", "ARROW_STREAM", "CSV")
CONTENT_TYPES = {
    "JSON_ARRAY": "application/json",
    "ARROW_STREAM": "application/vnd.apache.arrow.stream",
    "CSV": "text/csv",
}
PATH = re.compile(r"/__storage/results/(?P<id>[A-Za-z0-9-]+)/(?P<index>\d+)")


@dataclass(frozen=True)
class Download:
    """What the store answers: status, content type, body."""

    status: int
    content_type: str
    body: bytes


@dataclass
class Storage:
    """Signs links with a key of its own; `clock` is wall-clock seconds (expiry is a date)."""

    link_ttl_s: float
    clock: Callable[[], float] = time.time
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def presign(
        self, base_url: str, statement_id: str, index: int, *, expired: bool
    ) -> dict[str, str]:
        """The `external_link` and `expiration` fields of one chunk's link."""
        now = self.clock()
        expires = now if expired else now + self.link_ttl_s
        expires_ms = int(expires * 1000)
        path = f"/__storage/results/{statement_id}/{index}"
        query = f"expires={expires_ms}&signature={self._signature(path, expires_ms)}"
        return {"external_link": f"{base_url}{path}?{query}", "expiration": _iso(expires_ms)}

    def check(self, path: str, query: str, headers: dict[str, str]) -> Download | None:
        """The refusal this request earns before any object is read, or None."""
        if "authorization" in headers:
            return refusal(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be specified",
            )
        fields = parse_qs(query)
        expires = (fields.get("expires") or [""])[0]
        signature = (fields.get("signature") or [""])[0]
        if not expires.isdigit() or not hmac.compare_digest(
            signature, self._signature(path, int(expires))
        ):
            return refusal(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if int(expires) <= self.clock() * 1000:
            return refusal(403, "AccessDenied", "Request has expired")
        return None

    def _signature(self, path: str, expires_ms: int) -> str:
        message = f"GET\n{path}\n{expires_ms}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def refusal(status: int, code: str, message: str) -> Download:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    )
    return Download(status, "application/xml", body.encode())


def _iso(epoch_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
