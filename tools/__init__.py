"""Measuring tools, run by hand or by make: nothing imports them (tests may).

    bench/          `make bench`: speed and memory targets, one markdown table per section
    faults.py       `make faults`: every warehouse fault against each cache state (fault_cases.py)
    costs.py        the monthly AWS cost model; cost_report.py writes it into cdk/README.md
    hit_probe.py    one request in a fresh interpreter: what a cold container imports and holds

Run from the checkout's root (`python -m tools.bench`): tools/ is not installed.
"""
