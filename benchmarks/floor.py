"""Benchmark: our time per simulated year against the machine's memory-streaming floor.

The floor is the time to stream every person and household column through memory once
per pipeline stage: one numpy reduction per column (``sum`` in the column's own dtype, so
nothing is converted on the way; ``count_nonzero`` for booleans), repeated once for each of
the stages `sim.model.UrbanizationModel.step` calls (`STAGES`). No real year can be
faster than reading its state that many times, so ``time per year / floor`` says how far
the pipeline is from the hardware (both measured in the same process, on the same state).
Times are CPU seconds (``time.process_time``): on a shared machine wall time varies tenfold
with the other jobs' load; wall seconds of the years are printed too.

Run:  python benchmarks/floor.py [--scale 1.0] [--years 3] [--repeat 3]
Target (issue 10): time per year ≤ 10 × floor at full scale.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from sim.model import UrbanizationModel
from sim.population import State
from sim.scenario import load_defaults

STAGES = ("demography", "life_course", "migration", "residence_permit", "settlement",
          "urban_village", "services", "fiscal", "indicators")
"""The pipeline modules `UrbanizationModel.step` calls once a year (steps 2–11)."""


def stream_columns(state: State, passes: int) -> float:
    """CPU seconds to reduce every person and household column ``passes`` times."""
    columns = [*state.persons.columns().values(), *state.households.columns().values()]
    t0 = time.process_time()
    for _ in range(passes):
        for column in columns:
            if column.dtype == np.bool_:
                np.count_nonzero(column)
            else:
                np.add.reduce(column, dtype=column.dtype)
    return time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3, help="floor measurements (median)")
    args = parser.parse_args()
    scenario = load_defaults().with_overrides(
        {"run.scale": args.scale, "run.end_year": 2015 + args.years})
    model = UrbanizationModel(scenario)
    state = model.state
    nbytes = state.persons.nbytes() + state.households.nbytes()
    floor = statistics.median(stream_columns(state, len(STAGES)) for _ in range(args.repeat))
    print(f"state           {len(state.persons):,} persons, {len(state.households):,} "
          f"households, {nbytes / 2**20:,.0f} MB in columns (scale {args.scale})")
    print(f"floor           {floor * 1e3:8.1f} CPU ms  ({len(STAGES)} passes over every column, "
          f"median of {args.repeat}; {len(STAGES) * nbytes / floor / 2**30:.1f} GB/s)")
    times = []
    while model.running and model.year < scenario.run.end_year:
        t0, w0 = time.process_time(), time.perf_counter()
        model.step()
        times.append(time.process_time() - t0)
        print(f"  year {model.year}: {times[-1]:.2f} CPU s ({time.perf_counter() - w0:.2f} s "
              "wall)", flush=True)
    per_year = statistics.median(times)
    print(f"ours            {per_year:8.2f} CPU s per year (median of {len(times)} years)")
    print(f"ratio           {per_year / floor:8.1f}× the floor   target ≤ 10×")


if __name__ == "__main__":
    main()
