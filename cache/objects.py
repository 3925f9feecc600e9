"""Entry bodies kept as S3 objects: too large for an item (400 KB), or answered by
reference (too large for a Lambda response, 6 MB).

Objects are stored with `Content-Encoding: gzip`, so a client following a presigned
URL gets the body it would have been sent, and named by their format (`….csv`,
`….json`, `….parquet`). A link asks S3 to answer `Content-Disposition: attachment;
filename=<dataset>.<ext>`, so a browser saves `crashes.csv` and `curl -L --compressed
-OJ` writes it (without --compressed curl writes the gzip bytes as sent). The bucket's
lifecycle rule expires them after the longest entry lifetime
(cdk/lakegate_cdk/cache_storage.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from cache.entry import Entry
from cache.errors import CacheUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class ResultObjects:
    def __init__(self, s3: S3Client, bucket: str, *, link_seconds: int) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._link_seconds = link_seconds

    def put(self, entry: Entry, gzip_body: bytes) -> str:
        """Store the body; returns its object key (one per entry: nothing overwrites it)."""
        s3_key = f"results/{entry.key}/{entry.generation}-{entry.created_ms}.{extension(entry)}"
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=s3_key,
                Body=gzip_body,
                ContentType=entry.content_type,
                ContentEncoding="gzip",
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheUnavailable.of("s3 write", exc) from exc
        return s3_key

    def read(self, s3_key: str) -> bytes:
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=s3_key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise CacheUnavailable.of("s3 read", exc) from exc

    def link(self, s3_key: str, filename: str) -> str:
        """A presigned GET, signed locally with the role's credentials: no request to S3.
        S3 answers it as a download named `filename`."""
        try:
            return self._s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": s3_key,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                },
                ExpiresIn=self._link_seconds,
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheUnavailable.of("presign", exc) from exc


# The representations lakegate answers (handler.responses' media types), by their type.
_EXTENSIONS = {
    "application/json": "json",
    "text/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
}


def extension(entry: Entry) -> str:
    """The file extension of the entry's format: `csv` for `text/csv; charset=utf-8`."""
    media_type = entry.content_type.partition(";")[0].strip().lower()
    return _EXTENSIONS.get(media_type, "bin")


def download_name(dataset: str, entry: Entry) -> str:
    """What a download of the entry is called: `crashes.csv`."""
    return f"{dataset}.{extension(entry)}"
