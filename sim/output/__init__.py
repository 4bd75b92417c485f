"""Outputs of a finished run: charts, the budget workbook and scenario comparisons.

- `sim.output.charts.write_charts` — PNG (and SVG) charts for budget planning;
- `sim.output.workbook.write_workbook` — ``budget.xlsx`` for the finance bureau;
- `sim.output.compare.compare_runs` — side-by-side report of several runs;
- `sim.output.common` — the tidy table, means and bands over replicates, run context;
- `sim.output.plotting` — chart primitives shared by the charts and the comparison;
- `sim.output.labels` — English and Chinese labels shared by all of them.
"""
