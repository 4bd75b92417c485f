"""Scenario discovery: which parameter ranges make an outcome happen (PRIM).

The question a finance bureau asks — "under which policy settings does the gap
exceed our budget line?" — is answered by the Patient Rule Induction Method
(Friedman & Fisher 1999) over a sweep's runs: each run is a case, the condition
(``fiscal_gap:panjin:2030 > 5e8``) marks the cases of interest, and PRIM peels
the parameter space down to a box where they are dense. A box is reported with
its **coverage** (share of all cases of interest inside it), **density** (share
of the runs inside it that are of interest) and **mass** (share of all runs
inside it).

Library: the standalone ``PRIM`` package (Project Platypus; the EMA Workbench's
PRIM code extracted by D. Hadka, from RAND's sdtoolkit). It is 55 kB with no
dependency beyond numpy/pandas/scipy/matplotlib (and mplcursors), where
``ema_workbench`` brings about 160 MB (scikit-learn, statsmodels, seaborn,
platypus) and ~10 s of imports for the same algorithm. Note its licence is
GPL-3.0-or-later.

Example (a planted box)
-------
>>> rng = np.random.default_rng(1)
>>> x = pd.DataFrame(rng.uniform(0, 1, (1000, 3)), columns=["a", "b", "c"])
>>> boxes = find_boxes(x, ((x.a > 0.6) & (x.b < 0.3)).to_numpy())
>>> sorted(boxes[0].limits.parameter)
['a', 'b']
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.study import StudyError

_WHERE = re.compile(r"^\s*(?P<output>\S+)\s*(?P<op>>=|<=|>|<)\s*(?P<number>[-+0-9._eE]+)\s*$")
OPERATORS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
MIN_DENSITY = 0.8


@dataclass(frozen=True)
class Condition:
    """``OUTPUT OP NUMBER``, e.g. ``fiscal_gap:panjin:2030 > 5e8``."""

    output: str
    op: str
    threshold: float

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return OPERATORS[self.op](values, self.threshold)

    def __str__(self) -> str:
        return f"{self.output} {self.op} {self.threshold:g}"


def parse_condition(text: str) -> Condition:
    """Parse ``--where``.

    >>> parse_condition("fiscal_gap:panjin:2030 > 5e8").threshold
    500000000.0
    """
    m = _WHERE.match(text)
    number = None
    if m is not None:
        try:
            number = float(m["number"].replace("_", ""))
        except ValueError:
            number = None
    if m is None or number is None or not np.isfinite(number):
        raise StudyError(f"--where {text!r}: allowed form 'OUTPUT OP NUMBER' with OP one of "
                         f"{', '.join(OPERATORS)}, e.g. \"fiscal_gap:panjin:2030 > 5e8\"")
    return Condition(m["output"], m["op"], number)


@dataclass(frozen=True)
class Box:
    """A PRIM box: the restricted parameters' ranges and how well the box fits the cases."""

    limits: pd.DataFrame  # parameter, low, high (or values), qp (quasi-p value)
    coverage: float
    density: float
    mass: float
    runs: int

    def describe(self) -> str:
        """The box as printed by ``hukou-sim discover``."""
        lines = [f"coverage {self.coverage:.0%}, density {self.density:.0%}, "
                 f"mass {self.mass:.0%} ({self.runs} runs inside)"]
        for row in self.limits.itertuples(index=False):
            lines.append(f"    {row.parameter:<45} {row.range:<28} (quasi-p {row.qp:.2g})")
        return "\n".join(lines)


def _range(low: object, high: object) -> str:
    if isinstance(low, set | frozenset):
        return "one of " + ", ".join(sorted(map(str, low)))
    return f"{low:.4g} to {high:.4g}"


def find_boxes(x: pd.DataFrame, cases: np.ndarray, boxes: int = 1,
               min_density: float = MIN_DENSITY) -> list[Box]:
    """Up to ``boxes`` successive PRIM boxes; on each peeling trajectory the box chosen is
    the one with the highest coverage among those of density ≥ ``min_density`` (else the
    densest)."""
    import prim

    cases = np.asarray(cases, dtype=bool)
    if not cases.any() or cases.all():
        raise StudyError(f"{'no' if not cases.any() else 'every'} run meets the condition; "
                         "PRIM needs both kinds of runs (change the threshold)")
    x = x.astype({c: int for c in x.columns if x[c].dtype == bool})
    logging.getLogger("prim").setLevel(logging.WARNING)
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder = prim.Prim(x, cases, threshold=0.5, threshold_type=">")
        for _ in range(boxes):
            box = finder.find_box()
            if box is None:
                break
            trajectory = box.peeling_trajectory
            dense = trajectory[trajectory.density >= min_density]
            i = (dense.coverage.idxmax() if not dense.empty
                 else trajectory.density.idxmax())
            box.select(int(i))
            limits = box.limits
            table = pd.DataFrame({
                "parameter": limits.index.astype(str),
                "range": [_range(lo, hi) for lo, hi in zip(limits["min"], limits["max"],
                                                            strict=True)],
                "qp": limits["qp values"].astype(float)})
            stats = box.stats
            found.append(Box(table.reset_index(drop=True), float(stats["coverage"]),
                             float(stats["density"]), float(stats["mass"]),
                             int(round(float(stats["mass"]) * len(x)))))
    return found
