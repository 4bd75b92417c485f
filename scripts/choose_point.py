"""Choose a stored calibration set's point estimate again, without rerunning ABC.

    python scripts/choose_point.py SET --out DIR [--scenario FILE] [--ranked POINT_CSV]

Runs every member of the set's posterior sample (`sim.calibration.rank_members`: ten times
the ABC scale, the seeds of ``[point]`` in calibration.toml), picks the point among the
best-fitting (`pick_point`), rewrites the set's calibrated overlay with it (the file it
replaces is kept in DIR) and writes DIR/point.csv (every member ranked) and DIR/point.md
(the posterior table with the point). ``--ranked`` reuses the ranking of an earlier run's
point.csv instead of running the members again (after a change of ``best_share`` only).
`hukou-sim calibrate` does the same at the end of an ABC run; this script serves a set
calibrated before the point rule existed, or after ``[point]`` changed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from sim.calibration import (  # noqa: E402
    calibration_observations,
    load_config,
    load_posterior,
    pick_point,
    point_lines,
    posterior_summary,
    rank_members,
    write_calibrated,
)
from sim.scenario import load_scenario  # noqa: E402
from sim.scenario.calibrated import calibration_set  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STAMP = re.compile(r"Calibrated (\S+) on scenario (\S+), scale ([0-9.]+), seed (\d+), "
                   r"(\d+) simulations")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", help="calibration set (forecast, backtest)")
    parser.add_argument("--out", type=Path, required=True, help="folder to create")
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "reform_2015.toml")
    parser.add_argument("--ranked", type=Path, help="point.csv of an earlier run to reuse")
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"--out {args.out} exists: choose a new folder (nothing is overwritten)")
    chosen = calibration_set(args.set)
    old = chosen.calibrated.read_text(encoding="utf-8")
    stamp = STAMP.search(old)
    if stamp is None:
        parser.error(f"{chosen.calibrated}: no 'Calibrated … on scenario …, scale …, seed …, "
                     "N simulations' line in its header: recalibrate with `hukou-sim calibrate` "
                     "instead")
    intercept = tomllib.loads(old)["behaviour"]["intention"]["intercept"]
    cfg = load_config()
    base = load_scenario(args.scenario).with_overrides({
        "run.calibration": args.set, "run.start_year": 2015,
        "behaviour.intention.intercept": intercept})
    posterior = load_posterior(chosen.posterior)
    scale = float(stamp.group(3))
    if args.ranked is None:
        ranked = rank_members(base, posterior, calibration_observations(chosen.through),
                              scale * cfg["point"]["scale_factor"])
    else:
        ranked = pd.read_csv(args.ranked).drop(columns=["centrality", "point"], errors="ignore")
    ranked = pick_point(ranked, posterior)
    args.out.mkdir(parents=True)
    shutil.copy(chosen.calibrated, args.out / f"previous_{chosen.calibrated.name}")
    ranked.to_csv(args.out / "point.csv", index=False, float_format="%.6g")
    summary = posterior_summary(posterior, cfg["free"])
    (args.out / "point.md").write_text("\n".join(point_lines(ranked, summary)) + "\n",
                                       encoding="utf-8")
    result = {"point": ranked, "summary": summary, "intercept": intercept, "calibration": chosen,
              "calibrated_at": stamp.group(1), "scenario": stamp.group(2), "scale": scale,
              "seed": int(stamp.group(4)), "simulations": int(stamp.group(5))}
    print(write_calibrated(result, chosen.calibrated))
    print((args.out / "point.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
