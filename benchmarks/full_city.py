"""Benchmark: the whole city (scale 1.0, one agent per person) over 2015–2035.

Prints CPU and wall time of synthesis and of the yearly steps, and peak memory (RSS).
CPU seconds (``time.process_time``) are the comparable figure on a shared machine, where
wall time varies with the other jobs' load. ``--profile FILE`` also records the run with
pyinstrument (a sampling profiler; it slows the run a little) and writes its text report.

Run:  python benchmarks/full_city.py [--scale 1.0] [--end 2035] [--scenario FILE]
      [--profile FILE]
Targets (issue 10): ≤ 10 s wall and ≤ 1 GB peak on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import time
from pathlib import Path

from sim.model import UrbanizationModel
from sim.scenario import load_defaults, load_scenario


@contextlib.contextmanager
def profiled(path: Path | None):
    """Record the block with pyinstrument and write its text report to ``path`` (if given)."""
    if path is None:
        yield
        return
    from pyinstrument import Profiler  # dev extra; only needed with --profile

    profiler = Profiler(interval=0.005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=False),
                        encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--end", type=int, default=2035)
    parser.add_argument("--scenario", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a pyinstrument text profile of the run to this file")
    args = parser.parse_args()
    base = load_scenario(args.scenario) if args.scenario else load_defaults()
    scenario = base.with_overrides({"run.scale": args.scale, "run.end_year": args.end})

    with profiled(args.profile):
        c0, t0 = time.process_time(), time.perf_counter()
        model = UrbanizationModel(scenario)
        c1, t1 = time.process_time(), time.perf_counter()
        agents = len(model.state.persons)
        model.run()
        c2, t2 = time.process_time(), time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    years = args.end - 2015
    print(f"scenario        {scenario.name} (scale {args.scale}, 2015-{args.end})")
    print(f"agents at start {agents:,} persons, {len(model.state.households):,} households")
    print(f"                {'CPU s':>8} {'wall s':>8}")
    print(f"synthesis       {c1 - c0:8.2f} {t1 - t0:8.2f}")
    print(f"{years} years        {c2 - c1:8.2f} {t2 - t1:8.2f}  "
          f"({(c2 - c1) / years:.2f} CPU s/year)")
    print(f"total           {c2 - c0:8.2f} {t2 - t0:8.2f}   target ≤ 10 s wall")
    print(f"peak memory     {peak_mb:8,.0f} MB   target ≤ 1 GB")
    print(f"agents at end   {len(model.state.persons):,}")
    if args.profile:
        print(f"profile         {args.profile} (pyinstrument)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
