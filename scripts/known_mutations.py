"""The rule breaks of issue 17 that once went unnoticed: each must make a test fail.

Every change below is made by hand in the working tree, the listed tests run, and the file is
restored (also on an error or Ctrl-C). A change whose text is no longer in the file (the code
was rewritten) is reported as "not applicable" so that the list is updated, not skipped
quietly. Run after rewriting a module, next to ``scripts/mutation.py``::

    nice -n 10 python scripts/known_mutations.py            # all changes
    nice -n 10 python scripts/known_mutations.py 3 7        # by number

Exit code 1 if any applicable change leaves every test passing.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Change:
    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


FISCAL, FISCAL_TESTS = "sim/pipeline/fiscal.py", ("tests/test_fiscal.py",)
SERVICES, SERVICES_TESTS = "sim/pipeline/services.py", ("tests/test_services.py",)

CHANGES = (
    Change("fiscal: within-province and cross-province settler weights swapped", FISCAL,
           "lk.rate_within_province, lk.rate_cross_province",
           "lk.rate_cross_province, lk.rate_within_province", FISCAL_TESTS),
    Change("fiscal: capacity tilt dropped from the yearly step", FISCAL,
           "allocate(pool, factors * tilt[:, None], linkage_weights(p))",
           "allocate(pool, factors, linkage_weights(p))", FISCAL_TESTS),
    Change("fiscal: every payer counted in the fiscal gap, not gap_payers", FISCAL,
           "local_incremental_cost(costs, f.gap_payers, n)",
           "local_incremental_cost(costs, PAYERS, n)", FISCAL_TESTS),
    Change("fiscal: extra cost left out of the equalization standard", FISCAL,
           "* people + extra)", "* people)", FISCAL_TESTS),
    Change("fiscal: county guarantee level ignored", FISCAL,
           "f.county_guarantee.level * standard", "standard", FISCAL_TESTS),
    Change("services: no rural standard for non-locals living in villages", SERVICES,
           "return (status == LOCAL_RURAL) | ((status >= PERMIT) & village)",
           "return status == LOCAL_RURAL", SERVICES_TESTS),
    Change("services: residents' pension age `>=` -> `>` (first age edge, 60)", SERVICES,
           "(every >= edges[0])", "(every > edges[0])", SERVICES_TESTS),
    Change("services: residents' pension age `<` -> `<=` (last age edge)", SERVICES,
           "(every < edges[-1])", "(every <= edges[-1])", SERVICES_TESTS),
    Change("indicators: registered urban population by residence, not hukou area",
           "sim/pipeline/indicators.py",
           '("registered_urban_population", ""): total(registered, p.hukou_area, p.hukou_urban)',
           '("registered_urban_population", ""): total(here, p.area, p.hukou_urban)',
           ("tests/test_indicators.py",)),
    Change("settlement: applicant no longer prefers an eligible head",
           "sim/pipeline/settlement.py",
           "rank = np.where(persons.role[rows] == HEAD, 0, n) + rows",
           "rank = rows", ("tests/test_settlement.py",)),
    Change("urban_village: past schedule rows re-apply every later year",
           "sim/pipeline/urban_village.py", "if row.year != p.year:",
           "if row.year > p.year:", ("tests/test_urban_village.py",)),
    # Issue 9 split insurance into contributing now (insured, ended by job loss) and
    # cumulative contribution years (kept): the issue's "job loss no longer resets insurance
    # years" became these two.
    Change("life_course: losing a job no longer stops contributions",
           "sim/pipeline/life_course.py", "    persons.insured[stops] = False\n", "",
           ("tests/test_life_course.py",)),
    Change("life_course: losing a job resets the cumulative contribution years",
           "sim/pipeline/life_course.py", "    persons.tax_years[stops] = 0\n",
           "    persons.tax_years[stops] = 0\n    persons.insurance_years[stops] = 0\n",
           ("tests/test_life_course.py",)),
    Change("outputs: a broken import of the chart module", "sim/output/charts.py",
           "from __future__ import annotations\n",
           "from __future__ import annotations\nimport sim.no_such_module  # noqa\n",
           ("tests/test_cli.py",)),
)


def check(change: Change) -> str:
    """``caught``, ``NOT CAUGHT`` or ``not applicable``; the file is always restored."""
    path = ROOT / change.path
    original = path.read_text(encoding="utf-8")
    if original.count(change.old) != 1:
        return "not applicable (text not found once: update the list)"
    try:
        path.write_text(original.replace(change.old, change.new), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                               "no:cacheprovider", "-m", "not fullcity", *change.tests],
                              cwd=ROOT, capture_output=True, text=True)
    finally:
        path.write_text(original, encoding="utf-8")
    if done.returncode == 1:
        failed = [line.split(" ")[1] for line in done.stdout.splitlines()
                  if line.startswith("FAILED ")]
        return f"caught by {', '.join(failed) or 'a failing test'}"
    if done.returncode == 0:
        return "NOT CAUGHT"
    return f"error (pytest exit {done.returncode}): {done.stdout[-300:]}"


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` restores the file
    numbers = [int(a) for a in argv] or range(1, len(CHANGES) + 1)
    missed = 0
    for k in numbers:
        change = CHANGES[k - 1]
        outcome = check(change)
        missed += outcome == "NOT CAUGHT"
        print(f"{k:2}. {change.what}: {outcome}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
