"""What one deployed environment costs on AWS a month: the model, with the arithmetic shown.

The prices, the traffic, what each environment deploys, and `bill()`: one month's lines,
each labelled with how it is computed. tools/cost_report.py renders them as the cost section
of `cdk/README.md` (`python -m tools.cost_report --write`), and tests/tools/test_costs.py
fails when that section is stale, so a price, a traffic assumption or a setting in
`cdk/config/<env>.yaml` cannot change without the tables following.

Where each number comes from:

    the environment   memory, reserved concurrency, log retention, Origin Shield, the admin
                      allow-list rule, statement budgets (lakegate_cdk.config.load_config)
    the catalogue     statement budgets per dataset (handler/catalogue.yaml)
    the code          read units per lookup, write units per miss (cache/store.py,
                      cache/budget.py), the EMF metric names (cache/metrics.py,
                      handler/observability.py, handler/responses.py)
    the stack         alarms and the metrics they reference, dashboard, keys, secrets: counted
                      in `cdk synth`'s templates (a slow test recounts them)
    TRAFFIC, PRICES   below: the earlier table's traffic, list prices read on PRICES_READ
"""

# The tables are arithmetic for people to read: the multiplication sign is meant.
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from lakegate_cdk.config import LakegateConfig, load_config  # needs no CDK import

from cache import Outcome
from cache import metrics as cache_metrics
from handler import observability
from handler.catalogue import load_catalogue
from handler.responses import ERRORS, shape_of

REPO_ROOT = Path(__file__).resolve().parents[1]

ENVIRONMENTS = ("dev", "prod")
RATES = (1, 100, 1000)  # requests per second, constant all month
SECONDS_PER_MONTH = 30 * 24 * 3600
PRICES_READ = "2026-12-01"


@dataclass(frozen=True)
class Prices:
    """USD list prices (us-east-1, CloudFront price class 100 in the US)."""

    cloudfront_per_million: float = 1.00  # HTTPS requests ($0.0120/10k in Europe)
    cloudfront_gb: float = 0.085  # data out, first 10 TB
    cloudfront_gb_over_10tb: float = 0.080  # next 40 TB
    waf_acl: float = 5.00
    waf_rule: float = 1.00
    waf_per_million: float = 0.60
    function_per_million: float = 0.10
    kvs_read_per_million: float = 0.03
    shield_per_10k: float = 0.0090  # Origin Shield in a European region (eu-west-1)
    lambda_per_million: float = 0.20
    lambda_gb_second: float = 0.0000133334  # arm64
    rru_per_million: float = 0.125  # DynamoDB on-demand, since the 2024-11 cut
    wru_per_million: float = 0.625
    log_ingest_gb: float = 0.50
    log_store_gb_month: float = 0.03
    s3_gb_month: float = 0.023
    trace_per_million: float = 5.00  # X-Ray traces recorded
    metric: float = 0.30  # custom metric-month, first 10,000
    alarm_metric: float = 0.10  # standard resolution, per metric an alarm references
    dashboard: float = 3.00
    secret: float = 0.40
    kms_key: float = 1.00


PRICES = Prices()
# The API region of both configs. Best-known list prices, not confirmed from a stored copy
# of the pricing pages; every other price used here is the same there.
EU_WEST_1 = replace(PRICES, rru_per_million=0.1415, wru_per_million=0.7065, log_ingest_gb=0.57)


@dataclass(frozen=True)
class Traffic:
    edge_hit_ratio: float = 0.90
    origin_hit_ratio: float = 0.90  # of origin requests; each of the rest runs one statement
    response_kb: float = 10.0  # compressed: CloudFront's bytes out and the cached body
    keyed_share: float = 1.0  # requests with an x-api-key: an upper bound
    # Key store reads of the edge rules per request: one per parameter family a request
    # names (edge/store.py); the load tests' dashboard queries name two or three
    # (state, year; a date range), `make bench` counts them per kind of request.
    rule_reads: float = 2.5
    # docs/load-tests.md: p50 of a lakegate hit and of a miss with a 300 ms statement.
    hit_ms: float = 35.0
    miss_ms: float = 421.0
    # Lambda's START/END/REPORT lines with the X-Ray fields (~350 B) + the EMF line
    # (369 B, 524 B on a miss) + on a miss "warehouse statement finished" (524 B).
    log_bytes_hit: int = 350 + 369
    log_bytes_miss: int = 350 + 524 + 524
    log_compression: float = 5.0  # CloudWatch Logs bills stored logs gzipped
    access_log_bytes: int = 100  # a CloudFront standard log line, gzipped


TRAFFIC = Traffic()
ATTRIBUTES_KB = 0.35  # an entry item's key, times, etag, generation, lease (cache/items.py)
# From `cdk synth` of both environments: each alarm and the metrics it references
# (a metric math alarm is billed per metric, lakegate_cdk/alarms.py).
ALARMS = {
    "LambdaErrors": 1, "LambdaThrottles": 1, "LambdaDurationP99": 1,
    "CacheTableThrottles": 5, "CacheTableSystemErrors": 5,  # one per table operation
    "Handler5xxRate": 2, "StaleRate": 6, "BypassRate": 6,  # shares of 2 and 6 metrics
    "LeaseGiveUps": 1, "ConcurrencyNearLimit": 1,
    "CloudFront5xxRate": 1, "WafBlockSpike": 1,  # EdgeMonitoring, us-east-1
}  # fmt: skip
CLOUDFRONT_EXTRA_METRICS = 8  # publish_additional_metrics: up to 8 metrics per distribution
DASHBOARDS, SECRETS, KMS_KEYS = 1, 2, 2  # lakegate-<env>; databricks, admin token; 2 alarm topics


def custom_metrics() -> tuple[str, ...]:
    """The EMF metric names the function can emit in AWS (namespace Lakegate, service=lakegate)."""
    cache = [v for k, v in vars(cache_metrics).items() if k.isupper() and isinstance(v, str)]
    statuses = {200, 304, shape_of(Exception()).status, *(shape.status for _, shape in ERRORS)}
    answers = {name for status in statuses for name in observability.status_metrics(status)}
    # "uncached" only happens without a cache table, which no deployment lacks.
    outcomes: list[Outcome | None] = [o for o in Outcome if o is not Outcome.UNCACHED]
    latencies = [observability.latency_metric(o) for o in [*outcomes, None]]
    return tuple(sorted({*cache, *answers, *latencies}))


@dataclass(frozen=True)
class Environment:
    """What one environment deploys that is billed, from its config and the catalogue."""

    name: str
    memory_mb: int
    reserved_concurrency: int
    log_retention_days: int
    origin_shield: bool
    waf_rules: int
    edge_functions: int
    statements_per_second: float  # the statement budget of every dataset together

    @classmethod
    def load(cls, name: str) -> Environment:
        config: LakegateConfig = load_config(name)
        datasets = len(load_catalogue().datasets)
        # One gateway function for every dataset: its code holds no rules (lakegate_cdk.gateway).
        functions = 1
        # edge_security_stack.rule_names: two rate rules, 3 managed groups, the allow list.
        rules = 5 + (1 if config.waf.admin_allow_list else 0)
        return cls(
            name,
            config.function.memory_mb,
            config.function.reserved_concurrency,
            config.log_retention_days,
            config.edge_cache.origin_shield_region is not None,
            rules,
            functions,
            datasets * config.gateway.statements_per_minute / 60,
        )


@dataclass(frozen=True)
class Line:
    label: str  # what is billed and how: the same in every column
    shown: str  # this column's quantity and cost
    cost: float
    free: float = 0.0  # what the always-free allowances would take off


# The bill's labels and the report's prose write amounts the same way: these four are shared.
def usd(x: float) -> str:
    return f"${x:,.2f}"


def unit_price(price: float) -> str:
    """A unit price as the pricing pages write it: $0.60, $0.085, $0.0000133334."""
    return f"${price:.2f}" if round(price, 2) == price else "$" + f"{price:.10f}".rstrip("0")


def percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def millions(x: float) -> str:
    """A count in millions."""
    return f"{x / 1e6:,.0f} M" if x >= 1e9 else f"{x / 1e6:.4g} M"


def _charge(label: str, quantity: float, price: float, free: float = 0.0, unit: str = "") -> Line:
    """`quantity` × `price`; with `unit`, the cell shows the quantity (in millions) too."""
    cost = quantity * price
    shown = f"{millions(quantity * 1e6)} {unit} → {usd(cost)}" if unit else usd(cost)
    return Line(label, shown, cost, min(free, quantity) * price)


def item_units(traffic: Traffic = TRAFFIC) -> tuple[int, float]:
    """DynamoDB units: read units per lookup, write units per miss."""
    item_kb = traffic.response_kb + ATTRIBUTES_KB
    # Lookup: strongly consistent BatchGetItem of the entry (4 KB units) and the generation.
    rru = math.ceil(item_kb / 4) + 1
    # Miss: lease UpdateItem (billed on the larger item: the expired entry, still stored),
    # the budget transaction (2 units per counter; the consumer's only with a key), PutItem.
    counters = 1 + traffic.keyed_share
    return rru, math.ceil(item_kb) + 2 * counters + math.ceil(item_kb)


def gb_seconds(env: Environment, traffic: Traffic = TRAFFIC) -> float:
    """GB-seconds per origin request: memory × the mean of hit and miss durations."""
    hit = traffic.origin_hit_ratio
    return env.memory_mb / 1024 * (hit * traffic.hit_ms + (1 - hit) * traffic.miss_ms) / 1000


def traces_per_second(origin_per_second: float) -> float:
    """Lambda's default X-Ray sampling: the first request each second, then 5 %."""
    return min(origin_per_second, 1) + 0.05 * max(origin_per_second - 1, 0)


def bill(
    env: Environment, rate: float, traffic: Traffic = TRAFFIC, prices: Prices = PRICES
) -> list[Line]:
    """One month's lines at `rate` requests per second; the last is the fixed charges."""
    t, p = traffic, prices
    n = rate * SECONDS_PER_MONTH
    o = n * (1 - t.edge_hit_ratio)
    misses = o * (1 - t.origin_hit_ratio)
    rru, wru = item_units(t)
    gb_out = n * t.response_kb / 1e6
    first = min(gb_out, 10_240)
    out_cost = first * p.cloudfront_gb + (gb_out - first) * p.cloudfront_gb_over_10tb
    log_b = t.origin_hit_ratio * t.log_bytes_hit + (1 - t.origin_hit_ratio) * t.log_bytes_miss
    log_gb = o * log_b / 1e9
    months_kept = env.log_retention_days / 30
    traces = traces_per_second(o / SECONDS_PER_MONTH)
    fixed = fixed_charges(env, p)
    shield = f"O × {unit_price(p.shield_per_10k)}/10k" if env.origin_shield else "off"
    days = f"{env.log_retention_days} d"
    return [
        _charge(f"CloudFront requests (N × {unit_price(p.cloudfront_per_million)}/M)",
                n / 1e6, p.cloudfront_per_million, free=10),
        Line(f"CloudFront data out (N × {t.response_kb:g} KB; {unit_price(p.cloudfront_gb)}/GB, "
             f"{unit_price(p.cloudfront_gb_over_10tb)}/GB past 10 TB)",
             f"{gb_out:,.0f} GB → {usd(out_cost)}", out_cost,
             min(gb_out, 1000) * p.cloudfront_gb),
        _charge(f"WAF requests (N × {unit_price(p.waf_per_million)}/M; hits too)",
                n / 1e6, p.waf_per_million),
        _charge(f"Edge function ({env.edge_functions} for every dataset; N × "
                f"{unit_price(p.function_per_million)}/M; hits too)",
                n / 1e6, p.function_per_million, free=2),
        _charge(f"Key store reads (N × ({t.rule_reads:g} of rules + {percent(t.keyed_share)} "
                f"keyed) × {unit_price(p.kvs_read_per_million)}/M)",
                n * (t.rule_reads + t.keyed_share) / 1e6, p.kvs_read_per_million, free=2),
        _charge(f"Origin Shield ({shield})", o / 1e4 * env.origin_shield, p.shield_per_10k),
        _charge(f"Lambda requests (O × {unit_price(p.lambda_per_million)}/M)",
                o / 1e6, p.lambda_per_million, free=1),
        _charge(f"Lambda duration (O × {gb_seconds(env, t):.4f} GB-s × "
                f"{unit_price(p.lambda_gb_second)})",
                o * gb_seconds(env, t) / 1e6, p.lambda_gb_second * 1e6, free=0.4, unit="GB-s"),
        _charge(f"DynamoDB reads (O × {rru} RRU × {unit_price(p.rru_per_million)}/M)",
                o * rru / 1e6, p.rru_per_million, unit="RRU"),
        _charge(f"DynamoDB writes (statements × {wru:g} WRU × {unit_price(p.wru_per_million)}/M)",
                misses * wru / 1e6, p.wru_per_million, unit="WRU"),
        Line(f"Lambda logs in (O × {log_b:,.0f} B × {unit_price(p.log_ingest_gb)}/GB)",
             f"{log_gb:,.1f} GB → {usd(log_gb * p.log_ingest_gb)}",
             log_gb * p.log_ingest_gb, min(log_gb, 5) * p.log_ingest_gb),
        _charge(f"Lambda logs kept ({days}, ÷{t.log_compression:g} gzipped, × "
                f"{unit_price(p.log_store_gb_month)}/GB-month)",
                log_gb * months_kept / t.log_compression, p.log_store_gb_month),
        Line(f"X-Ray traces (the first of O each second + 5 % of the rest, × "
             f"{unit_price(p.trace_per_million)}/M)",
             f"{traces:.2f}/s → {usd(traces * SECONDS_PER_MONTH / 1e6 * p.trace_per_million)}",
             traces * SECONDS_PER_MONTH / 1e6 * p.trace_per_million,
             min(traces * SECONDS_PER_MONTH / 1e6, 0.1) * p.trace_per_million),
        _charge(f"CloudFront access logs in S3 (N × {t.access_log_bytes} B, {days}, × "
                f"{unit_price(p.s3_gb_month)}/GB-month)",
                n * t.access_log_bytes / 1e9 * months_kept, p.s3_gb_month),
        Line("Fixed (below the tables)", usd(sum(c for _, c, _ in fixed)),
             sum(c for _, c, _ in fixed), sum(f for _, _, f in fixed)),
    ]  # fmt: skip


def fixed_charges(env: Environment, p: Prices = PRICES) -> list[tuple[str, float, float]]:
    """Monthly charges that do not depend on traffic: (what, cost, free allowance)."""
    n_metrics, alarm_metrics = len(custom_metrics()), sum(ALARMS.values())
    return [
        (f"web ACL {unit_price(p.waf_acl)} + {env.waf_rules} WAF rules × {unit_price(p.waf_rule)}",
         p.waf_acl + env.waf_rules * p.waf_rule, 0.0),
        (f"{CLOUDFRONT_EXTRA_METRICS} CloudFront additional metrics × {unit_price(p.metric)}",
         CLOUDFRONT_EXTRA_METRICS * p.metric, 0.0),
        (f"{n_metrics} custom EMF metrics × {unit_price(p.metric)}", n_metrics * p.metric,
         min(n_metrics, 10) * p.metric),
        (f"{len(ALARMS)} alarms on {alarm_metrics} metrics × {unit_price(p.alarm_metric)}",
         alarm_metrics * p.alarm_metric, min(alarm_metrics, 10) * p.alarm_metric),
        (f"dashboard {unit_price(p.dashboard)}",
         DASHBOARDS * p.dashboard, DASHBOARDS * p.dashboard),
        (f"{SECRETS} secrets × {unit_price(p.secret)}", SECRETS * p.secret, 0.0),
        (f"{KMS_KEYS} KMS keys × {unit_price(p.kms_key)}", KMS_KEYS * p.kms_key, 0.0),
    ]  # fmt: skip


def total(
    env: Environment, rate: float, traffic: Traffic = TRAFFIC, prices: Prices = PRICES
) -> float:
    return sum(line.cost for line in bill(env, rate, traffic, prices))
