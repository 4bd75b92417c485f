"""Outputs of a finished run: charts, the budget workbook and scenario comparisons.

- `sim.output.charts.write_charts` — PNG (and SVG) charts for budget planning;
- `sim.output.workbook.write_workbook` — ``budget.xlsx`` for the finance bureau;
- `sim.output.compare.compare_runs` — side-by-side report of several runs;
- `sim.output.common` — the tidy table, means and bands over replicates, run context;
- `sim.output.plotting` — chart primitives shared by the charts and the comparison;
- `sim.output.labels` — English and Chinese labels shared by all of them.

`write_outputs` writes a run folder's charts and workbook: the one place ``hukou-sim run`` and
``Results.to_folder`` both call.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports this module: keep its start light
    import pandas as pd


def write_outputs(frame: pd.DataFrame, manifest: dict, folder: Path, money: str = "wan",
                  svg: bool = False, quiet: bool = False,
                  tables: Callable[[], list[Path]] | None = None) -> None:
    """Write the charts (``charts/``) and the budget workbook (``budget.xlsx``) of a run
    into ``folder``; a run folder is complete only with both. ``tables`` (from
    `sim.runner.write_folder`) writes the run's CSV files and manifest: it runs here,
    with the workbook, while the chart workers draw. Each file is reported on stderr as
    it is written unless ``quiet``; ``money`` and ``svg`` are the options of ``hukou-sim
    run``. An import failure of the chart or workbook code is an error, never a silent
    skip."""
    from sim.output.charts import write_charts
    from sim.output.workbook import write_workbook

    started = time.perf_counter()

    def wrote(path: Path) -> None:
        if not quiet:
            print(f"  wrote {path.relative_to(folder)}  {time.perf_counter() - started:5.1f} s",
                  file=sys.stderr, flush=True)

    def meanwhile() -> None:
        for path in tables() if tables is not None else []:
            wrote(path)
        wrote(write_workbook(frame, manifest, folder / "budget.xlsx", money=money))

    write_charts(frame, manifest, folder / "charts", lang=manifest["lang"],
                 formats=("png", "svg") if svg else ("png",), progress=wrote,
                 meanwhile=meanwhile)
