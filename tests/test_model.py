"""Accounting identities and reproducibility of whole runs (DESIGN.md, standards)."""

import numpy as np
import pandas as pd
import pytest

from sim.model import UrbanizationModel
from sim.runner import run_replicates
from tests.conftest import small_scenario


def _wide(df: pd.DataFrame) -> pd.DataFrame:
    """One column per indicator, summed over categories (arrivals by origin …)."""
    return df.groupby(["area", "year", "indicator"]).value.sum().unstack()


IDENTITIES = {
    # stock: (inflows, outflows)
    "resident_population": (("births", "arrivals"), ("deaths", "departures")),
    "registered_population": (("registered_births", "hukou_moves_in"),
                              ("registered_deaths", "hukou_moves_out")),
}


@pytest.mark.parametrize("stock", IDENTITIES)
def test_population_identity_every_year_and_area(small_run, stock):
    """Change = births − deaths + arrivals − departures (resident), and
    = births − deaths + hukou moves in − out (registered), DESIGN.md standards."""
    _, df = small_run
    inflows, outflows = IDENTITIES[stock]
    w = _wide(df)
    for area, g in w.groupby(level="area"):
        g = g.droplevel("area").sort_index()
        change = g[stock].diff().iloc[1:]
        flows = (sum(g[f] for f in inflows) - sum(g[f] for f in outflows)).iloc[1:]
        assert np.allclose(change, flows, rtol=0, atol=1e-6), area


def test_city_row_is_the_sum_of_areas(small_run):
    model, df = small_run
    counts = df[~df.indicator.str.endswith("_rate")]
    city = counts[counts.area == "panjin"].set_index(["year", "indicator", "category"]).value
    areas = counts[counts.area != "panjin"].groupby(["year", "indicator", "category"]).value.sum()
    assert np.allclose(city.sort_index(), areas.sort_index())


def test_urbanization_rates_are_ratios_of_their_parts(small_run):
    _, df = small_run
    w = _wide(df)
    assert np.allclose(w.resident_urbanization_rate,
                       w.resident_urban_population / w.resident_population)
    assert np.allclose(w.registered_urbanization_rate,
                       w.registered_urban_population / w.registered_population)


def test_every_year_and_area_present(small_run):
    model, df = small_run
    assert sorted(df.year.unique()) == list(range(2015, 2023))
    assert set(df.area) == {*model.areas.ids, "panjin"}


def test_same_seed_identical_indicators():
    s = small_scenario(**{"run.end_year": 2018, "run.scale": 0.005})
    frames = []
    for _ in range(2):
        m = UrbanizationModel(s)
        m.run()
        frames.append(m.indicators().to_csv(index=False))
    assert frames[0] == frames[1]


def test_different_seed_different_indicators():
    s = small_scenario(**{"run.end_year": 2018, "run.scale": 0.005})
    a, b = UrbanizationModel(s, seed=1), UrbanizationModel(s, seed=2)
    a.run()
    b.run()
    assert not a.indicators().equals(b.indicators())


def test_replicates_independent_and_same_with_any_worker_count():
    s = small_scenario(**{"run.end_year": 2017, "run.scale": 0.003, "run.replicates": 2})
    one, _ = run_replicates(s, workers=1)
    two, _ = run_replicates(s, workers=2)
    assert one.to_csv(index=False) == two.to_csv(index=False)
    r0 = one[one.replicate == 0].value.to_numpy()
    r1 = one[one.replicate == 1].value.to_numpy()
    assert not np.array_equal(r0, r1)


def test_person_ids_stay_unique(small_run):
    model, _ = small_run
    ids = model.state.persons.id
    assert len(np.unique(ids)) == len(ids)
    assert ids.max() < model.state.next_person_id
