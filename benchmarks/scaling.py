"""Benchmark: how the cost grows with the population and the horizon.

For each scale, one run from 2015 to 2035 (default scenario) records the time of
synthesis and the cumulative simulation time after 10 and after 20 years; the exponent
``b`` of ``time ∝ scale^b`` is fitted by least squares on log–log for each horizon, and
the ratio of 20-year to 10-year time says whether the cost per year is constant.
Times are CPU seconds (``time.process_time``): on a shared machine wall time varies tenfold
with the other jobs' load, which would make the fit meaningless.

Run:  python benchmarks/scaling.py [--scales 0.05 0.1 0.2 0.4 1.0]
Target (issue 10): exponent ≤ 1.1.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sim.model import UrbanizationModel
from sim.scenario import load_defaults

HORIZONS = (10, 20)


def fitted_exponent(scales: list[float], seconds: list[float]) -> float:
    """Slope of log(seconds) on log(scale).

    >>> round(fitted_exponent([0.1, 0.2, 0.4], [1.0, 2.0, 4.0]), 6)
    1.0
    """
    return float(np.polyfit(np.log(scales), np.log(seconds), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.4, 1.0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    end = 2015 + max(HORIZONS)
    results: dict[int, list[float]] = {h: [] for h in HORIZONS}
    print(f"{'scale':>6} {'persons':>10} {'synthesis':>10} "
          + " ".join(f"{f'{h} years':>9}" for h in HORIZONS) + f" {'20/10':>6}")
    for scale in args.scales:
        scenario = load_defaults().with_overrides(
            {"run.scale": scale, "run.end_year": end, "run.seed": args.seed})
        t0 = time.process_time()
        model = UrbanizationModel(scenario)
        t_synth = time.process_time() - t0
        persons = len(model.state.persons)
        t0 = time.process_time()
        for years in range(1, max(HORIZONS) + 1):
            model.step()
            if years in results:
                results[years].append(time.process_time() - t0)
        row = [results[h][-1] for h in HORIZONS]
        print(f"{scale:6.2f} {persons:10,} {t_synth:10.2f} "
              + " ".join(f"{s:9.2f}" for s in row) + f" {row[1] / row[0]:6.2f}", flush=True)
    print("(CPU seconds)")
    for h in HORIZONS:
        print(f"exponent, {h} years: {fitted_exponent(args.scales, results[h]):.3f}  "
              "(target ≤ 1.1)")


if __name__ == "__main__":
    main()
