"""The default run's headline figures, pinned, so that a speed-up cannot change them silently.

The default scenario (``scenarios/reform_2015.toml``, its own seed) at scale 0.01 over
2015–2025: registered and resident population, persons settled by channel, the incremental
cost of citizenization and the linkage transfer (人地钱挂钩) to Panjin. An optimization may
change them by float rounding only (relative 1e-9).

The pins are model output, not truth: a change to the model's behaviour (base population,
calibration, rules) changes them on purpose. Whoever lands such a change regenerates them
and says so in the commit message, after checking the changes printed are the intended ones:

    python tests/test_headline_pins.py --update

(writes ``tests/headline_pins.json`` and prints every figure that moved, old → new).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINS = Path(__file__).with_name("headline_pins.json")
SCENARIO = "scenarios/reform_2015.toml"
SCALE, END_YEAR = 0.01, 2025
YEARS = (2015, 2020, 2025)
RELATIVE = 1e-9  # float rounding: summing in another order, fewer operations


def headline_figures() -> dict[str, float]:
    """The pinned figures of the default run at ``SCALE`` up to ``END_YEAR``, by name."""
    from sim.areas import load_areas
    from sim.model import UrbanizationModel
    from sim.scenario import load_scenario

    scenario = load_scenario(ROOT / SCENARIO).with_overrides(
        {"run.scale": SCALE, "run.end_year": END_YEAR})
    model = UrbanizationModel(scenario)
    model.run()
    frame = model.indicators()
    city = frame[frame.area == load_areas().city_id]

    def total(indicator: str, category: str | None = None, years=None) -> float:
        rows = city[city.indicator == indicator]
        if category is not None:
            rows = rows[rows.category == category]
        if years is not None:
            rows = rows[rows.year.isin(years)]
        return float(rows.value.sum())

    out: dict[str, float] = {}
    for year in YEARS:
        for indicator in ("registered_population", "resident_population"):
            out[f"{indicator} {year}"] = total(indicator, "", [year])
    for channel in sorted(city[city.indicator == "settlements"].category.unique()):
        out[f"settlements {channel} 2016-{END_YEAR}"] = total(
            "settlements", channel, range(2016, END_YEAR + 1))
    for year in YEARS[1:]:
        out[f"incremental_cost {year}"] = total("incremental_cost", years=[year])
        out[f"transfer_payment linkage {year}"] = total("transfer_payment", "linkage", [year])
    return out


def test_headline_figures_match_the_pins():
    pinned = json.loads(PINS.read_text(encoding="utf-8"))["figures"]
    now = headline_figures()
    assert sorted(now) == sorted(pinned), "figures added or removed: run with --update"
    moved = {k: (pinned[k], now[k]) for k in pinned
             if not math.isclose(now[k], pinned[k], rel_tol=RELATIVE, abs_tol=1e-6)}
    assert not moved, (f"headline figures moved (pinned, now): {moved}; if the model was "
                       "meant to change, run: python tests/test_headline_pins.py --update")


def update() -> None:
    """Rewrite the pins from the current model and print what moved."""
    old = json.loads(PINS.read_text(encoding="utf-8"))["figures"] if PINS.exists() else {}
    now = headline_figures()
    for name, value in now.items():
        if name not in old or not math.isclose(value, old[name], rel_tol=RELATIVE,
                                               abs_tol=1e-6):
            print(f"{name}: {old.get(name)} -> {value}")
    PINS.write_text(json.dumps({
        "how": "python tests/test_headline_pins.py --update",
        "scenario": SCENARIO, "scale": SCALE, "end_year": END_YEAR, "figures": now,
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {PINS.relative_to(ROOT)} ({len(now)} figures)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_headline_pins.py --update")
    sys.path.insert(0, str(ROOT))
    update()
