"""Cold start: a fresh container serving a cache hit never imports polars, DuckDB or pandas."""

import json
import os
import subprocess
import sys

import requests
from pydantic import SecretStr

from handler.settings import CacheSettings, Settings, WarehouseSettings
from local.aws import CACHE_BUCKET, CACHE_TABLE, REGION, use_local_credentials
from local.stack import EmbeddedStack


def probe(stack: EmbeddedStack, path: str) -> dict[str, object]:
    assert stack.emulator is not None and stack.moto is not None
    settings = Settings(
        warehouse=WarehouseSettings(
            host=stack.emulator.url,
            warehouse_id=stack.emulator.config.warehouse_id,
            token=SecretStr(stack.emulator.config.token),
        ),
        cache=CacheSettings(
            table=CACHE_TABLE, bucket=CACHE_BUCKET, endpoint_url=stack.moto.url, region=REGION
        ),
    )
    use_local_credentials()
    # Secrets are masked by model_dump_json; the probe needs the real token.
    document = json.loads(settings.model_dump_json())
    document["warehouse"]["token"] = stack.emulator.config.token
    completed = subprocess.run(
        [sys.executable, "-m", "local.hit_probe", json.dumps(document), path],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "POWERTOOLS_METRICS_DISABLED": "true"},
        check=True,
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def test_a_cache_hit_imports_no_dataframe_library(stack: EmbeddedStack) -> None:
    path = "/v1/drivers?state=Alaska&year=2011"
    requests.get(f"{stack.url}{path}", timeout=30).raise_for_status()  # store it
    report = probe(stack, path)
    assert report["status"] == 200
    assert str(report["cache_status"]).startswith("lakegate; hit")
    assert report["polars_imported"] is False
    assert report["duckdb_imported"] is False
    assert report["pandas_imported"] is False


def test_a_miss_does_import_polars(stack: EmbeddedStack) -> None:
    """The control: the probe would notice polars if the path loaded it."""
    report = probe(stack, "/v1/drivers?state=Alaska&year=1999&limit=7")
    assert str(report["cache_status"]) == "lakegate; fwd=miss; stored"
    assert report["polars_imported"] is True
