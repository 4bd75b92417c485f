"""Administrative divisions (撤县设区): Dawa's county seat joins the urban districts in 2016."""

from __future__ import annotations

from sim.areas import load_areas
from sim.pipeline import divisions
from sim.pipeline.eligibility import town, urban_district
from sim.population import COUNTY_SEAT_TOWN, DESIGNATED_TOWN, URBAN_DISTRICT
from tests.factories import make_state, params


def test_dawa_county_seat_becomes_urban_district_in_2016_only():
    dawa = load_areas().index("dawa")
    panshan = load_areas().index("panshan")
    state = make_state(3, area=[dawa, dawa, panshan],
                       place=[COUNTY_SEAT_TOWN, DESIGNATED_TOWN, COUNTY_SEAT_TOWN])
    divisions.step(state, params(2015))
    assert state.persons.place.tolist() == [COUNTY_SEAT_TOWN, DESIGNATED_TOWN, COUNTY_SEAT_TOWN]
    divisions.step(state, params(2016))
    # Dawa's seat is now urban district; its other towns and Panshan's seat stay towns
    assert state.persons.place.tolist() == [URBAN_DISTRICT, DESIGNATED_TOWN, COUNTY_SEAT_TOWN]


def test_after_2016_dawa_seat_residents_settle_under_clause_5_not_4():
    dawa = load_areas().index("dawa")
    state = make_state(1, area=[dawa], place=[COUNTY_SEAT_TOWN])
    divisions.step(state, params(2016))
    p = params(2017)
    assert not town(state, p).passed[0]
    assert "lives_in_urban_district" not in urban_district(state, p).reasons(0)


def test_becoming_districts_are_area_codes_of_the_area_columns_dtype():
    """Dawa in 2016, nobody in 2015 or 2017; the codes come in the compact dtype of the
    area columns (issue 10's memory contract: code columns stay int8, and comparing them
    with codes of another dtype would upcast a whole column)."""
    dawa = load_areas().index("dawa")
    area = make_state(1).persons.area
    for year, expected in ((2015, []), (2016, [dawa]), (2017, [])):
        codes = divisions.becoming_districts(year)
        assert codes.tolist() == expected
        assert codes.dtype == area.dtype
