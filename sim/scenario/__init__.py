"""Scenario files: TOML, ``extends``, dated parameters, strict validation.

Defaults live in ``sim/data/parameters/*.toml``; the file stem is the first
part of every dotted name (``policy.toml`` holds ``policy.*``). A scenario file
sets ``name``, ``description``, ``extends``, ``lang`` and overrides parameters
by dotted path, with plain values or dated tables ``{2016 = 1, 2019 = 3}`` (in
force from that year on; before the first year the value it overrides applies).
A dated *default* also applies before its first year. Every problem raises
`ScenarioError`, naming the file and the field.

The package has one module per concern:

- `sim.scenario.schema`: what a parameter declares (type, bounds, list shape) and
  the checks of values, alone and across parameters;
- `sim.scenario.loading`: reading the defaults, the calibrated overlay and scenario
  files with their ``extends`` chain;
- `sim.scenario.resolved`: the resolved `Scenario` and ``Scenario.at(year)``;
- `sim.scenario.params`: the read-only `Params` / `YearParameters` views;
- `sim.scenario.errors`: `ScenarioError` and the wording of messages.

Example
-------
>>> s = load_defaults()
>>> s.run.start_year, s.at(2016).run.start_year
(2015, 2015)
>>> s.with_overrides({"run.seed": 7}).run.seed
7
"""

from sim.scenario.errors import ScenarioError
from sim.scenario.loading import DEFAULTS_DIR, load_defaults, load_scenario
from sim.scenario.params import Params, YearParameters
from sim.scenario.resolved import OVERRIDES, RunSettings, Scenario
from sim.scenario.schema import YEAR_MAX, YEAR_MIN

__all__ = ["DEFAULTS_DIR", "OVERRIDES", "YEAR_MAX", "YEAR_MIN", "Params",
           "RunSettings", "Scenario", "ScenarioError", "YearParameters", "load_defaults",
           "load_scenario"]
