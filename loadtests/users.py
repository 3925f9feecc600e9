"""Who loads the API: dashboard viewers, the odd operator invalidating a dataset, cache busters.

A DashboardUser opens a dashboard page every few seconds, its panels requested at once
as a browser would: a table of raw rows for one state and year, a national map for the
year (one aggregate: drivers per state), that state's trend since 2010 beside the
viewer's comparison state (a range, a list and two groups), a national total (a KPI) and the state's
monthly crash series for the year (a date range grouped by month, two measures). States, years and
table columns are drawn from Zipf distributions over the real sample values (big
states and recent years first), every request sends `Accept-Encoding: gzip`, and a
URL seen before is often revalidated with `If-None-Match`, as a browser refresh does.
When keys are required each sends its own `x-api-key` (`DashboardUser.api_keys`).

A CacheBusterUser walks the URL space beside them (loadtests/buster.py): random valid
URLs, made-up keys, typos, a request every fraction of a second.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
from typing import ClassVar
from urllib.parse import quote

import gevent
from gevent.pool import Group
from locust import FastHttpUser, between, task

from handler.admin import ADMIN_TOKEN_HEADER
from handler.catalogue import load_catalogue
from handler.consumers import API_KEY_HEADER
from loadtests.buster import CacheBuster
from loadtests.zipf import Zipf
from local.sample_data import STATE_WEIGHTS, YEARS

# CloudFront's origin access control signs POSTs to the Function URL only with the body's hash.
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
INVALIDATE_ROUTE = "/admin/invalidate"

# Rank order: Zipf's first item is the most requested.
STATES = tuple(sorted(STATE_WEIGHTS, key=lambda state: -STATE_WEIGHTS[state]))
RECENT_FIRST = tuple(sorted(YEARS, reverse=True))
TABLE_FIELDS: tuple[str | None, ...] = (None, "cohort,gender,drivers", "year,state,cohort,drivers")
# Aggregate panels: each one request, a few dozen rows (the raw rows would be 1,938 for the
# map and 950 per state for the trend, for the browser to sum).
MAP = "group_by=state&measures=total_drivers"
TREND = "year%5Bgte%5D=2010&group_by=state,year&measures=total_drivers"
CRASH_SERIES = "group_by=date:month&measures=total_crashes,average_fatality_rate"

_drivers = load_catalogue().get("drivers")
assert _drivers is not None, "the packaged catalogue serves drivers"
DRIVERS = _drivers

REVALIDATE_SHARE = 0.5  # of URLs seen before, sent with If-None-Match
CSV_DOWNLOAD_SHARE = 0.05  # of page loads that also download the table as CSV

_seeds = itertools.count(int(os.environ.get("LAKEGATE_LOADTEST_SEED", "6")) * 1000)
_users = itertools.count()


class DashboardUser(FastHttpUser):
    wait_time = between(1.0, 3.0)
    # Every request ends in well under the origin's 31 s read timeout, or it is a failure.
    network_timeout = 35.0
    connection_timeout = 5.0
    # One per user when keys are required (the locustfile sets them); shared round-robin
    # when there are fewer keys than users.
    api_keys: ClassVar[tuple[str, ...]] = ()

    def on_start(self) -> None:
        seed = next(_seeds)
        number = next(_users)
        self.api_key = self.api_keys[number % len(self.api_keys)] if self.api_keys else None
        self.states = Zipf(STATES, s=1.0, seed=seed)
        self.years = Zipf(RECENT_FIRST, s=1.2, seed=seed + 1)
        self.table_fields = Zipf(TABLE_FIELDS, s=1.5, seed=seed + 2)
        self.random = random.Random(seed + 3)
        self.etags: dict[tuple[str, str], str] = {}
        # The state this viewer's trend panel compares against: chosen once, as a
        # dashboard's saved comparison would be.
        self.compared = self.states()

    @task
    def open_dashboard(self) -> None:
        state, year, other = self.states(), self.years(), self.compared
        fields = self.table_fields()
        table = f"/v1/drivers?state={_q(state)}&year={year}"
        if fields:
            table += f"&fields={_q(fields)}"
        pair = f"state%5Bin%5D={_q(state)},{_q(other)}"
        dates = f"date%5Bgte%5D={year}-01-01&date%5Blte%5D={year}-12-31"
        page = [
            ("/v1/drivers?state&year", table, "application/json"),
            ("/v1/drivers?year&group_by=state", f"/v1/drivers?year={year}&{MAP}", "application/json"),
            ("/v1/drivers?state[in]&year[gte]&group_by", f"/v1/drivers?{pair}&{TREND}", "application/json"),
            ("/v1/drivers?year&measures", f"/v1/drivers?year={year}&measures=total_drivers", "application/json"),
            ("/v1/crashes?state&date[gte,lte]&group_by=date:month", f"/v1/crashes?state={_q(state)}&{dates}&{CRASH_SERIES}", "application/json"),
        ]  # fmt: skip
        if self.random.random() < CSV_DOWNLOAD_SHARE:
            page.append(("/v1/drivers?state&year (csv)", table, "text/csv"))
        group = Group()
        for name, url, accept in page:
            group.spawn(self.fetch, name, url, accept)
        group.join()

    def fetch(self, name: str, url: str, accept: str) -> None:
        headers = {"Accept-Encoding": "gzip", "Accept": accept}
        if self.api_key is not None:
            headers[API_KEY_HEADER] = self.api_key
        etag = self.etags.get((url, accept))
        if etag is not None and self.random.random() < REVALIDATE_SHARE:
            headers["If-None-Match"] = etag
        response = self.client.get(url, name=name, headers=headers)
        new_etag = response.headers.get("ETag") if response.headers else None
        if response.status_code == 200 and new_etag:
            self.etags[(url, accept)] = str(new_etag)


class OperatorUser(FastHttpUser):
    """Invalidates the drivers dataset now and then through the admin route.

    Needs the admin token (LAKEGATE_ADMIN_TOKEN, which `lakegate loadtest` sets for
    the embedded stack); without it the user only says, once, that it is disabled.
    """

    wait_time = between(20.0, 40.0)
    fixed_count = 1
    admin_token: str | None = None
    _announced = False

    @task
    def invalidate(self) -> None:
        token = self.admin_token or os.environ.get("LAKEGATE_ADMIN_TOKEN")
        if not token:
            if not OperatorUser._announced:
                OperatorUser._announced = True
                sys.stdout.write(
                    "OperatorUser disabled: no admin token (the stack has no admin route yet, "
                    "or LAKEGATE_ADMIN_TOKEN is unset)\n"
                )
            return
        self.client.post(
            f"{INVALIDATE_ROUTE}?dataset=drivers",
            name=INVALIDATE_ROUTE,
            headers={ADMIN_TOKEN_HEADER: token, "x-amz-content-sha256": EMPTY_BODY_SHA256},
        )


class CacheBusterUser(FastHttpUser):
    """Random valid URLs, made-up keys and typos (loadtests/buster.py), from `starts_at` on.

    Present from the start (a fixed count, like the operators), idle until the locustfile's
    `starts_at` (epoch seconds), so the run's first phases are the dashboards' baseline.
    """

    wait_time = between(0.1, 0.3)
    fixed_count = 1
    network_timeout = 35.0
    connection_timeout = 5.0
    starts_at: ClassVar[float] = 0.0

    def on_start(self) -> None:
        self.buster = CacheBuster(DRIVERS, STATES, YEARS, seed=next(_seeds))

    @task
    def bust(self) -> None:
        idle = self.starts_at - time.time()
        if idle > 0:
            gevent.sleep(min(idle, 1.0))
            return
        request = self.buster()
        headers = {"Accept-Encoding": "gzip"}
        if request.api_key is not None:
            headers[API_KEY_HEADER] = request.api_key
        self.client.get(request.url, name=request.route, headers=headers)


def _q(value: str) -> str:
    return quote(value, safe=",")
