"""The study verbs of ``hukou-sim``: ``sweep``, ``sensitivity`` and ``discover``.

    hukou-sim sweep SWEEP.toml [--out DIR] [--workers N] [--dask local|tcp://HOST:PORT]
    hukou-sim sensitivity SWEEP.toml --method morris|sobol --output OUT [OUT ...]
                          [--trajectories T] [--levels L] [--samples N] [--out DIR]
    hukou-sim discover SWEEP.toml --where "OUT > X" [--boxes K] [--density D] [--out DIR]

``OUT`` is ``indicator[/category]:area:year``. Each study has a folder (default
``results/sweeps/<name>/``, ``results/sensitivity/<name>-<method>/``) that a
second call with the same sweep file resumes: finished runs are skipped. A folder
holding another study is refused, never overwritten.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sim.study import StudyError

DEFAULT_ROOT = Path("results")


def add_dask_option(parser: argparse.ArgumentParser) -> None:
    """``--dask local|tcp://HOST:PORT``, shared by ``run`` and the study verbs."""
    parser.add_argument("--dask", metavar="local|tcp://HOST:PORT", type=_dask_address,
                        help="run on Dask: 'local' starts a LocalCluster of --workers "
                        "processes; an address uses a running scheduler")


def _dask_address(text: str) -> str:
    if text == "local" or re.fullmatch(r"(tcp|tls)://[\w.\-\[\]:]+:\d+", text):
        return text
    raise argparse.ArgumentTypeError(f"expected 'local' or a scheduler address such as "
                                     f"tcp://127.0.0.1:8786, got {text!r}")


def _common(parser: argparse.ArgumentParser, positive_int: Callable) -> None:
    parser.add_argument("sweep", help="sweep file (TOML), e.g. sweeps/settlement_levers.toml")
    parser.add_argument("--out", help="study folder (default under results/); an unfinished "
                        "study there is resumed")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="worker processes (results do not depend on it)")
    add_dask_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def add_study_commands(sub: argparse._SubParsersAction, positive_int: Callable) -> None:
    """Register ``sweep``, ``sensitivity`` and ``discover`` on the ``hukou-sim`` parser."""
    sweep = sub.add_parser("sweep", help="run a parameter sweep (full factorial or Latin "
                           "hypercube) into one tidy table")
    _common(sweep, positive_int)
    sweep.set_defaults(func=cmd_sweep)

    sens = sub.add_parser("sensitivity", help="Morris or Sobol' sensitivity indices (SALib) "
                          "of outputs to the sweep's parameters")
    _common(sens, positive_int)
    sens.add_argument("--method", choices=("morris", "sobol"), required=True)
    sens.add_argument("--output", nargs="+", required=True, metavar="OUT",
                      help="outputs indicator[/category]:area:year, e.g. "
                      "registered_population:panjin:2030")
    sens.add_argument("--trajectories", type=positive_int, default=10,
                      help="Morris trajectories (default 10)")
    sens.add_argument("--levels", type=positive_int, default=4,
                      help="Morris grid levels, even (default 4)")
    sens.add_argument("--samples", type=positive_int, default=64,
                      help="Sobol' base sample size, a power of 2 (default 64)")
    sens.set_defaults(func=cmd_sensitivity)

    disc = sub.add_parser("discover", help="PRIM boxes of parameter ranges where a condition "
                          "on an output holds, over the sweep's runs")
    _common(disc, positive_int)
    disc.add_argument("--where", required=True,
                      help="condition, e.g. \"fiscal_gap:panjin:2030 > 5e8\"")
    disc.add_argument("--boxes", type=positive_int, default=1, help="boxes to find (default 1)")
    disc.add_argument("--density", type=float, default=0.8,
                      help="least density of a chosen box (default 0.8)")
    disc.set_defaults(func=cmd_discover)


def _sweep(args: argparse.Namespace):
    from sim.study.design import load_sweep

    return load_sweep(args.sweep)


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet


def run_sweep(args: argparse.Namespace, sweep) -> tuple[Path, list, list[Path]]:
    """Run (or resume) a sweep in its folder; returns the folder, experiments and files."""
    from sim.study.design import run_points, sweep_table

    folder = Path(args.out) if args.out else DEFAULT_ROOT / "sweeps" / sweep.name
    points = sweep.points_values()
    _announce(sweep, f"{sweep.design.replace('_', ' ')}, {len(points)} point(s)",
              len(points) * sweep.replicates, folder)
    experiments, paths = run_points(sweep, "sweep", points, folder, workers=args.workers,
                                    dask=args.dask, progress=_progress(args))
    table = folder / "results.csv"
    if not table.exists():
        sweep_table(sweep, experiments, paths, table)
    return folder, experiments, paths


def _announce(sweep, what: str, runs: int, folder: Path) -> None:
    r = sweep.scenario.run
    print(f"hukou-sim: {sweep.name}: {what} x {sweep.replicates} replicate(s) = {runs} model "
          f"runs of {sweep.scenario.name} {r.start_year}-{r.end_year}, scale {r.scale} -> "
          f"{folder}", file=sys.stderr)
    for p in sweep.parameters:
        print(f"  {p.name:<50} {p.describe()}", file=sys.stderr)


def cmd_sweep(args: argparse.Namespace) -> int:
    """``hukou-sim sweep``: the tidy table ``results.csv`` of every point × replicate."""
    folder, _, _ = run_sweep(args, _sweep(args))
    print(folder / "results.csv")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``hukou-sim sensitivity``: indices with intervals (``indices.csv``) and a chart."""
    from sim.study import sensitivity as sa
    from sim.study.design import output_values, parse_output, run_points, values_at

    sweep = _sweep(args)
    outputs = [parse_output(o, sweep.scenario) for o in args.output]
    names = [p.name for p in sweep.parameters]
    size = args.trajectories if args.method == "morris" else args.samples
    sa.check_design(args.method, size, args.levels)
    problem = sa.problem_of(names)
    seed = sweep.scenario.run.seed
    unit = sa.design(args.method, problem, size, args.levels, seed=seed)
    points = values_at(sweep.parameters, unit)
    folder = (Path(args.out) if args.out else
              DEFAULT_ROOT / "sensitivity" / f"{sweep.name}-{args.method}")
    how = (f"Morris, {size} trajectories x {len(names) + 1} points, {args.levels} levels"
           if args.method == "morris" else
           f"Sobol', N = {size} x (d + 2 = {len(names) + 2}) points")
    _announce(sweep, how, len(points) * sweep.replicates, folder)
    experiments, paths = run_points(sweep, args.method, points, folder, workers=args.workers,
                                    dask=args.dask, progress=_progress(args))
    values = output_values(paths, outputs)
    values.insert(0, "point", [int(e.key[1:e.key.index("-")]) for e in experiments])
    values.insert(1, "replicate", [e.replicate for e in experiments])
    values.to_csv(folder / "outputs.csv", index=False)
    means = values.groupby("point").mean().drop(columns="replicate")
    tables = []
    for out in outputs:
        t = sa.analyze(args.method, problem, unit, means[str(out)].to_numpy(), args.levels,
                       seed=seed)
        tables.append(sa.ranked(t, args.method).assign(output=str(out)))
    indices = pd.concat(tables, ignore_index=True)
    indices = indices[["output", *[c for c in indices.columns if c != "output"]]]
    indices.to_csv(folder / "indices.csv", index=False)
    charts = sa.chart(indices, args.method, str(folder / "indices"))
    _print_indices(indices, args.method)
    for path in [folder / "indices.csv", *charts]:
        print(path)
    return 0


def _print_indices(indices: pd.DataFrame, method: str) -> None:
    for out, t in indices.groupby("output", sort=False):
        print(f"{out}:")
        if t.constant_output.all():
            print("  the output is the same in every run: no sensitivity can be computed")
            continue
        for row in t.itertuples(index=False):
            if method == "morris":
                print(f"  {row.parameter:<50} mu* {row.mu_star:12.4g} ± {row.mu_star_conf:<10.3g}"
                      f" sigma {row.sigma:10.4g}")
            else:
                print(f"  {row.parameter:<50} ST {row.ST:6.3f} ± {row.ST_conf:5.3f}   "
                      f"S1 {row.S1:6.3f} ± {row.S1_conf:5.3f}")


def cmd_discover(args: argparse.Namespace) -> int:
    """``hukou-sim discover``: PRIM boxes over the sweep's runs (running the sweep if needed)."""
    from sim.study.design import output_values, parse_output
    from sim.study.discovery import find_boxes, parse_condition

    if not 0 < args.density <= 1:
        raise StudyError(f"--density {args.density}: allowed: a share in (0, 1]")
    condition = parse_condition(args.where)
    sweep = _sweep(args)
    output = parse_output(condition.output, sweep.scenario)
    folder, experiments, paths = run_sweep(args, sweep)
    values = output_values(paths, [output])[str(output)].to_numpy()
    x = pd.DataFrame([dict(e.overrides) for e in experiments])
    cases = condition(values)
    print(f"{condition}: {int(cases.sum())} of {len(cases)} runs (output from "
          f"{values.min():.4g} to {values.max():.4g})")
    boxes = find_boxes(x, cases, boxes=args.boxes, min_density=args.density)
    rows = []
    for i, box in enumerate(boxes, start=1):
        print(f"box {i}: {box.describe()}")
        rows += [{"box": i, "coverage": box.coverage, "density": box.density,
                  "mass": box.mass, **r} for r in box.limits.to_dict("records")]
    n = 1
    while (folder / f"discovery-{n}.csv").exists():
        n += 1
    out = folder / f"discovery-{n}.csv"
    pd.DataFrame(rows).assign(condition=str(condition)).to_csv(out, index=False)
    print(out)
    return 0
