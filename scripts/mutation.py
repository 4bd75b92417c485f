"""Mutation testing, one module at a time with that module's own tests (mutmut 3).

mutmut reads its settings from ``[tool.mutmut]`` of the ``pyproject.toml`` in the folder it
runs in, and keeps one result cache (``mutants/``) there. To mutate a single module against
its own test files (``[tool.hukou-sim.mutation]`` in ``pyproject.toml``: module -> tests),
this script gives every module a fresh folder ``build/mutation/<module>/`` holding a copy
of ``sim/``, ``tests/`` and the ``also_copy`` folders (``scenarios/``) and a
``pyproject.toml`` whose ``[tool.mutmut]`` is the project's plus that module's
``only_mutate`` and test selection; then it runs ``mutmut run`` there, prints the kill rate
and lists the surviving mutants (``mutmut show NAME`` in that folder prints one's diff).

Slow and CPU-heavy, not part of CI. On a shared machine run it niced, one module at a time::

    nice -n 10 python scripts/mutation.py fiscal            # one module
    nice -n 10 python scripts/mutation.py                   # every module listed, in turn
    python scripts/mutation.py --list                       # the modules and their tests
    nice -n 10 python scripts/mutation.py synthesis --only 'sim.synthesis.x_age_targets__*'

``--only`` (repeatable, fnmatch patterns of mutant names, as ``mutmut run`` takes them)
restricts a run to some functions of a large module; the counts are then of those mutants.

Kill rate = (killed + timeout) / (mutants with tests), as mutmut's own score; mutants no
selected test reaches count as survivors here.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import tomli_w

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutation"


def settings() -> tuple[dict, dict[str, dict]]:
    """``[tool.mutmut]`` and ``[tool.hukou-sim.mutation]`` of the project's pyproject.toml."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = data["tool"]
    return tool.get("mutmut", {}), tool["hukou-sim"]["mutation"]


def prepare(module: str, source: str, tests: list[str], mutmut: dict) -> Path:
    """A fresh folder for ``module``: copies of sim/, tests/ and the folders the tests read
    (``also_copy`` of ``[tool.mutmut]``, e.g. scenarios/), and its pyproject.toml."""
    folder = WORK / module
    if folder.exists():
        shutil.rmtree(folder)
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    for name in ("sim", "tests", *mutmut.get("also_copy", [])):
        shutil.copytree(ROOT / name, folder / name, ignore=ignore)
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["pytest"]["ini_options"]
    config = {**mutmut, "only_mutate": [source], "pytest_add_cli_args_test_selection": tests}
    text = tomli_w.dumps({"tool": {"mutmut": config, "pytest": {"ini_options": pytest_options}}})
    (folder / "pyproject.toml").write_text(text, encoding="utf-8")
    return folder


def mutmut(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the mutmut command line in ``folder`` on this interpreter's installation."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutants/ must win
    exe = Path(sys.executable).with_name("mutmut")
    return subprocess.run([str(exe), *args], cwd=folder, env=env, text=True,
                          capture_output=args[0] != "run")


def statuses(folder: Path, only: list[str]) -> dict[str, int]:
    """Counts by mutmut status of the mutants matching ``only`` (`mutmut results`)."""
    counts = {"total": 0, "skipped": 0, "killed": 0, "timeout": 0, "survived": 0,
              "no_tests": 0}
    for line in mutmut(folder, "results", "--all", "true").stdout.splitlines():
        name, _, status = line.strip().partition(": ")
        if any(fnmatch.fnmatch(name, pattern) for pattern in only):
            counts["total"] += 1
            key = status.replace(" ", "_")
            if key in counts:
                counts[key] += 1
    return counts


def run_module(module: str, entry: dict, mutmut_settings: dict, children: int,
               only: list[str] | None = None) -> dict:
    """Mutate one module against its tests (only the mutants matching ``only``, if given);
    returns the counts and the survivors."""
    folder = prepare(module, entry["source"], entry["tests"], mutmut_settings)
    done = mutmut(folder, "run", "--max-children", str(children), *(only or []))
    if done.returncode != 0:
        raise SystemExit(f"mutation.py: mutmut run failed for {module} (exit "
                         f"{done.returncode}); see the output above")
    if only:
        stats = statuses(folder, only)
    else:
        mutmut(folder, "export-cicd-stats")
        stats = json.loads((folder / "mutants" / "mutmut-cicd-stats.json").read_text())
    listing = mutmut(folder, "results").stdout
    survivors = [line.strip().split(":")[0] for line in listing.splitlines()
                 if line.strip().endswith((": survived", ": no tests"))
                 and (not only or any(fnmatch.fnmatch(line.strip().split(":")[0], pattern)
                                      for pattern in only))]
    tested = stats["total"] - stats["skipped"]
    caught = stats["killed"] + stats["timeout"]
    rate = caught / tested if tested else 0.0
    summary = {"module": module, "source": entry["source"], "tests": entry["tests"],
               "only": only or [],
               "mutants": tested, "killed": stats["killed"], "timeout": stats["timeout"],
               "survived": stats["survived"], "no_tests": stats["no_tests"],
               "kill_rate": round(rate, 4), "survivors": survivors}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    mutmut_settings, modules = settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(modules)}")
    parser.add_argument("--max-children", type=int, default=1,
                        help="parallel mutant runs (default 1: the machine is shared)")
    parser.add_argument("--list", action="store_true", help="list the modules and tests")
    parser.add_argument("--only", action="append", metavar="PATTERN",
                        help="only the mutants whose names match (fnmatch, repeatable), "
                             "e.g. 'sim.synthesis.x_age_targets__*'")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in modules]
    if unknown:
        print(f"mutation.py: unknown module(s) {unknown}; valid: {', '.join(modules)} "
              "(pyproject.toml [tool.hukou-sim.mutation])", file=sys.stderr)
        return 2
    if args.list:
        for name, entry in modules.items():
            print(f"{name}: {entry['source']} <- {' '.join(entry['tests'])}")
        return 0
    for name in args.modules or list(modules):
        s = run_module(name, modules[name], mutmut_settings, args.max_children, args.only)
        print(f"{name}: {s['killed'] + s['timeout']} of {s['mutants']} mutants killed "
              f"({100 * s['kill_rate']:.1f}%), {s['survived']} survived, "
              f"{s['no_tests']} reached by no test")
        for survivor in s["survivors"]:
            print(f"    {survivor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
