"""A resolved scenario: the defaults, the files of its ``extends`` chain and overrides,
as one value per parameter over time (`Scenario`); ``Scenario.at(year)`` is step 1 of
the yearly pipeline (the policy in force).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.scenario.calibrated import SETTING, CalibrationSet, calibration_set, use_calibration
from sim.scenario.errors import ScenarioError, show, unknown
from sim.scenario.params import YearParameters, plain, wrap
from sim.scenario.schema import (
    YEAR_MIN,
    Spec,
    Timeline,
    check_bands,
    check_years,
    first_year,
    native,
    parse_value,
)

OVERRIDES = "<overrides>"  # the "file" named for values given to `Scenario.with_overrides`
RUN_FIELDS = ("start_year", "end_year", "seed", "scale", "replicates")


@dataclass(frozen=True)
class RunSettings:
    """The run settings (``run.*``), which are never dated."""

    start_year: int
    end_year: int
    seed: int
    scale: float
    replicates: int


@dataclass(frozen=True, eq=False)
class Scenario:
    """A resolved scenario: defaults, then each file of the ``extends`` chain, then overrides.

    >>> from sim.scenario import load_defaults
    >>> s = load_defaults()
    >>> s.at(2020)["run.end_year"], s.resolved()["run.seed"]["overridden_by"]
    (2035, None)
    """

    name: str
    description: str
    path: Path | None
    lang: str
    run: RunSettings
    chain: tuple[str, ...]  # this file, the file it extends, … (as named in messages)
    _specs: dict[str, Spec] = field(repr=False)
    _values: dict[str, Timeline] = field(repr=False)
    _origin: dict[str, str | None] = field(repr=False)
    _cache: dict[int, YearParameters] = field(default_factory=dict, repr=False)

    def parameter_names(self) -> tuple[str, ...]:
        """Every dotted parameter name, in defaults-file order."""
        return tuple(self._specs)

    def bounds(self, name: str) -> tuple[float | None, float | None]:
        """The declared ``min`` and ``max`` of a parameter (None where open).

        >>> from sim.scenario import load_defaults
        >>> load_defaults().bounds("run.replicates")
        (1, 1000)
        """
        spec = self._specs[name]
        return spec.min, spec.max

    @property
    def calibration(self) -> CalibrationSet | None:
        """The calibration set whose fitted values this scenario uses (``run.calibration``);
        None with a custom defaults folder that has no such setting.

        >>> from sim.scenario import load_defaults
        >>> load_defaults().calibration.name
        'forecast'
        """
        if SETTING not in self._values:
            return None
        return calibration_set(self._values[SETTING].at(YEAR_MIN))

    def at(self, year: int) -> YearParameters:
        """The parameters in force in `year` (cached per year).

        >>> from sim.scenario import load_defaults
        >>> load_defaults().at(2030).run.scale
        1.0
        """
        year = operator.index(year)
        if year not in self._cache:
            root: dict[str, Any] = {}
            for name, tl in self._values.items():
                *groups, leaf = name.split(".")
                node = root
                for g in groups:
                    node = node.setdefault(g, {})
                node[leaf] = tl.at(year)
            self._cache[year] = YearParameters(wrap(root), year)
        return self._cache[year]

    def resolved(self) -> dict[str, dict[str, Any]]:
        """JSON-able ``{dotted name: {"value", "unit", "source"|"assumption", "doc",
        "overridden_by"}}``; a value that changes after ``run.start_year`` is given as
        ``{"2015": v0, "2019": v1}``.

        >>> import json
        >>> from sim.scenario import load_defaults
        >>> json.dumps(load_defaults().resolved()["run.scale"]["value"])
        '1.0'
        """
        out = {}
        for name, spec in self._specs.items():
            out[name] = {"value": plain(self._values[name].folded(self.run.start_year)),
                         "unit": spec.unit, spec.basis: spec.basis_text, "doc": spec.doc,
                         "overridden_by": self._origin.get(name)}
        return out

    def with_overrides(self, overrides: dict[str, object]) -> Scenario:
        """A copy with parameters set by dotted name (plain or dated ``{2016: 1}``), validated
        like a scenario file; errors name the file ``<overrides>``.

        >>> from sim.scenario import load_defaults
        >>> load_defaults().with_overrides({"run.scale": 0.1, "run.end_year": 2020}).run.scale
        0.1
        """
        values, origin = dict(self._values), dict(self._origin)
        for name, v in overrides.items():
            spec = self._specs.get(name)
            if spec is None:
                raise ScenarioError(OVERRIDES, name,
                                    unknown(name, list(self._specs), "parameter"))
            timeline = parse_value(spec, native(v), OVERRIDES)
            check_years(name, timeline, OVERRIDES, first_year(self._specs))
            values[name] = values[name].overlaid(timeline)
            origin[name] = OVERRIDES
        return build_scenario(self.name, self.description, self.path, self.lang, self.chain,
                              self._specs, values, origin, OVERRIDES)

    def describe(self, verbose: bool = False) -> str:
        """A human-readable table of the resolved parameters (``hukou-sim check --show``);
        `verbose` adds each parameter's doc and source or assumption."""
        r = self.run
        head = [f"scenario   {self.name}" + (f"  ({' extends '.join(self.chain)})"
                                             if self.chain else ""),
                f"run        {r.start_year}-{r.end_year}, seed {r.seed}, scale {r.scale}, "
                f"replicates {r.replicates}, lang {self.lang}"]
        if self.description:
            head.insert(1, f"           {self.description}")
        rows = [("parameter", "value", "unit", "set by", "basis")]
        for name, e in self.resolved().items():
            v = e["value"]
            shown = show(v, 40)
            if self._specs[name].type == "schedule" and isinstance(v, list):
                shown = f"schedule, {len(v)} row{'' if len(v) == 1 else 's'}"
            by = "default" if e["overridden_by"] is None else Path(e["overridden_by"]).name
            unit = e["unit"] if len(e["unit"]) <= 24 else e["unit"][:23] + "…"
            rows.append((name, shown, unit, by, self._specs[name].basis))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [*head, ""]
        for row in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            spec = self._specs.get(row[0])
            if verbose and spec is not None:
                lines.append(f"    {spec.doc}" + (f" [{spec.unit}]" if spec.unit else ""))
                lines.append(f"    {spec.basis}: {spec.basis_text}")
        return "\n".join(lines)


def build_scenario(name: str, description: str, path: Path | None, lang: str, chain: tuple,
                   specs: dict[str, Spec], values: dict[str, Timeline],
                   origin: dict[str, str | None], file: str) -> Scenario:
    """A `Scenario` from resolved values, after the checks that involve several
    parameters; `file` is the file (or ``<overrides>``) whose values were applied last."""
    use_calibration(specs, values, origin)
    run = RunSettings(**{f: values[f"run.{f}"].at(YEAR_MIN) for f in RUN_FIELDS})
    if run.end_year < run.start_year:
        raise ScenarioError(file, "run.end_year", f"{run.end_year} is before run.start_year "
                                                  f"{run.start_year}; allowed: end_year >= "
                                                  "start_year")
    check_bands(specs, values, origin, file)
    return Scenario(name, description, path, lang, run, chain, specs, values, origin)
