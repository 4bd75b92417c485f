"""hukou-sim: agent-based scenarios of the Panjin hukou reform (盘政发〔2015〕53号).

``import sim`` is all an analyst needs (the names load on first use, so the import is
cheap):

- `load_scenario` — read and validate a scenario file;
- `run` — run a scenario's replicates: a `Results` (indicators, summary, validation,
  manifest, charts; ``to_folder`` writes the run folder ``hukou-sim run`` writes);
- `Results` — also ``Results.from_folder(path)`` for a finished run;
- `compare` — scenarios side by side (and the comparison report);
- `explain` — why a person can or cannot settle in a year;
- `sweep`, `sensitivity`, `discover` — studies over a sweep file's parameter ranges: the
  tidy table of every run, Morris/Sobol' indices (SALib), PRIM boxes;
- `UrbanizationModel` — the Mesa model itself, one step per year, with its agents readable
  (``persons_frame``, ``households_frame``, ``explain``, ``trace``).

>>> import sim
>>> res = sim.run("scenarios/reform_2015.toml", scale=0.002, end=2016, seed=1)
>>> res.city("resident_population").index.tolist()
[2015, 2016]
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "load_scenario": "sim.scenario",
    "run": "sim.api",
    "Results": "sim.results",
    "compare": "sim.api",
    "explain": "sim.api",
    "UrbanizationModel": "sim.model",
    "sweep": "sim.study.studies",
    "sensitivity": "sim.study.studies",
    "discover": "sim.study.studies",
}
__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    """The public names, imported when first used (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
