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
from collections.abc import Callable


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


def _options(args: argparse.Namespace) -> dict:
    return {"out": args.out, "workers": args.workers, "dask": args.dask,
            "progress": not args.quiet}


def cmd_sweep(args: argparse.Namespace) -> int:
    """``hukou-sim sweep``: the tidy table ``results.csv`` of every point × replicate."""
    from sim.study.design import load_sweep
    from sim.study.studies import sweep_runs

    folder, _, _ = sweep_runs(load_sweep(args.sweep), **_options(args))
    print(folder / "results.csv")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``hukou-sim sensitivity``: indices with intervals (``indices.csv``) and a chart."""
    from sim.study.design import load_sweep
    from sim.study.studies import sensitivity, study_folder_of

    sweep = load_sweep(args.sweep)
    indices = sensitivity(sweep, args.output, method=args.method,
                          trajectories=args.trajectories, levels=args.levels,
                          samples=args.samples, **_options(args))
    for out, t in indices.groupby("output", sort=False):
        print(f"{out}:")
        if t.constant_output.all():
            print("  the output is the same in every run: no sensitivity can be computed")
            continue
        for row in t.itertuples(index=False):
            if args.method == "morris":
                print(f"  {row.parameter:<50} mu* {row.mu_star:12.4g} ± {row.mu_star_conf:<10.3g}"
                      f" sigma {row.sigma:10.4g}")
            else:
                print(f"  {row.parameter:<50} ST {row.ST:6.3f} ± {row.ST_conf:5.3f}   "
                      f"S1 {row.S1:6.3f} ± {row.S1_conf:5.3f}")
    folder = study_folder_of(sweep, args.method, args.out)
    for ext in ("csv", "png", "svg"):  # the table and the chart (`sensitivity.chart`)
        print(folder / f"indices.{ext}")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    """``hukou-sim discover``: PRIM boxes over the sweep's runs (running the sweep if needed)."""
    from sim.study.studies import discover

    found = discover(args.sweep, args.where, boxes=args.boxes, density=args.density,
                     **_options(args))
    print(found.describe())
    print(found.table)
    return 0
