"""Cold start: a fresh container serving a cache hit never imports polars, DuckDB or pandas."""

import requests

from local.stack import EmbeddedStack
from tools.hit_probe import probe


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
    assert str(report["cache_status"]).startswith("lakegate; fwd=miss; stored")
    assert report["polars_imported"] is True
    # Its memory figures (the exports bench sizes the function by them) are this process's.
    assert 0 < report["ready_rss_mb"] < report["peak_rss_mb"]
