"""Calibration sets: which fit of the free behavioural parameters a scenario uses.

`hukou-sim calibrate` fits the free behavioural parameters to observed figures (ABC-SMC,
`sim.calibration`). The package keeps two fits, the ``[sets]`` of
``sim/data/calibration.toml``:

- ``forecast`` (the default): fitted to every observed figure the model can produce, up to
  2023 — the parameters of forecasts;
- ``backtest``: fitted to the figures up to 2020 only, so that the figures of 2021–2023
  test its forecast out of sample.

Each set keeps its posterior sample and its calibrated overlay (the best-fitting posterior member in
scenario format). The overlay of the set named by the run setting ``run.calibration`` sits
on top of the package defaults; a scenario's own values sit on top of it. A validation
table counts an observation as a calibration target when its year is at most the set's
``through``, otherwise as out of sample.

Example
-------
>>> s = calibration_set("backtest")
>>> s.through, s.posterior.name
(2020, 'posterior_backtest.csv')
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sim.scenario.errors import ScenarioError, unknown
from sim.scenario.schema import YEAR_MIN, Spec, Timeline, parse_value

DATA_DIR = Path(__file__).parent.parent / "data"
CONFIG = "calibration.toml"
SETTING = "run.calibration"


@dataclass(frozen=True)
class CalibrationSet:
    """One calibration kept with the package: the last year of the figures it was fitted
    to, and its files."""

    name: str
    through: int
    calibrated: Path  # the overlay: the point estimate and the survey intercept
    posterior: Path  # the weighted posterior sample
    doc: str

    @property
    def label(self) -> str:
        """How messages and a scenario's origins name the overlay file."""
        return f"sim/data/{self.calibrated.name}"


def calibration_sets() -> dict[str, CalibrationSet]:
    """Every calibration set of ``sim/data/calibration.toml``, by name."""
    path = DATA_DIR / CONFIG
    return _sets(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _sets(path: Path, _stamp: int) -> dict[str, CalibrationSet]:
    file = f"sim/data/{path.name}"
    sets = tomllib.loads(path.read_text("utf-8")).get("sets", {})
    if not sets:
        raise ScenarioError(file, "sets", "no calibration set defined")
    out = {}
    for name, table in sets.items():
        for key in ("through", "calibrated", "posterior", "doc"):
            if key not in table:
                raise ScenarioError(file, f"sets.{name}.{key}", "missing")
        out[name] = CalibrationSet(name, int(table["through"]), path.parent / table["calibrated"],
                                   path.parent / table["posterior"], table["doc"])
    return out


def calibration_set(name: str) -> CalibrationSet:
    """The calibration set called ``name``; an unknown name is refused with the known ones."""
    sets = calibration_sets()
    if name not in sets:
        raise ScenarioError(SETTING, None, unknown(name, list(sets), "calibration set"))
    return sets[name]


def overlay(chosen: CalibrationSet, specs: dict[str, Spec]) -> dict[str, Timeline]:
    """The calibrated values of a set, parsed against the parameter specs."""
    path = chosen.calibrated
    if not path.is_file():
        raise ScenarioError(chosen.label, None, f"calibration set {chosen.name!r} has no "
                            f"calibrated values; run `hukou-sim calibrate --calibration "
                            f"{chosen.name}`")
    raw = _flat(path, path.stat().st_mtime_ns)
    unknown_names = sorted(set(raw) - set(specs))
    if unknown_names:
        raise ScenarioError(chosen.label, unknown_names[0], "not a parameter")
    return {name: parse_value(specs[name], v, chosen.label) for name, v in raw.items()}


@lru_cache(maxsize=8)
def _flat(path: Path, _stamp: int) -> dict[str, Any]:
    def walk(tree: dict, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, v in tree.items():
            name = f"{prefix}.{key}" if prefix else key
            out.update(walk(v, name) if isinstance(v, dict) else {name: v})
        return out

    data = tomllib.loads(path.read_text("utf-8"))
    data.pop("name", None)
    return walk(data, "")


def use_calibration(specs: dict[str, Spec], values: dict[str, Timeline],
                    origin: dict[str, str | None]) -> None:
    """Swap, in place, values that came from another set's overlay for those of the set
    named by ``run.calibration`` (the defaults carry the default set's overlay; a scenario
    or an override that names another set replaces them here, and values set by a
    scenario stay). Nothing to do without the setting (a custom defaults folder)."""
    if SETTING not in specs:
        return
    sets = calibration_sets()
    chosen = calibration_set(values[SETTING].at(YEAR_MIN))
    others = {s.label for s in sets.values() if s.name != chosen.name}
    stale = [name for name, o in origin.items() if o in others]
    if not stale:
        return
    fresh = overlay(chosen, specs)
    for name in stale:
        if name not in fresh:
            raise ScenarioError(chosen.label, name, f"missing: the other calibration sets "
                                f"set it ({origin[name]})")
        values[name], origin[name] = fresh[name], chosen.label
