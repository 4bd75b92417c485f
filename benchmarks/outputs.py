"""Benchmark: what the outputs of ``hukou-sim run`` cost, on a finished run folder.

Re-writes the outputs of RUN (a folder written by ``hukou-sim run``) into OUT twice:

1. each output alone, in this process (CPU and wall seconds): ``indicators.csv``,
   ``indicators_summary.csv`` (with several runs), ``validation.csv``, ``manifest.json``,
   ``budget.xlsx`` and each chart (PNG, and SVG with ``--svg``);
2. the writing phase as the command runs it (`sim.runner.write_folder` with
   `sim.output.write_outputs`: chart workers, the tables and the workbook meanwhile):
   wall seconds, and CPU seconds of this process and of the chart workers.

The simulation is not rerun, so the figures of two versions of the output code compare
on the same indicators. CPU seconds are the comparable figure on a shared machine.

Run:  python benchmarks/outputs.py RUN OUT [--svg]
Target (issue 10): ``hukou-sim run`` at scale 1.0 with every output written ≤ 15 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd

from sim import output
from sim.output.charts import CHARTS, _draw_one
from sim.output.common import tidy
from sim.output.workbook import write_workbook
from sim.runner import _json_default, validation_table, write_folder
from sim.study.summary import summarize
from sim.validation import fitted_through


def _timed(name: str, work: Callable[[], object]) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    print(f"  {name:30s} {time.process_time() - cpu:6.2f} CPU s {time.perf_counter() - wall:6.2f}"
          " wall s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder written by hukou-sim run")
    parser.add_argument("out", type=Path, help="a scratch folder (replaced)")
    parser.add_argument("--svg", action="store_true", help="also time the SVG charts")
    args = parser.parse_args()
    frame = pd.read_csv(args.run / "indicators.csv", keep_default_na=False, na_values=[""])
    manifest = json.loads((args.run / "manifest.json").read_text(encoding="utf-8"))
    shutil.rmtree(args.out, ignore_errors=True)
    alone, together = args.out / "alone", args.out / "command"
    alone.mkdir(parents=True)
    together.mkdir()

    print(f"each output alone ({len(frame):,} rows, {manifest['runs']} run(s)):")
    _timed("indicators.csv", lambda: frame.to_csv(alone / "indicators.csv", index=False))
    if manifest["runs"] > 1:
        _timed("indicators_summary.csv",
               lambda: summarize(frame).to_csv(alone / "indicators_summary.csv", index=False))
    _timed("validation.csv", lambda: validation_table(frame, fitted_through(manifest)).to_csv(
        alone / "validation.csv", index=False))
    _timed("manifest.json", lambda: (alone / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=_json_default)))
    _timed("budget.xlsx", lambda: write_workbook(frame, manifest, alone / "budget.xlsx"))
    df = tidy(frame)
    for stem in CHARTS:
        for fmt in ("png", "svg") if args.svg else ("png",):
            _timed(f"charts/{stem}.{fmt}", partial(_draw_one, df, manifest, alone / "charts",
                                                   manifest["lang"], (fmt,), stem))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu, wall = time.process_time(), time.perf_counter()
    write_folder(together, frame, manifest, partial(output.write_outputs, svg=args.svg,
                                                    quiet=True))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"as the command writes them: {wall:.2f} s wall, {cpu + workers:.2f} CPU s "
          f"(this process {cpu:.2f}, chart workers {workers:.2f}); "
          f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
