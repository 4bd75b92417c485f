"""Benchmark: an ensemble of replicates in parallel worker processes.

Runs ``--replicates`` replicates of the default scenario (2015–2035) at ``--scale`` with
``--workers`` processes through `sim.runner.run_replicates` (each replicate synthesizes
its own population from its own seed) and prints the wall time and time per replicate,
and the CPU seconds of this process and its workers (user + system, `resource.getrusage`):
on a shared machine the wall time varies with the other jobs' load, the CPU time much less;
CPU seconds / workers is the wall time the ensemble would take on free cores.

Run:  python benchmarks/ensemble.py [--replicates 100] [--scale 0.1] [--workers 2]
Target (issue 10): 100 replicates at scale 0.1 with 2 workers ≤ 60 s.
"""

from __future__ import annotations

import argparse
import resource
import time

from sim.runner import run_replicates
from sim.scenario import load_defaults


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished child processes."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--end", type=int, default=2035)
    args = parser.parse_args()
    scenario = load_defaults().with_overrides(
        {"run.scale": args.scale, "run.end_year": args.end, "run.replicates": args.replicates})
    t0, c0 = time.perf_counter(), cpu_seconds()
    frame, _ = run_replicates(scenario, workers=args.workers)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    print(f"ensemble        {args.replicates} replicates, scale {args.scale}, 2015-{args.end}, "
          f"{args.workers} workers")
    print(f"wall            {wall:8.1f} s  ({wall / args.replicates:.2f} s per replicate; "
          f"{len(frame):,} indicator rows)   target ≤ 60 s")
    print(f"CPU             {cpu:8.1f} s  ({cpu / args.replicates:.2f} s per replicate, this "
          f"process and its workers; {cpu / args.workers:.1f} s on {args.workers} free cores)")


if __name__ == "__main__":
    main()
