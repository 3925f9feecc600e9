"""Classifying responses by the cache tier that answered them."""

import pytest

from loadtests.outcomes import OUTCOMES, classify, parse_cache_status


@pytest.mark.parametrize(
    ("cache_status", "expected"),
    [
        ("lakegate; hit; ttl=250", "lakegate-hit"),
        ("lakegate; fwd=miss; stored", "miss"),
        ("lakegate; fwd=miss; collapsed", "collapsed"),
        ("lakegate; fwd=miss; stored; detail=rollup", "derived"),
        ("lakegate; fwd=stale; stored; detail=rollup", "derived"),
        ("lakegate; fwd=miss; stored; detail=rollup, edge; fwd=miss", "derived"),
        ("lakegate; fwd=miss; stored; detail=rollup, edge; hit", "edge-hit"),
        ("lakegate; hit; ttl=-3; detail=stale-while-revalidate", "stale"),
        ("lakegate; fwd=stale; stored", "refresh"),
        ("lakegate; fwd=stale; ttl=-12; detail=stale-if-error; fwd-status=503", "stale"),
        ("lakegate; fwd=bypass; detail=cache-unavailable", "bypass"),
        # The edge's member decides; the origin's is what it said when the copy was stored.
        ("lakegate; fwd=miss; stored, edge; hit", "edge-hit"),
        ("lakegate; fwd=miss; stored, edge; hit; detail=stale-while-revalidate", "edge-stale"),
        ("lakegate; fwd=miss; stored, edge; hit; detail=stale", "edge-stale"),
        ("lakegate; hit; ttl=12, edge; fwd=miss", "lakegate-hit"),
        ("lakegate; fwd=stale; stored, edge; fwd=stale", "refresh"),
        ("edge; fwd=bypass", "bypass"),
        ("", "bypass"),
    ],
)
def test_cache_status(cache_status: str, expected: str) -> None:
    assert classify(200, {"cache-status": cache_status}) == expected


@pytest.mark.parametrize(
    ("x_cache", "expected"),
    [
        ("Hit from cloudfront", "edge-hit"),
        ("RefreshHit from cloudfront", "edge-hit"),
        ("Miss from cloudfront", "miss"),
    ],
)
def test_cloudfront_x_cache(x_cache: str, expected: str) -> None:
    headers = {"cache-status": "lakegate; fwd=miss; stored", "x-cache": x_cache}
    assert classify(200, headers) == expected


@pytest.mark.parametrize(
    ("nginx", "expected"),
    [("HIT", "edge-hit"), ("UPDATING", "edge-stale"), ("STALE", "edge-stale"), ("MISS", "miss")],
)
def test_nginx_status_alone(nginx: str, expected: str) -> None:
    headers = {"cache-status": "lakegate; fwd=miss; stored", "x-cache-status": nginx}
    assert classify(200, headers) == expected


def test_a_304_is_classified_like_the_200_it_stands_for() -> None:
    assert classify(304, {"cache-status": "lakegate; hit; ttl=3, edge; hit"}) == "edge-hit"


@pytest.mark.parametrize("status", [0, 400, 404, 500, 502, 503, 504])
def test_failures_are_errors_whatever_the_headers(status: int) -> None:
    assert classify(status, {"cache-status": "lakegate; hit; ttl=3"}) == "error"


def test_a_failed_request_is_an_error() -> None:
    assert classify(200, {"cache-status": "lakegate; hit"}, failed=True) == "error"


def test_repeated_header_fields_are_joined() -> None:
    headers = {"cache-status": ["lakegate; fwd=miss; stored", "edge; hit"]}
    assert classify(200, headers) == "edge-hit"


def test_parse_cache_status() -> None:
    assert parse_cache_status('lakegate; hit; ttl=3, "Edge"; fwd=miss') == [
        ("lakegate", {"hit": "", "ttl": "3"}),
        ("edge", {"fwd": "miss"}),
    ]


def test_outcomes_are_listed_once_in_tier_order() -> None:
    assert len(set(OUTCOMES)) == len(OUTCOMES)
    assert OUTCOMES[0] == "edge-hit" and OUTCOMES[-1] == "error"
