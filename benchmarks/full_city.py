"""Benchmark: the whole city (scale 1.0, one agent per person) over 2015–2035.

Prints wall time of synthesis and of the yearly steps, and peak memory (RSS).
Run:  python benchmarks/full_city.py [--scale 1.0] [--end 2035] [--scenario FILE]
Targets (issue 2): under 60 s and 2 GB on the 2-core CI machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from sim.model import UrbanizationModel
from sim.scenario import load_defaults, load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--end", type=int, default=2035)
    parser.add_argument("--scenario", type=Path, default=None)
    args = parser.parse_args()
    base = load_scenario(args.scenario) if args.scenario else load_defaults()
    scenario = base.with_overrides({"run.scale": args.scale, "run.end_year": args.end})

    t0 = time.perf_counter()
    model = UrbanizationModel(scenario)
    t1 = time.perf_counter()
    agents = len(model.state.persons)
    model.run()
    t2 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    years = args.end - 2015
    print(f"scenario        {scenario.name} (scale {args.scale}, 2015-{args.end})")
    print(f"agents at start {agents:,} persons, {len(model.state.households):,} households")
    print(f"synthesis       {t1 - t0:6.2f} s")
    print(f"{years} years        {t2 - t1:6.2f} s  ({(t2 - t1) / years:.2f} s/year)")
    print(f"total           {t2 - t0:6.2f} s")
    print(f"peak memory     {peak_mb:,.0f} MB")
    print(f"agents at end   {len(model.state.persons):,}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
