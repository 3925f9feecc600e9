"""The cost tables: their arithmetic, what they count, and that the READMEs carry them.

The fast tests check the model's sums (tools/costs.py) and how the bill moves with each
setting; the README tests (tools/cost_report.py) fail whenever a price, an assumption, a
config or the code the numbers are read from changes without
`python -m tools.cost_report --write`. The slow test synthesises both environments and
recounts what the model takes as given (alarms and their metrics, WAF rules, edge
functions, memory), so the inventory cannot drift from the stacks either.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from tools import cost_report, costs

ENVS = {name: costs.Environment.load(name) for name in costs.ENVIRONMENTS}


@pytest.mark.parametrize("name", costs.ENVIRONMENTS)
@pytest.mark.parametrize("rate", costs.RATES)
def test_the_total_is_the_sum_of_the_lines(name: str, rate: int) -> None:
    lines = costs.bill(ENVS[name], rate)
    assert costs.total(ENVS[name], rate) == pytest.approx(sum(line.cost for line in lines))
    fixed = sum(cost for _, cost, _ in costs.fixed_charges(ENVS[name]))
    assert lines[-1].cost == pytest.approx(fixed)
    for line in lines:
        assert 0 <= line.free <= line.cost, line.label


def test_each_cell_shows_the_cost_it_adds_up() -> None:
    for line in costs.bill(ENVS["prod"], 1000):
        shown = float(line.shown.rsplit("$", 1)[1].replace(",", ""))
        assert shown == pytest.approx(line.cost, abs=0.005), line.label


def test_the_lambda_line_scales_with_memory() -> None:
    prod = ENVS["prod"]
    double = replace(prod, memory_mb=2 * prod.memory_mb)
    assert costs.gb_seconds(double) == pytest.approx(2 * costs.gb_seconds(prod))
    duration = [line for line in costs.bill(prod, 100) if line.label.startswith("Lambda duration")]
    doubled = [line for line in costs.bill(double, 100) if line.label.startswith("Lambda duration")]
    assert doubled[0].cost == pytest.approx(2 * duration[0].cost)


def test_prod_costs_more_than_dev_at_every_rate() -> None:
    for rate in costs.RATES:
        assert costs.total(ENVS["prod"], rate) > costs.total(ENVS["dev"], rate)


def test_the_environments_differ_where_their_configs_do() -> None:
    dev, prod = ENVS["dev"], ENVS["prod"]
    assert (dev.memory_mb, prod.memory_mb) == (1024, 2048)
    assert (dev.waf_rules, prod.waf_rules) == (5, 6)  # prod's admin allow list
    assert (dev.log_retention_days, prod.log_retention_days) == (14, 90)
    assert dev.edge_functions == prod.edge_functions == 1  # one for every dataset
    assert dev.origin_shield and prod.origin_shield


def test_a_lookup_reads_4_units_and_a_miss_writes_26() -> None:
    # 10.35 KB entry read strongly consistent (3) + the generation item (1); the lease and
    # the put write 11 each, the budget transaction 2 counters x 2.
    assert costs.item_units() == (4, 26)
    assert costs.item_units(replace(costs.TRAFFIC, keyed_share=0.0)) == (4, 24)
    assert costs.item_units(replace(costs.TRAFFIC, response_kb=3.5)) == (2, 12)


def test_the_bill_follows_the_traffic() -> None:
    prod = ENVS["prod"]
    cold = replace(costs.TRAFFIC, edge_hit_ratio=0.5)
    assert costs.total(prod, 100, cold) > costs.total(prod, 100)
    no_shield = replace(prod, origin_shield=False)
    shield = costs.bill(prod, 100)[5]
    assert shield.label.startswith("Origin Shield") and shield.cost > 0
    assert costs.total(prod, 100) - costs.total(no_shield, 100) == pytest.approx(shield.cost)


def test_x_ray_records_the_first_request_each_second_then_5_percent() -> None:
    assert costs.traces_per_second(0.1) == pytest.approx(0.1)
    assert costs.traces_per_second(1) == pytest.approx(1)
    assert costs.traces_per_second(100) == pytest.approx(1 + 0.05 * 99)


def test_the_custom_metrics_are_the_names_the_code_emits() -> None:
    names = costs.custom_metrics()
    assert len(names) == len(set(names)) == 32
    assert {"CacheHit", "Responses", "Status5xx", "Status503", "LatencyNone"} <= set(names)
    assert "LatencyUncached" not in names  # only without a cache table


def test_the_cdk_readme_carries_the_rendered_section() -> None:
    text = cost_report.README.read_text(encoding="utf-8")
    begin, end = cost_report.BEGIN, cost_report.END
    assert begin in text and end in text, "markers missing from cdk/README.md"
    section = text.split(begin, 1)[1].split(end, 1)[0]
    assert section == "\n" + cost_report.render(), (
        "cdk/README.md's cost section is stale: run `python -m tools.cost_report --write`"
    )


def test_the_deploying_page_quotes_the_totals() -> None:
    page = costs.REPO_ROOT / "docs" / "deploying.md"
    text = " ".join(page.read_text(encoding="utf-8").split())
    pointer = cost_report.pointer()
    assert pointer in text, f"docs/deploying.md should say ({pointer} a month)"


def test_write_readme_replaces_only_the_section(tmp_path: Path) -> None:
    page = tmp_path / "README.md"
    begin, end = cost_report.BEGIN, cost_report.END
    page.write_text(f"# before\n{begin}\nold table\n{end}\nafter\n", encoding="utf-8")
    cost_report.write_readme(page)
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# before\n{begin}\n") and text.endswith(f"{end}\nafter\n")
    assert "old table" not in text and "| prod |" in text


def _alarm_metrics(template: dict[str, object]) -> dict[str, int]:
    found = {}
    for logical_id, resource in template["Resources"].items():  # type: ignore[attr-defined]
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            props = resource["Properties"]
            stats = [m for m in props.get("Metrics", []) if "MetricStat" in m]
            found[re.sub(r"[0-9A-F]{8}$", "", logical_id)] = len(stats) if stats else 1
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", costs.ENVIRONMENTS)
def test_the_inventory_is_what_the_stacks_deploy(name: str, tmp_path: Path) -> None:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App
    from lakegate_cdk.application import build
    from lakegate_cdk.config import load_config

    app, config = App(outdir=str(tmp_path)), load_config(name)
    build(app, config)
    app.synth()
    templates = {
        role: json.loads((tmp_path / f"Lakegate-{name}-{role}.template.json").read_text())
        for role in ("EdgeSecurity", "Api", "EdgeMonitoring")
    }
    alarms = {**_alarm_metrics(templates["Api"]), **_alarm_metrics(templates["EdgeMonitoring"])}
    assert alarms == costs.ALARMS

    def of_type(role: str, kind: str) -> list[dict[str, dict[str, object]]]:
        return [r for r in templates[role]["Resources"].values() if r["Type"] == kind]

    env = ENVS[config.env_name]
    (acl,) = of_type("EdgeSecurity", "AWS::WAFv2::WebACL")
    assert len(acl["Properties"]["Rules"]) == env.waf_rules  # type: ignore[arg-type]
    assert len(of_type("Api", "AWS::CloudFront::Function")) == env.edge_functions
    assert len(of_type("Api", "AWS::CloudWatch::Dashboard")) == costs.DASHBOARDS
    assert len(of_type("Api", "AWS::SecretsManager::Secret")) == costs.SECRETS
    keys = of_type("Api", "AWS::KMS::Key") + of_type("EdgeMonitoring", "AWS::KMS::Key")
    assert len(keys) == costs.KMS_KEYS
    assert len(of_type("Api", "AWS::CloudFront::MonitoringSubscription")) == 1
    # The API function (the edge rules writer, an image too, runs at deploys only).
    (function,) = [
        f
        for f in of_type("Api", "AWS::Lambda::Function")
        if f["Properties"].get("ImageConfig") == {"Command": ["handler.app.lambda_handler"]}
    ]
    assert function["Properties"]["MemorySize"] == env.memory_mb
    assert function["Properties"]["Architectures"] == ["arm64"]
    assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    assert not of_type("Api", "AWS::XRay::SamplingRule")  # Lambda's default sampling
