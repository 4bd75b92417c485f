"""The ``hukou-sim`` command line (also ``python -m sim``).

Every user error — a bad option, a broken scenario file, a folder that holds
an earlier run — is one line on stderr and exit code 2; never a traceback.

    hukou-sim run SCENARIO.toml [--out DIR] [--seed N] [--replicates N]
                  [--workers N] [--scale F] [--start Y] [--end Y] [--lang en|zh]
                  [--money yuan|wan|yi] [--svg] [--quiet] [--population FILE [--id-key FILE]]
    hukou-sim check SCENARIO.toml [--show] [--verbose]
    hukou-sim compare RUN_DIR RUN_DIR ... [--out DIR] [--lang en|zh] [--force]
                      [--money yuan|wan|yi] [--svg]
    hukou-sim explain SCENARIO.toml --year Y [--agent ID] [--scale F] [--seed N]
    hukou-sim calibrate [SCENARIO.toml] [--scale F] [--particles N] [--generations N] [--out DIR]
    hukou-sim explore [SCENARIO.toml] [--host H] [--port N] [--scale F] [--seed N] [--lang en|zh]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sim import output
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.study import StudyError
from sim.study.commands import add_dask_option, add_study_commands

if TYPE_CHECKING:
    from sim.registry import ImportedPopulation

EXIT_USAGE = 2


class UsageError(Exception):
    """A user error reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _number(kind: type, what: str, ok: Callable[[float], bool], allowed: str
            ) -> Callable[[str], float]:
    """An argparse type: parse ``kind`` and check ``ok``, with one-line messages."""
    pattern = _INT if kind is int else _FLOAT

    def parse(text: str) -> float:
        try:
            if not pattern.fullmatch(text.strip()):  # ASCII digits only: not '٣', '1_000'
                raise ValueError(text)
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value
    return parse


_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_positive_int = _number(int, "a whole number", lambda v: v >= 1, "at least 1")
_seed = _number(int, "a whole number", lambda v: v >= 0, "0 or more")
_scale = _number(float, "a number in (0, 1]", lambda v: 0 < v <= 1,
                 "in (0, 1] (1 = the whole city)")
_year = _number(int, "a year", lambda v: 2015 <= v <= 2100, "a year from 2015 to 2100")


def _folder(text: str) -> Path:
    """An argparse type for ``--out``: a non-empty path (``--out ""`` is a mistake, not the
    default folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty; give a folder, or leave --out out for the "
                                         "default folder")
    return Path(text)


RUN_OPTIONS = {"seed": "run.seed", "scale": "run.scale", "start": "run.start_year",
               "end": "run.end_year", "replicates": "run.replicates",
               "calibration": "run.calibration"}


def _scenario_with_options(args: argparse.Namespace) -> Scenario:
    """The scenario with the command line's run options applied; a conflict (say
    ``--end`` before the scenario's start year) is reported against the option."""
    scenario = load_scenario(args.scenario)
    overrides = {name: getattr(args, opt) for opt, name in RUN_OPTIONS.items()
                 if getattr(args, opt, None) is not None}
    try:
        return scenario.with_overrides(overrides)
    except ScenarioError as e:
        option = next((f"--{o}" for o, name in RUN_OPTIONS.items() if name == e.field),
                      e.field)
        raise UsageError(f"hukou-sim: error: {option} (with {args.scenario}): {e.problem}"
                         ) from None


def cmd_run(args: argparse.Namespace) -> int:
    from sim.runner import claim_run_folder, write_run

    scenario = _scenario_with_options(args)
    posterior = None
    if args.posterior is not None:
        from sim.study.posterior import draw_posterior

        posterior = draw_posterior(scenario, args.posterior, args.posterior_file)
    started = time.perf_counter()
    population = _population(args)  # validated before any folder is made
    extras = partial(output.write_outputs, money=args.money, svg=args.svg, quiet=args.quiet)
    with claim_run_folder(scenario.name, args.out) as run:  # removed unless completed
        r = scenario.run
        draws = "" if posterior is None else f" x {args.posterior} posterior draw(s)"
        source = (f"scale {r.scale}" if population is None else f"population {population.file}"
                  f" ({population.rows} persons; run.scale does not apply)")
        print(f"hukou-sim: running {scenario.name} {r.start_year}-{r.end_year}, {source}, "
              f"{r.replicates} replicate(s){draws}, seed {r.seed} -> {run.final}",
              file=sys.stderr)
        manifest = write_run(scenario, run.path, workers=args.workers, progress=not args.quiet,
                             lang=args.lang, extras=extras, dask=args.dask, posterior=posterior,
                             population=population)
        run.complete()
    _print_validation(manifest)
    wall = time.perf_counter() - started
    simulation = manifest["wall_time_seconds"]
    print(f"hukou-sim: done in {wall:.1f} s (simulation {simulation:.1f} s, writing "
          f"{wall - simulation:.1f} s): {run.final}")
    return 0


def _population(args: argparse.Namespace) -> ImportedPopulation | None:
    """The registry extract of ``--population``, validated and pseudonymized (every
    problem reported at once, exit 2), or None."""
    if args.population is None:
        if args.id_key is not None:
            raise UsageError("hukou-sim run: --id-key is only used with --population")
        return None
    if args.scale is not None:
        raise UsageError("hukou-sim run: --scale does not apply with --population (one agent "
                         "per row of the file)")
    from sim.registry import PopulationError, load_population

    try:
        return load_population(args.population, args.id_key, announce=lambda text: print(
            f"hukou-sim: {text}", file=sys.stderr))
    except PopulationError as e:
        raise UsageError(f"hukou-sim: error: {e}") from None


def _print_validation(manifest: dict) -> None:
    import pandas as pd

    from sim.validation import print_validation

    print_validation(pd.DataFrame(manifest["validation"]))


def cmd_check(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    print(f"{args.scenario}: ok ({scenario.name}, {len(scenario.parameter_names())} parameters)")
    if args.show or args.verbose:
        print(scenario.describe(verbose=args.verbose))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.output.compare import CompareError, compare_runs
    from sim.runner import read_manifest

    seen: dict[Path, str] = {}
    for d in args.runs:  # only complete runs, with a readable manifest, each once
        read_manifest(Path(d))
        same = seen.setdefault(Path(d).resolve(), d)
        if same != d or args.runs.count(d) > 1:
            raise UsageError(f"hukou-sim compare: {d} and {same} are the same run folder; "
                             "compare different runs")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise UsageError(f"hukou-sim compare: --out {args.out}: exists and is not a folder")
    try:
        paths = compare_runs([Path(d) for d in args.runs], Path(args.out) if args.out else None,
                             lang=args.lang, force=args.force, money=args.money, svg=args.svg)
    except CompareError as e:
        raise UsageError(f"hukou-sim compare: {e}") from None
    for p in paths:
        print(p)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from sim.api import explain

    scenario = _scenario_with_options(args)
    most = scenario.bounds("run.replicates")[1]
    if most is not None and args.replicate >= most:
        raise UsageError(f"hukou-sim explain: --replicate: must be 0 to {int(most) - 1} (a run "
                         f"has at most {int(most)} replicates), got {args.replicate}")
    if args.year <= 2015:
        raise UsageError("hukou-sim explain: --year must be after the 2015 base year")
    print(f"hukou-sim: simulating {scenario.name} to {args.year} (scale {scenario.run.scale}, "
          f"seed {scenario.run.seed}, replicate {args.replicate}: the same agents as that "
          "replicate of `hukou-sim run`)", file=sys.stderr)
    try:
        print(explain(scenario, args.year, args.agent, replicate=args.replicate))
    except KeyError as e:
        raise UsageError(f"hukou-sim explain: {e.args[0]}") from None
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.calibration import (
        estimate_posterior,
        load_config,
        write_calibrated,
        write_posterior,
        write_report,
    )
    from sim.runner import COMPLETE_MARKER, claim_run_folder
    scenario = load_scenario(args.scenario).with_overrides(
        {"run.calibration": args.calibration})
    target = scenario.calibration
    abc = load_config()["abc"]
    settings = {"scale": args.scale, "population_size": args.particles,
                "generations": args.generations, "max_simulations": args.max_simulations,
                "seed": args.seed}
    settings = {k: abc[k] if v is None else v for k, v in settings.items()}
    with claim_run_folder("calibration", args.out) as report:  # complete or absent
        print(f"hukou-sim: calibrating set {target.name!r} (ABC-SMC, the observed figures "
              f"to {target.through}) on {scenario.name}, scale "
              f"{settings['scale']}, {settings['population_size']} particles, at most "
              f"{settings['generations']} generations and {settings['max_simulations']} "
              f"simulations -> {report.final}", file=sys.stderr)
        result = estimate_posterior(scenario, report.path, progress=not args.quiet,
                                    **settings)
        write_report(result, report.path)  # fit report, posterior, chart
        if args.write:
            for packaged in (target.calibrated, target.posterior):  # keep what is replaced
                if packaged.exists():
                    shutil.copy(packaged, report.path / f"previous_{packaged.name}")
        folder = report.complete()
    for path in sorted(folder.iterdir()):
        if path.name != COMPLETE_MARKER:
            print(path)
    if args.write:
        print(write_calibrated(result, target.calibrated))
        print(write_posterior(result, target.posterior))
    print((folder / "fit_report.md").read_text(encoding="utf-8"))
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    from sim.explore.server import ExploreConfig, bind, is_loopback, serve, url_of

    scenario = load_scenario(args.scenario)  # a broken file fails here, in one line
    try:
        sock = bind(args.host, args.port)
    except OSError as e:
        raise UsageError(f"hukou-sim explore: cannot listen on {args.host}:{args.port}: "
                         f"{e.strerror or e} (choose another --port, or --port 0 for a free "
                         "one)") from None
    if not is_loopback(args.host):
        print(f"hukou-sim explore: warning: listening on {args.host}, not only on this "
              "machine: anyone who reaches this address can run the model and save scenario "
              f"files into {args.save_dir}; there is no login", file=sys.stderr)
    config = ExploreConfig(scenario=args.scenario, lang=args.lang or scenario.lang,
                           scale=args.scale, seed=args.seed, save_dir=args.save_dir)
    announce = (f"hukou-sim explore: {scenario.name} at {url_of(sock)} (scale {args.scale}; "
                "Ctrl-C stops)")
    try:
        serve(config, sock, announce)
    except KeyboardInterrupt:
        pass  # some uvicorn versions return on Ctrl-C, others raise: stopped either way
    finally:
        sock.close()
    print("hukou-sim explore: stopped", file=sys.stderr)
    return 0


def add_calibration_option(parser: argparse.ArgumentParser, default_text: str,
                           default: str | None = None) -> None:
    """``--calibration NAME``: which calibration set (`sim.scenario.calibrated`)."""
    from sim.scenario.calibrated import calibration_sets

    sets = calibration_sets()
    parser.add_argument("--calibration", choices=sorted(sets), default=default,
                        help="calibration set of the behavioural parameters: "
                        + "; ".join(f"{s.name}: fitted to the figures to {s.through}"
                                    for s in sets.values()) + f" (default: {default_text})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hukou-sim", description="Panjin hukou-reform scenario simulator "
                     "(盘政发〔2015〕53号): population, public-service cost and transfers.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write a run folder")
    run.add_argument("scenario", help="scenario file (TOML), e.g. scenarios/reform_2015.toml")
    run.add_argument("--out", type=_folder,
                     help="run folder to create (default results/<scenario>/<time>/)")
    run.add_argument("--seed", type=_seed, help="root random seed (default: the scenario's)")
    run.add_argument("--replicates", type=_positive_int, help="number of replicates")
    run.add_argument("--workers", type=_positive_int, default=1,
                     help="worker processes for replicates (output does not depend on it)")
    run.add_argument("--scale", type=_scale,
                     help="fraction of the city simulated (1 = one agent per person)")
    run.add_argument("--start", type=_year, help="first reported year")
    run.add_argument("--end", type=_year, help="last simulated year")
    add_calibration_option(run, "the scenario's run.calibration, default forecast")
    run.add_argument("--lang", choices=("en", "zh"), help="language of charts and workbook")
    run.add_argument("--money", choices=("yuan", "wan", "yi"), default="wan",
                     help="unit of money in the workbook: yuan, wan (万元, default), yi (亿元)")
    run.add_argument("--svg", action="store_true", help="also write the charts as SVG")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument("--posterior", type=_positive_int, metavar="N",
                     help="draw N parameter sets from the calibration's posterior sample, "
                     "each run with every replicate")
    run.add_argument("--posterior-file", metavar="FILE",
                     help="posterior sample to draw from (default: the calibration set's, "
                     "sim/data/posterior.csv for forecast)")
    add_dask_option(run)
    run.add_argument("--population", type=_folder, metavar="FILE",
                     help="start from a registry extract (CSV or Parquet, one row per "
                     "person; docs/population_import.md) instead of the synthetic population")
    run.add_argument("--id-key", type=_folder, metavar="FILE",
                     help="key that pseudonymizes ID numbers (default "
                     "~/.config/hukou-sim/id.key, made on first use)")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate a scenario file without running it")
    check.add_argument("scenario")
    check.add_argument("--show", action="store_true", help="print the resolved parameters")
    check.add_argument("--verbose", action="store_true",
                       help="print the parameters with their docs and sources")
    check.set_defaults(func=cmd_check)

    compare = sub.add_parser("compare", help="compare finished runs side by side")
    compare.add_argument("runs", nargs="+", help="run folders (two or more)")
    compare.add_argument("--out", type=_folder, help="folder for the report, new or empty "
                         "(default results/comparisons/<base>-vs-<other>/)")
    compare.add_argument("--lang", choices=("en", "zh"), default="en")
    compare.add_argument("--force", action="store_true",
                         help="compare runs of different scale or years (shared years only)")
    compare.add_argument("--money", choices=("yuan", "wan", "yi"), default="wan",
                         help="unit of money: yuan, wan (万元, default), yi (亿元)")
    compare.add_argument("--svg", action="store_true", help="also write the charts as SVG")
    compare.set_defaults(func=cmd_compare)
    explain_p = sub.add_parser("explain", help="why an agent can or cannot settle in a year")
    explain_p.add_argument("scenario")
    explain_p.add_argument("--agent", type=int, help="agent id (default: a sampled migrant)")
    explain_p.add_argument("--year", type=_year, required=True)
    explain_p.add_argument("--seed", type=_seed)
    explain_p.add_argument("--scale", type=_scale)
    explain_p.add_argument("--replicate", type=_seed, default=0,
                           help="which replicate's agents (default 0)")
    explain_p.set_defaults(func=cmd_explain)

    calibrate = sub.add_parser("calibrate", help="estimate the free behavioural parameters "
                               "of a calibration set from the observed figures up to its year "
                               "(ABC-SMC; sim/data/calibration.toml, observations.toml)")
    calibrate.add_argument("scenario", nargs="?", default="scenarios/reform_2015.toml",
                           help="scenario to calibrate on (default: the reform as written)")
    add_calibration_option(calibrate, "forecast", default="forecast")
    calibrate.add_argument("--scale", type=_scale, default=None,
                           help="fraction of the city simulated (default: calibration.toml)")
    calibrate.add_argument("--particles", type=_positive_int, default=None,
                           help="ABC-SMC population size (default: calibration.toml)")
    calibrate.add_argument("--generations", type=_positive_int, default=None,
                           help="at most this many SMC generations (default: calibration.toml)")
    calibrate.add_argument("--max-simulations", type=_positive_int, default=None,
                           help="stop after this many simulations (default: calibration.toml)")
    calibrate.add_argument("--seed", type=_positive_int, default=None,
                           help="seed of the sampler and the runs (default: calibration.toml)")
    calibrate.add_argument("--out", type=_folder, help="folder for the fit report")
    calibrate.add_argument("--no-write", dest="write", action="store_false",
                           help="do not replace the set's calibrated values and posterior in "
                           "sim/data/ (by default they are "
                           "replaced, and the old one kept in the report folder)")
    calibrate.add_argument("--quiet", action="store_true")
    calibrate.set_defaults(func=cmd_calibrate)

    explore = sub.add_parser("explore", help="move the policy levers and watch the city in "
                             "the browser (a local web page)")
    explore.add_argument("scenario", nargs="?", default="scenarios/reform_2015.toml",
                         help="scenario to start from (default: the reform as written); the "
                         "page also offers the other scenario files of its folder")
    explore.add_argument("--host", default="127.0.0.1",
                         help="address to listen on (default 127.0.0.1: this machine only)")
    explore.add_argument("--port", type=_number(int, "a port number", lambda v: 0 <= v < 65536,
                                                "from 0 to 65535"), default=8765,
                         help="port (default 8765; 0 picks a free one)")
    explore.add_argument("--scale", type=_scale, default=0.01,
                         help="fraction of the city simulated (default 0.01: a year in well "
                         "under a second)")
    explore.add_argument("--seed", type=_seed, help="random seed (default: the scenario's)")
    explore.add_argument("--lang", choices=("en", "zh"),
                         help="language of the page (default: the scenario's)")
    explore.add_argument("--save-dir", default="results/explore",
                         help="folder for scenario files saved from the page")
    explore.set_defaults(func=cmd_explore)
    add_study_commands(sub, _positive_int)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, job schedulers), handled like Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hukou-sim`` console script.

    Exit codes: 0 done, 1 internal error (a bug), 2 user error (command line, scenario
    file, run folder, disk), 130 interrupted (SIGINT), 143 terminated (SIGTERM).
    """
    from sim.runner import RunFolderError, disk_problem

    parser = build_parser()
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {signal.SIGTERM: signal.signal(signal.SIGTERM, _terminate),
                    # over a file-size limit (ulimit -f) a write fails instead of killing us
                    signal.SIGXFSZ: signal.signal(signal.SIGXFSZ, signal.SIG_IGN)}
    try:
        args = parser.parse_args(argv)
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except (UsageError, ScenarioError, RunFolderError, StudyError) as e:
        print(f"{e}" if isinstance(e, UsageError) else f"hukou-sim: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:
        terminated = isinstance(e, Terminated)
        print(f"hukou-sim: {'terminated' if terminated else 'interrupted'}; nothing was kept",
              file=sys.stderr)
        return 143 if terminated else 130
    except OSError as e:  # a disk problem outside a run folder (a report, the calibration)
        problem = disk_problem(e, Path(e.filename or "."))
        if problem is None or os.environ.get("HUKOU_SIM_DEBUG"):
            raise
        print(f"hukou-sim: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # a bug, not a user error: say so in one line
        if os.environ.get("HUKOU_SIM_DEBUG"):
            raise
        print(f"hukou-sim: internal error: {type(e).__name__}: {e} (please report it; "
              "set HUKOU_SIM_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
