"""summary.md: the setup and headline numbers, then by outcome, route and phase, then the
gateway's figures (statements per budget minute, wrong answers, the cache busters).

Rendered from summary.json alone (loadtests/summary.py), so the two never disagree.
"""

from __future__ import annotations

from typing import Any


def render_markdown(summary: dict[str, Any]) -> str:
    """summary.md: the setup, the headline numbers, then by outcome, by route and by phase."""
    lines = [
        *_headline(summary),
        *_by_outcome(summary),
        *_by_route(summary),
        *_by_phase(summary),
        *_errors(summary),
        *_gateway(summary),
    ]
    if summary["notes"]:
        lines += ["", "## Notes", "", *(f"- {note}" for note in summary["notes"])]
    return "\n".join(lines) + "\n"


def _headline(s: dict[str, Any]) -> list[str]:
    tiers = "nginx edge → " if s["edge"] else ""
    setup = (
        f"{tiers}Function URL server → result cache (moto) → warehouse emulator"
        if s["local"]
        else f"{s['target']}"
    )
    operator = s["operator"] or {}
    lines = [
        f"# {s['scenario']}{' with the edge' if s['edge'] else ''} — {s['started_at']}",
        "",
        f"- Target: {setup}",
        f"- Load: {s['users']} dashboard users, {s['duration_s']:.0f} s"
        + (f"; operators: {operator.get('status')}" if operator else ""),
        f"- Machine: {_machine(s['machine'])}",
        "",
        "| requests | req/s | errors | p50 | p95 | p99 | max |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s['requests']:,} | {s['requests_per_s']:.1f} | {s['failures']:,} "
        f"({100 * s['error_rate']:.2f}%) | {_ms_cells(s['latency_ms'])} |",
        "",
    ]
    wh = s["warehouse"]
    if wh is not None:
        lines += [
            f"Warehouse: {wh['statements']:,} statements for {s['requests']:,} requests = "
            f"**{wh['per_1000_requests']:.1f} per 1000 requests**; an uncached API would have "
            f"run one per data request, so **{wh['saved_per_1000_requests']:.1f} per 1000 "
            "were saved**.",
            "",
        ]
    derived = s.get("rollups")
    if derived and derived["misses"]:
        lines += [
            f"Misses answered from roll-ups: **{derived['derived']:,} of {derived['misses']:,} "
            f"({100 * derived['share']:.1f}%)**; the rest ran statements of their own.",
            "",
        ]
    return lines


def _by_outcome(s: dict[str, Any]) -> list[str]:
    lines = [
        "## By cache outcome",
        "",
        "| outcome | requests | share | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for outcome, row in s["by_outcome"].items():
        if row["requests"]:
            lines.append(
                f"| {outcome} | {row['requests']:,} | {100 * row['share']:.1f}% "
                f"| {_ms_cells(row['latency_ms'])} |"
            )
    total = sum(row["requests"] for row in s["by_outcome"].values())
    return [
        *lines,
        f"| **total** | {total:,} | 100% | | | | |",
        "",
        f"304 Not Modified: {s['not_modified']:,}; statuses: "
        + ", ".join(f"{k}: {v:,}" for k, v in s["status_counts"].items()),
        "",
    ]


def _by_route(s: dict[str, Any]) -> list[str]:
    lines = [
        "## By route",
        "",
        "| route | requests | req/s | errors | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for route, row in s["by_route"].items():
        lines.append(
            f"| `{route}` | {row['requests']:,} | {row['requests_per_s']:.1f} "
            f"| {row['failures']:,} | {_ms_cells(row['latency_ms'])} |"
        )
    return lines


def _by_phase(s: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## By phase",
        "",
        "| phase | seconds | requests | req/s | errors | served stale | p50 | p99 | outcomes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in s["phases"]:
        mix = ", ".join(f"{o} {n:,}" for o, n in p["outcomes"].items())
        lines.append(
            f"| {p['phase']} | {p['start_s']:.0f}-{p['end_s']:.0f} | {p['requests']:,} "
            f"| {p['requests_per_s']:.1f} | {p['failures']:,} | {100 * p['stale_share']:.1f}% "
            f"| {_ms(p['latency_ms']['p50'])} | {_ms(p['latency_ms']['p99'])} | {mix} |"
        )
    return lines


def _errors(s: dict[str, Any]) -> list[str]:
    err = s["errors"]
    return [
        "",
        f"Errors: {err['total']:,} ({err['on_urls_never_served']:,} on URLs never served "
        f"before, {err['on_urls_served_before']:,} on URLs served before)"
        + (f"; by answer {_counts(err['by_answer'])}" if err.get("by_answer") else "")
        + ".",
        "",
    ]


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def _ms_cells(row: dict[str, float | None]) -> str:
    return " | ".join(_ms(row[k]) for k in ("p50", "p95", "p99", "max"))


def _machine(machine: dict[str, Any]) -> str:
    if not machine:
        return "not recorded"
    return ", ".join(f"{k} {v}" for k, v in machine.items())


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in counts.items()) or "none"


def _gateway(s: dict[str, Any]) -> list[str]:
    """Wrong answers, statements per budget minute, and the busters' section if any."""
    wrong = s["wrong_answers"]
    lines = [
        "## Gateway",
        "",
        f"Wrong answers: **{wrong['total']:,}** (every one of {wrong['answers_read']:,} 200 "
        "answers read back against its URL: year, state, fields, at most `limit` rows; "
        "and any answer to a request that must be refused)"
        + (f"; by route {_counts(wrong['by_route'])}" if wrong["total"] else "")
        + ".",
        "",
        *(f"- {e['t']:.1f} s `{e['url']}` ({e['route']}, {e['status']}): {e['problem']}"
          for e in wrong["examples"]),
    ]  # fmt: skip
    budget = s["statement_budget"]
    if budget is not None:
        limit = budget["budget_per_minute"]
        verdict = (
            "budget unknown"
            if limit is None
            else f"max {budget['max_per_minute']:,} against a ceiling of "
            f"{budget['ceiling_per_minute']:,} ({limit:,} per dataset, {budget['datasets']} datasets): "
            + ("**within budget**" if budget["within_budget"] else "**over budget**")
        )
        lines += [
            "",
            "Warehouse statements per wall-clock minute, as the origin's budget counts them "
            f"(the emulator's count, sampled each second): {verdict}; "
            f"{budget['average_per_minute']:,.1f} a minute on average.",
            "",
            *_per_minute(budget, limit),
        ]
        if budget["admitted"] is not None and budget["statements"] > budget["admitted"]:
            lines += [
                "",
                f"**{budget['statements'] - budget['admitted']:,} more statements ran than "
                "the budget counted** (its counters say how many it admitted).",
            ]
    if s["buster"] is not None:
        lines += ["", *_buster(s["buster"])]
    return lines


def _per_minute(budget: dict[str, Any], limit: int | None) -> list[str]:
    """One row a minute: what ran, and what each dataset's counters admitted (roll-ups too)."""
    datasets = sorted({name for m in budget["minutes"] for name in (m.get("by_dataset") or {})})
    header = ["minute (UTC)", "seconds of the run", "statements run", "admitted by the budget"]
    header += [f"{name}: statements (roll-ups)" for name in datasets] + ["budget per dataset"]
    rows = [f"| {' | '.join(header)} |", "|---|" + "---:|" * (len(header) - 1)]
    for m in budget["minutes"]:
        by_dataset = m.get("by_dataset") or {}
        cells = [m["start"], f"{m['seconds']:.0f}", f"{m['statements']:,}", _count(m["admitted"])]
        for name in datasets:
            counted = by_dataset.get(name)
            cells.append(
                "—" if counted is None else f"{counted['statements']:,} ({counted['rollups']:,})"
            )
        rows.append(f"| {' | '.join([*cells, _count(limit)])} |")
    return rows


def _buster(b: dict[str, Any]) -> list[str]:
    lines = [
        f"### Cache busters: {b['users']} users from {b['from_s']:.0f} s, "
        f"{b['requests']:,} requests",
        "",
        "| kind | requests | answers |",
        "|---|---:|---|",
        *(f"| {kind} | {row['requests']:,} | {_counts(row['answers'])} |"
          for kind, row in b["by_kind"].items() if row["requests"]),
        "",
        "Unexpected answers (a refusal answered, a valid URL refused): "
        f"{_counts(b['unexpected'])}.",
        "",
        "### Dashboards beside them",
        "",
        "Dashboard users' fresh cache hits (edge or result cache, 304s included), by phase:",
        "",
        "| phase | seconds | requests | hits | hit p50 | hit p95 | hit p99 | errors |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for p in b["dashboards"]:
        ms = p["hit_latency_ms"]
        lines.append(
            f"| {p['phase']} | {p['start_s']:.0f}-{p['end_s']:.0f} | {p['requests']:,} "
            f"| {p['hits']:,} | {_ms(ms['p50'])} | {_ms(ms['p95'])} | {_ms(ms['p99'])} "
            f"| {_counts(p['errors'])} |"
        )
    hits = b["dashboard_hits"]
    change = hits["change_ms"]
    lines += [
        "",
        f"Hit latency without the busters → with them: p50 {_ms(hits['baseline']['p50'])} → "
        f"{_ms(hits['with_buster']['p50'])} ({_signed(change['p50'])}), p99 "
        f"{_ms(hits['baseline']['p99'])} → {_ms(hits['with_buster']['p99'])} "
        f"({_signed(change['p99'])}).",
    ]
    return lines


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+,.1f} ms"
