"""Urban-village conversion (clause 十五): sim.pipeline.urban_village."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sim.areas import load_areas
from sim.pipeline import urban_village as uv
from sim.population import (
    COUNTY_SEAT_TOWN,
    DESIGNATED_TOWN,
    TOWN,
    URBAN_DISTRICT,
    URBAN_VILLAGE,
    VILLAGE,
)
from tests.factories import make_state, params


def villages_state():
    """Area 0 (has urban districts): villages 0–3, two members each, one at home and one in a
    town; area 3 (a county): village 10; one urban-district resident of area 0."""
    village = [0, 0, 1, 1, 2, 2, 3, 3, 10, -1]
    state = make_state(len(village), village=village, place=VILLAGE)
    p = state.persons
    p.place[1::2] = DESIGNATED_TOWN
    p.hukou_area[8] = p.area[8] = 3
    p.place[9] = URBAN_DISTRICT
    p.hukou_urban[9] = True
    return state


def schedule(*rows):
    return params(2017, **{"policy.urban_village.schedule": [
        {"year": y, "area": a, "share": s} for y, a, s in rows]})


def test_village_areas():
    ids, areas, rural = uv.village_areas(villages_state())
    assert ids.tolist() == [0, 1, 2, 3, 10]
    assert areas.tolist() == [0, 0, 0, 0, 3]
    assert rural.all()


def test_schedule_share_of_the_areas_villages_in_its_year_only():
    state = villages_state()
    p = schedule((2017, "shuangtaizi", 0.5), (2018, "panshan", 1.0))
    chosen = uv.choose_villages(state, p, np.random.default_rng(0))
    assert len(chosen) == 2 and set(chosen) <= {0, 1, 2, 3}


def test_past_schedule_rows_do_not_apply_again():
    """A 2017 row converts nothing in 2018 or later; a 2018 row nothing in 2017."""
    rows = {"policy.urban_village.schedule": [
        {"year": 2017, "area": "shuangtaizi", "share": 1.0}]}
    for year in (2018, 2020):
        assert len(uv.choose_villages(villages_state(), params(year, **rows),
                                      np.random.default_rng(0))) == 0
    assert len(uv.choose_villages(villages_state(), params(2017, **rows),
                                  np.random.default_rng(0))) == 4
    later = schedule((2018, "shuangtaizi", 1.0))
    assert len(uv.choose_villages(villages_state(), later, np.random.default_rng(0))) == 0


def test_converted_villages_are_not_chosen_again():
    state = villages_state()
    p = schedule((2017, "shuangtaizi", 0.5))
    rng = np.random.default_rng(0)
    first = uv.choose_villages(state, p, rng)
    uv.convert(state, first, 2017)
    second = uv.choose_villages(state, p, rng)
    assert len(second) == 2 and not set(first) & set(second)
    uv.convert(state, second, 2017)
    assert len(uv.choose_villages(state, p, rng)) == 0


def test_conversion_makes_the_whole_village_urban_and_keeps_land():
    state = villages_state()
    h = state.households
    h.contract_land[:] = h.homestead[:] = h.collective_income[:] = True
    converts = uv.convert(state, np.array([0, 10]), 2017)
    p = state.persons
    assert np.flatnonzero(converts).tolist() == [0, 1, 8]
    assert p.hukou_urban[[0, 1, 8]].all() and not p.hukou_urban[2:8].any()
    assert (p.settled_channel[[0, 1, 8]] == URBAN_VILLAGE).all()
    assert (p.settled_year[[0, 1, 8]] == 2017).all()
    # members at home join the urban place; those living in a town stay where they are
    assert p.place[0] == URBAN_DISTRICT and p.place[1] == DESIGNATED_TOWN
    assert p.place[8] == COUNTY_SEAT_TOWN  # area 3 has no urban districts
    assert h.contract_land.all() and h.homestead.all() and h.collective_income.all()


def test_earlier_settlers_keep_their_channel():
    state = villages_state()
    p = state.persons
    p.hukou_urban[1] = True
    p.settled_channel[1] = TOWN
    uv.convert(state, np.array([0]), 2017)
    assert p.settled_channel[1] == TOWN


def test_step_flows_by_village_area():
    state = villages_state()
    state.persons.weight[:] = 100.0
    p = schedule((2017, "shuangtaizi", 0.25), (2017, "panshan", 1.0))
    flows = uv.step(state, p, np.random.default_rng(0))
    assert flows[("settlements", "urban_village")].tolist() == [200.0, 0, 0, 100.0, 0]
    assert flows[("villages_converted", "")].tolist() == [1, 0, 0, 1, 0]


def test_a_year_without_a_schedule_row_reports_zero_flows_for_every_area():
    """In a year no schedule row names (2017, the only row being for 2018), nobody
    converts: the step reports the same two flows as in a conversion year, zero in each of
    the five areas."""
    state = villages_state()
    urban = state.persons.hukou_urban.copy()
    flows = uv.step(state, schedule((2018, "panshan", 1.0)), np.random.default_rng(0))
    assert {k: v.tolist() for k, v in flows.items()} == {
        ("settlements", "urban_village"): [0.0] * 5, ("villages_converted", ""): [0.0] * 5}
    assert (state.persons.hukou_urban == urban).all()


def test_default_schedule_names_real_areas():
    areas = load_areas()
    rows = params().policy.urban_village.schedule
    assert rows
    for row in rows:
        areas.index(row.area)
        assert 0 < row.share <= 1


@pytest.mark.parametrize("row, message", [
    ('{ year = 2017, area = "dawaa", share = 0.1 }', "unknown area 'dawaa'; did you mean 'dawa'"),
    ('{ year = 2017, area = "dawa", share = 1.5 }', "1.5 is out of range; allowed: 0.0 <= value"),
])
def test_schedule_rows_are_checked_against_areas_and_shares(tmp_path, row, message):
    from sim.scenario import ScenarioError, load_scenario

    path = tmp_path / "s.toml"
    path.write_text(f"[policy.urban_village]\nschedule = [{row}]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(path)


def test_village_area_ignores_members_who_settled_elsewhere():
    """Issue 9: a village's area was taken from its first member, who may have settled in
    another area through clause 五; the village was then converted under that area's row."""
    state = villages_state()
    p = state.persons
    # the first member of village 10 (a Panshan village) settled in Shuangtaizi's districts
    p.village[0] = 10
    p.area[0] = p.hukou_area[0] = 0
    p.hukou_urban[0] = True
    p.settled_channel[0] = TOWN
    ids, areas, _ = uv.village_areas(state)
    assert dict(zip(ids.tolist(), areas.tolist(), strict=True))[10] == 3
    converted = uv.choose_villages(state, schedule((2017, "shuangtaizi", 1.0)),
                                   np.random.default_rng(0))
    assert 10 not in converted.tolist()


def test_rows_of_other_years_do_not_stop_later_rows():
    """A 2016 row listed first does not keep the 2017 row from converting Panshan's village."""
    p = schedule((2016, "shuangtaizi", 1.0), (2017, "panshan", 1.0))
    assert uv.choose_villages(villages_state(), p, np.random.default_rng(0)).tolist() == [10]


def test_two_rows_of_one_area_in_one_year_choose_distinct_villages():
    """Area 0 has four villages: a row of 1/4 then a row of all of them in 2017 choose each
    village once (the second row chooses among the three the first left), four in all."""
    p = schedule((2017, "shuangtaizi", 0.25), (2017, "shuangtaizi", 1.0))
    for seed in range(5):
        chosen = uv.choose_villages(villages_state(), p, np.random.default_rng(seed))
        assert sorted(chosen.tolist()) == [0, 1, 2, 3]


def test_village_areas_keep_converted_villages_and_know_none_without_members():
    """Village 10, the highest id, converted: still listed, no longer rural. A state without
    registered village members has no village, and a year without a row chooses none (ids
    stay integers)."""
    state = villages_state()
    p = state.persons
    p.hukou_urban[8] = True
    p.settled_channel[8] = URBAN_VILLAGE
    ids, areas, rural = uv.village_areas(state)
    assert ids.tolist() == [0, 1, 2, 3, 10] and areas.tolist() == [0, 0, 0, 0, 3]
    assert rural.tolist() == [True, True, True, True, False]
    ids, areas, rural = uv.village_areas(make_state(2, village=-1))
    assert ids.tolist() == areas.tolist() == rural.tolist() == []
    none = uv.choose_villages(villages_state(), schedule((2018, "panshan", 1.0)),
                              np.random.default_rng(0))
    assert none.tolist() == [] and none.dtype.kind == "i"
