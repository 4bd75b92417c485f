"""The speed-ups evaluate fewer persons or use other numpy routines; each must equal the
plain computation it replaces, on a synthetic population where every case occurs."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from sim.areas import load_areas
from sim.pipeline import (
    demography,
    eligibility,
    fiscal,
    intention,
    migration,
    per_area,
    services,
    settlement,
)
from sim.population import (
    CHILD,
    HEAD,
    SPOUSE,
    HouseholdGroups,
    Persons,
    one_of,
    reuse_freed_memory,
)
from sim.scenario import load_defaults
from sim.synthesis import _ipu, choice_by_group, synthesize


@pytest.fixture(scope="module")
def world():
    state, _ = synthesize(0.005, np.random.default_rng(11))
    rng = np.random.default_rng(12)
    t = state.persons
    t.permit[:] = (t.hukou_area < 0) & (rng.random(len(t)) < 0.5)  # holders and not
    t.school_years_local[:] = rng.integers(0, 6, len(t))
    state.year = 2018
    return state, load_defaults().at(2018), rng


def test_entitlement_and_cost_of_some_rows_equal_those_rows_of_all(world):
    state, p, rng = world
    status = rng.integers(0, len(services.STATUSES), len(state.persons)).astype(np.int8)
    rows = np.flatnonzero(rng.random(len(state.persons)) < 0.3)
    conditions = services.permit_conditions_met(state, p)
    for service in services.SERVICES:
        whole = services.entitled(state, p, service, status, conditions)
        assert np.array_equal(services.entitled(state, p, service, status, conditions, rows),
                              whole[rows]), service
        use, unit = services.use_and_unit_cost(state, p, service, status, conditions)
        use_r, unit_r = services.use_and_unit_cost(state, p, service, status, conditions,
                                                   rows=rows)
        assert np.array_equal(use_r, use[rows]) and np.array_equal(unit_r, unit[rows])


def test_incremental_cost_summed_over_changed_persons_equals_the_difference(world):
    state, p, rng = world
    actual = services.status_of(state)
    before = actual.copy()
    moved = rng.random(len(before)) < 0.2
    before[moved] = rng.integers(0, len(services.STATUSES), moved.sum())
    flows = services.step(state, p)
    now, then = (services.costs_by_service(state, p, s) for s in (actual, before))
    assert any(flows["incremental_cost", s].any() for s in services.SERVICES)
    for s in services.SERVICES:
        np.testing.assert_allclose(flows["public_service_cost", s], now[s][1], rtol=1e-12)
    fast = {service: extra for service, _, _, extra in services._costs(state, p, actual, before)}
    for s in services.SERVICES:
        np.testing.assert_allclose(fast[s], now[s][1] - then[s][1], rtol=1e-9, atol=1e-6)


def test_hukou_gain_of_candidates_equals_their_rows_of_everyone(world):
    state, p, rng = world
    rows = np.flatnonzero(rng.random(len(state.persons)) < 0.1)
    assert np.array_equal(intention.hukou_gain(state, p, rows),
                          intention.hukou_gain(state, p)[rows])


def test_costs_by_cell_equal_the_sums_over_persons(world):
    """Users and cost per area summed per cell of persons alike equal the sums of the
    per-person rule (`use_and_unit_cost`), for every service, under any status vector."""
    state, p, rng = world
    status = rng.integers(0, len(services.STATUSES), len(state.persons)).astype(np.int8)
    t = state.persons
    inside = t.area >= 0
    n = int(t.area.max()) + 1
    by_cell = services.costs_by_service(state, p, status)
    for s in services.SERVICES:
        use, unit = services.use_and_unit_cost(state, p, s, status)
        users = use * t.weight
        cost = users * unit
        assert cost.sum() > 0 or s == "urban_infrastructure", s  # the test sees every service
        np.testing.assert_allclose(by_cell[s][0], np.bincount(
            t.area[inside], users[inside], n), rtol=1e-12, atol=1e-9, err_msg=s)
        np.testing.assert_allclose(by_cell[s][1], np.bincount(
            t.area[inside], cost[inside], n), rtol=1e-12, atol=1e-6, err_msg=s)


def test_hukou_gain_by_kind_of_person_equals_the_rule_per_person(world):
    """The household's mean share of services gained, from the 32 kinds of member, equals
    `services.entitled` evaluated on every person under urban hukou and now."""
    state, p, _ = world
    t = state.persons
    urban = np.full(len(t), services.LOCAL_URBAN, np.int8)
    now = services.status_of(state)
    gained, possible = np.zeros(len(t)), np.zeros(len(t))
    for s in services.SERVICES:
        as_urban = services.entitled(state, p, s, urban)
        gained += as_urban & ~services.entitled(state, p, s, now)
        possible += as_urban
    share = np.divide(gained, possible, out=np.zeros(len(t)), where=possible > 0)
    groups = state.by_household
    assert share.any() and not share.all()
    assert np.array_equal(intention.hukou_gain(state, p), groups.project(groups.mean(share)))


def test_spouse_index_by_household_tables_equals_a_loop_over_households():
    """Each household's last married head pairs with its first married spouse, as a plain
    loop over households finds, including households with two married heads or spouses
    (where pairing sorted couples had paired two heads with each other)."""
    rng = np.random.default_rng(3)
    persons = Persons.empty(3000)
    persons.household[:] = rng.integers(0, 900, len(persons))
    persons.role[:] = rng.choice([HEAD, SPOUSE, CHILD], len(persons), p=[0.4, 0.4, 0.2])
    persons.married[:] = rng.random(len(persons)) < 0.8
    plain = np.full(len(persons), -1)
    for h in np.unique(persons.household):
        rows = np.flatnonzero((persons.household == h) & persons.married)
        heads = rows[persons.role[rows] == HEAD]
        spouses = rows[persons.role[rows] == SPOUSE]
        if heads.size and spouses.size:
            plain[heads[-1]], plain[spouses[0]] = spouses[0], heads[-1]
    assert (plain >= 0).sum() > 500
    assert np.array_equal(demography.spouse_index(persons), plain)
    some = rng.choice(len(persons), 300, replace=False)  # the few: only their households
    assert np.array_equal(demography.spouse_index(persons, some), plain[some])
    assert demography.spouse_index(persons, some[:0]).tolist() == []


def test_household_max_and_min_in_another_dtype_than_the_values():
    persons = Persons.empty(5)
    persons.household[:] = [0, 0, 1, 2, 2]
    groups = HouseholdGroups(persons, 4)
    values = np.array([3, 7, -2, 5, 1], np.int16)
    assert groups.max(values, empty=0).tolist() == [7, 0, 5, 0]
    assert groups.min(values, empty=np.iinfo(np.int16).max).tolist() == [3, -2, 1, 32767]


@pytest.mark.parametrize("tolerance", [0.0, 1e-2, 1e-4])
def test_ipu_over_kinds_of_household_equals_ipu_over_households(tolerance):
    """The plain algorithm (every household its own row, both criteria checked every round)
    gives the same weights, stopping in the same round (the IPU sums its person targets
    again only once the groups are met)."""
    rng = np.random.default_rng(5)
    n = 400
    group, sizes = rng.integers(0, 6, n), rng.integers(1, 5, n)
    person_household = np.repeat(np.arange(n), sizes)
    age = rng.integers(0, 90, len(person_household))
    targets = [(age < 18, 300.0), (age >= 60, 150.0)]
    group_targets = np.bincount(group, weights=sizes * 1.3, minlength=6)
    w = np.ones(n)
    counts = [np.bincount(person_household[m], minlength=n) for m, _ in targets]
    achieved = np.bincount(group, weights=w * sizes, minlength=6)
    for _ in range(200):
        w *= np.divide(group_targets, achieved, out=np.ones(6), where=achieved > 0)[group]
        for (_, target), inc in zip(targets, counts, strict=True):
            w[inc > 0] *= target / (inc @ w)
        achieved = np.bincount(group, weights=w * sizes, minlength=6)
        worst = max(max(abs(inc @ w / t - 1) for (_, t), inc in zip(targets, counts,
                                                                      strict=True)),
                    np.max(np.abs(achieved / group_targets - 1)))
        if worst < tolerance:
            break
    np.testing.assert_allclose(_ipu(group, group_targets, sizes, person_household, targets,
                                    tolerance=tolerance), w, rtol=1e-9)


def test_one_of_equals_isin_on_code_columns():
    rng = np.random.default_rng(5)
    for dtype in (np.int8, np.int16, np.int64):
        values = rng.integers(-1, 6, 1000).astype(dtype)
        for codes in ((), (2,), (0, 3), (1, 2, 5), [4, -1]):
            assert np.array_equal(one_of(values, codes), np.isin(values, codes)), codes


def test_household_sizes_without_a_condition_equal_the_counted_condition():
    persons = Persons.empty(6)
    persons.household[:] = [0, 0, 2, 2, 2, 3]
    groups = HouseholdGroups(persons, 5)
    assert groups.count().tolist() == [2, 0, 3, 1, 0]
    assert np.array_equal(groups.count(), groups.count(np.ones(6, bool)))


def test_reusing_freed_memory_keeps_the_tables_as_they_were():
    """The allocator setting changes where arrays live, never their values; it reports
    whether it applied (glibc only)."""
    before = synthesize(0.002, np.random.default_rng(3))[0].persons
    applied = reuse_freed_memory()
    assert applied == (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
    after = synthesize(0.002, np.random.default_rng(3))[0].persons
    assert all(np.array_equal(a, b) for a, b in zip(before.columns().values(),
                                                    after.columns().values(), strict=True))


def test_per_area_of_few_rows_equals_the_sum_over_all_rows():
    """A sparse mask sums its rows only; a dense one weights every row: the same sums."""
    rng = np.random.default_rng(8)
    area = rng.integers(-1, 4, 5000).astype(np.int8)
    weights = rng.random(5000).astype(np.float32)
    for share in (0.0, 0.01, 0.49, 0.51, 1.0):
        values = rng.random(5000) < share
        plain = np.array([np.where(values & (area == a), weights, 0).astype(float).sum()
                          for a in range(3)])
        np.testing.assert_allclose(per_area(values, area, 3, weights), plain, rtol=1e-12)
        np.testing.assert_allclose(per_area(values, area, 3), [
            (values & (area == a)).sum() for a in range(3)])


def test_household_any_equals_a_count_above_zero():
    rng = np.random.default_rng(9)
    persons = Persons.empty(300)
    persons.household[:] = np.sort(rng.integers(0, 120, 300))
    persons.role[:] = rng.integers(0, 5, 300)
    groups = HouseholdGroups(persons, 130)
    for share in (0.0, 0.05, 0.7):
        condition = rng.random(300) < share
        for role in (None, HEAD, CHILD):
            assert np.array_equal(groups.any(condition, role),
                                  groups.count(condition, role) > 0)


def test_household_reductions_over_the_members_of_some_rows_equal_those_over_everyone():
    """A reduction over ``members(rows)`` (whole households) gives those households the
    values of the reduction over every person; ``project`` onto ``rows`` is its rows."""
    rng = np.random.default_rng(13)
    persons = Persons.empty(400)
    persons.household[:] = rng.integers(0, 150, 400)
    persons.role[:] = rng.integers(0, 5, 400)
    groups = HouseholdGroups(persons, 160)
    rows = rng.choice(400, 60, replace=False)
    members = groups.members(rows)
    assert np.array_equal(members, np.flatnonzero(np.isin(persons.household,
                                                          persons.household[rows])))
    values = rng.integers(0, 9, 400)
    condition = rng.random(400) < 0.4
    for role in (None, HEAD):
        pairs = [(groups.sum(values, role), groups.sum(values[members], role, members)),
                 (groups.mean(values, role), groups.mean(values[members], role, members)),
                 (groups.count(condition, role),
                  groups.count(condition[members], role, members)),
                 (groups.any(condition, role), groups.any(condition[members], role, members)),
                 (groups.max(values, role, empty=0),
                  groups.max(values[members], role, empty=0, rows=members))]
        for whole, part in pairs:
            assert np.array_equal(groups.project(part, rows), groups.project(whole)[rows])
            assert np.array_equal(groups.project(part, rows), groups.project(whole, rows))
    assert np.array_equal(groups.count(rows=members)[persons.household[rows]],
                          groups.count()[persons.household[rows]])


def test_members_of_chosen_households_equal_those_found_by_sorting_everyone():
    rng = np.random.default_rng(10)
    household = rng.integers(0, 40, 200)
    chosen = rng.choice(np.unique(household), size=25)  # repeats, as arrivals draw them
    order = np.argsort(household, kind="stable")
    plain = np.concatenate([order[household[order] == h] for h in chosen])
    assert np.array_equal(migration.members_of(household, chosen, 40), plain)


def test_intention_terms_of_some_rows_equal_those_rows_of_everyone(world):
    state, p, rng = world
    t = state.persons
    t.settled_channel[:] = np.where(rng.random(len(t)) < 0.2, 0, -1)  # some peers settled
    rows = np.flatnonzero(rng.random(len(t)) < 0.3)
    assert np.array_equal(intention.peer_share(state, rows), intention.peer_share(state)[rows])
    assert intention.peer_share(state, rows).any()
    assert np.array_equal(state.income_per_person(rows), state.income_per_person()[rows])
    assert np.array_equal(services.status_of(state, rows), services.status_of(state)[rows])


def test_applicants_chosen_by_rank_equal_those_chosen_by_sorting(world):
    """One per household with an eligible member: its head if eligible, else its first
    eligible member in row order (the rule `choose_applicants` had with a lexsort)."""
    state, _, rng = world
    t = state.persons
    eligible = rng.random(len(t)) < 0.4
    rows = np.flatnonzero(eligible)
    rows = rows[np.lexsort((rows, t.role[rows] != HEAD, t.household[rows]))]
    _, first = np.unique(t.household[rows], return_index=True)
    plain = np.zeros(len(t), bool)
    plain[rows[first]] = True
    assert np.array_equal(settlement.choose_applicants(state, eligible), plain)


def test_settlers_by_origin_over_the_settlers_equals_the_sum_over_everyone(world):
    state, p, rng = world
    t = state.persons
    t.settled_year[:] = np.where(rng.random(len(t)) < 0.2, rng.integers(2016, 2019, len(t)),
                                 -1)
    factors = p.fiscal.reward.phase_down
    settled = (t.settled_year != -1) & (t.area >= 0)
    weight = t.weight * fiscal.phase_down(state.year - t.settled_year.astype(int), factors)
    plain = np.array([[np.sum(weight, where=settled & (t.origin == o) & (t.hukou_area == a))
                       for o in range(3)] for a in range(len(load_areas()))])
    np.testing.assert_allclose(fiscal.settlers_by_origin(state, factors, len(load_areas())),
                               plain, rtol=1e-12)
    assert plain.sum() > 0


def test_born_to_settlers_over_settled_parents_equals_the_household_minimum(world):
    state, _, rng = world
    t = state.persons
    t.settled_year[:] = np.where(rng.random(len(t)) < 0.3, rng.integers(2000, 2019, len(t)),
                                 -1)
    groups = state.by_household
    parent = (t.settled_year != -1) & np.isin(t.role, (HEAD, SPOUSE))
    never = np.iinfo(np.int16).max
    first = groups.project(groups.min(np.where(parent, t.settled_year, never), empty=never))
    plain = ((t.role == CHILD) & (t.settled_year == -1) & (t.hukou_area != -1)
             & (state.year - t.age >= first))
    assert plain.any()
    assert np.array_equal(services.born_to_settlers(state), plain)


def test_couples_found_over_the_seekers_equal_those_found_over_everyone(world):
    """The same draws in the same order: the seekers of each area and sex, found from the
    seekers' rows or from masks over every person, are the same rows."""
    state, p, _ = world
    t, d = state.persons, p.demography
    rng = np.random.default_rng(4)
    seeking = rng.random(len(t)) < demography.partnering_rate(t, d)
    men, women = [], []
    for area in range(len(load_areas())):
        here = seeking & (t.area == area)
        m = rng.permutation(np.flatnonzero(here & (t.sex == 1)))
        w = rng.permutation(np.flatnonzero(here & (t.sex == 0)))
        pm, pw = demography.pair_by_age(t.age[m].astype(float), t.age[w].astype(float), d)
        men.append(m[pm])
        women.append(w[pw])
    men, women = np.concatenate(men), np.concatenate(women)
    apart = t.household[men] != t.household[women]
    fast = demography.find_couples(t, d, np.random.default_rng(4))
    assert len(fast[0]) > 0
    assert np.array_equal(fast[0], men[apart]) and np.array_equal(fast[1], women[apart])


def test_family_over_the_applicants_households_equals_the_rule_over_everyone(world):
    state, _, rng = world
    t = state.persons
    eligible = rng.random(len(t)) < 0.5
    applicants = settlement.choose_applicants(state, eligible)
    a = np.full(len(state.households), -1)
    a[t.household[applicants]] = np.flatnonzero(applicants)
    a = a[t.household]
    has = (a >= 0) & ~applicants
    a = np.where(has, a, 0)
    plain = (has & (t.area == t.area[a]) & (t.place == t.place[a])
             & eligibility._BRINGS[t.role[a], t.role]
             & ~(t.hukou_urban & (t.hukou_area == t.area)))
    assert plain.any()
    assert np.array_equal(eligibility.family(state, applicants), plain)
    rows = np.flatnonzero(eligible)
    assert np.array_equal(eligibility.landlord_consents(state, load_defaults().at(2018), rows),
                          eligibility.landlord_consents(state, load_defaults().at(2018))[rows])


def test_settlement_flows_over_the_movers_equal_the_sums_over_everyone(world):
    state, _, rng = world
    t = state.persons
    n = len(t)
    moves = rng.random(n) < 0.1
    channel = np.where(moves, rng.integers(0, 4, n), -1).astype(np.int8)
    place = np.where(moves, rng.integers(0, 6, n), -1).astype(np.int8)
    decision = settlement.Decision({}, moves, channel, place, moves)
    flows = settlement.flows(state, decision)
    n_areas = len(load_areas())
    w = t.weight.astype(float)
    for code in settlement.CHANNEL_ORDER:
        name = ("settlements", settlement.CHANNELS[code])
        np.testing.assert_array_equal(flows[name], per_area(channel == code, t.area, n_areas,
                                                            w))
    for code, name in enumerate(settlement.REGISTRATION_PLACES):
        np.testing.assert_array_equal(flows["settlements_by_registration_place", name],
                                      per_area(place == code, t.area, n_areas, w))


def _pair_by_age_loop(men_age, women_age, d):
    """The stack matching of `demography.pair_by_age` as the loop it replaces."""
    key = np.r_[np.asarray(men_age, float) - d.partnering.age_gap,
                np.asarray(women_age, float)]
    is_man = np.arange(key.size) < len(men_age)
    waiting, pairs = [], []
    for i in np.argsort(key, kind="stable").tolist():
        if waiting and is_man[waiting[-1]] != is_man[i]:
            j = waiting.pop()
            pairs.append((j, i) if is_man[j] else (i, j))
        else:
            waiting.append(i)
    man, woman = np.array(pairs, dtype=np.intp).reshape(-1, 2).T
    close = np.abs(key[man] - key[woman]) <= d.partnering.max_age_difference
    return man[close], woman[close] - len(men_age)


def test_pairing_by_age_without_a_loop_equals_the_stack_loop():
    """Ties of age, one sex only, nobody, long runs of one sex: the same pairs in the
    same order."""
    from types import SimpleNamespace as NS
    rng = np.random.default_rng(6)
    d = NS(partnering=NS(age_gap=2, max_age_difference=5))
    cases = [(np.array([], int), np.array([], int)), (np.array([30]), np.array([], int)),
             (np.array([], int), np.array([25, 26])), (np.arange(20, 40), np.full(7, 22))]
    cases += [tuple(rng.integers(18, 60, rng.integers(0, 200)) for _ in "mw")
              for _ in range(200)]
    paired = 0
    for men, women in cases:
        fast, plain = demography.pair_by_age(men, women, d), _pair_by_age_loop(men, women, d)
        assert np.array_equal(fast[0], plain[0]) and np.array_equal(fast[1], plain[1])
        paired += len(plain[0])
    assert paired > 1000


def test_destinations_passed_in_equal_those_counted_again(world):
    state, _, _ = world
    origin = np.resize(np.arange(len(load_areas())), 300).astype(np.int8)
    to_city = np.arange(300) % 3 == 0
    counted = migration.choose_destinations(origin, to_city, state, np.random.default_rng(2))
    passed = migration.choose_destinations(origin, to_city, state, np.random.default_rng(2),
                                           migration.urban_destinations(state))
    assert all(np.array_equal(a, b) for a, b in zip(counted, passed, strict=True))


@pytest.mark.parametrize("residence, insurance", [(2, 1), (0, 0), (5, 3), (10, 10)])
def test_permit_conditions_by_any_member_equal_the_household_maximum(world, residence,
                                                                     insurance):
    """The best-placed member meets the years conditions exactly when some member does:
    the scatter equals the rule as written (the household's maximum of each count), for
    everyone and for whole households given as rows, thresholds from none met to all."""
    state, _, rng = world
    p = load_defaults().with_overrides({
        "policy.residence_permit.conditional_residence_years": residence,
        "policy.residence_permit.conditional_insurance_years": insurance}).at(2018)
    t, groups = state.persons, state.by_household
    insured_years = np.where(t.insured, t.insurance_years, 0)
    plain = ((groups.project(groups.max(t.residence_years, empty=0)) >= residence)
             & (groups.project(groups.max(insured_years, empty=0)) >= insurance))
    met = services.permit_conditions_met(state, p)
    assert np.array_equal(met, plain)
    assert 0 < met.sum() < len(t) or residence in (0, 10)
    members = groups.members(rng.choice(len(t), 200, replace=False))
    assert np.array_equal(services.permit_conditions_met(state, p, members), plain[members])


@pytest.mark.parametrize("share", [0.0, 0.01, 0.3, 0.7, 1.0])
def test_weighted_count_of_a_rare_condition_equals_the_dense_sum_exactly(share):
    """Summing only the persons meeting a rare condition drops zero terms: bit-identical
    to the dense weighted sum, whatever the condition's frequency."""
    rng = np.random.default_rng(3)
    cell = rng.integers(0, 500, 20_000)
    weight = rng.random(20_000) * 10
    condition = rng.random(20_000) < share
    assert np.array_equal(services._weighted_count(cell, weight, condition, 500),
                          np.bincount(cell, weights=weight * condition, minlength=500))
    one = float(np.float32(1 / 0.03))  # agents of one weight: counted, times the weight
    same = np.full(20_000, one)
    assert (services._weighted_count(cell, one, condition, 500).tobytes()
            == np.bincount(cell, weights=same * condition, minlength=500).tobytes())


def test_a_rare_condition_of_use_costs_its_persons_only(world):
    """The one-time infrastructure cost (enabled here; its condition, settling this year,
    is rare) per cell equals the per-person rule; disabled, it is zero everywhere."""
    state, _, rng = world
    t = state.persons
    settled = t.settled_year.copy()
    try:
        t.settled_year[rng.random(len(t)) < 0.02] = state.year
        for enabled in (True, False):
            p = load_defaults().with_overrides(
                {"services.urban_infrastructure.enabled": enabled}).at(state.year)
            users, cost = services.costs_by_service(state, p)["urban_infrastructure"]
            use, unit = services.use_and_unit_cost(state, p, "urban_infrastructure",
                                                   services.status_of(state))
            inside = t.area >= 0
            plain = np.bincount(t.area[inside], (use * t.weight * unit)[inside],
                                len(load_areas()))
            assert (cost.sum() > 0) == enabled
            np.testing.assert_allclose(cost, plain, rtol=1e-12)
    finally:
        t.settled_year[:] = settled


def test_income_moved_by_marriage_over_the_partners_equals_the_sums_over_everyone(world):
    """Households' income after couples move in together: the partners' shares summed over
    the partners only equal the plain rule's sums over every person (zeros elsewhere),
    bit for bit, with many couples sharing households."""
    import copy

    state, p, _ = world
    state = copy.deepcopy(state)
    t, groups = state.persons, state.by_household
    rng = np.random.default_rng(8)
    singles = rng.permutation(np.flatnonzero(~t.married & (t.age >= 18)))
    men = singles[t.sex[singles] == 1]
    women = singles[t.sex[singles] == 0]
    k = min(len(men), len(women)) // 2
    men, women = men[:k], women[:k]
    # the plain rule, over every person
    income = state.income_per_person()
    size = groups.project(groups.count())
    head = t.role == HEAD
    into_hers = (head[women] & (size[women] > 1)) | (head[women] & ~head[men])
    into_his = ~into_hers & head[men]
    new = ~into_hers & ~into_his
    joiner = np.r_[men[into_hers], women[into_his]]
    host = np.r_[women[into_hers], men[into_his]]
    leaving, arriving = np.zeros(len(t)), np.zeros(len(t))
    leaving[np.r_[joiner, men[new], women[new]]] = income[np.r_[joiner, men[new], women[new]]]
    arriving[host] = income[joiner]
    plain = (state.households.income - groups.sum(leaving) + groups.sum(arriving)
             ).astype(np.float32)
    created = demography.move_in_together(state, men, women, p.demography, rng)
    assert k > 100 and into_hers.any() and into_his.any() and new.any()
    assert np.array_equal(state.households.income, plain)
    assert np.array_equal(created.income, (income[men[new]] + income[women[new]]
                                           ).astype(np.float32))


def test_move_propensity_of_some_rows_equals_those_rows_of_everyone(world):
    state, p, rng = world
    rows = np.flatnonzero(rng.random(len(state.persons)) < 0.2)
    assert np.array_equal(migration.move_propensity(state.persons, p.migration, rows),
                          migration.move_propensity(state.persons, p.migration)[rows])


def test_tables_grown_in_their_spare_room_equal_tables_copied_whole():
    """Removals and additions as in a run (take, then extend twice, then take ...), appended
    into the columns' spare room, give the tables that copying every column gives; a table
    extended again after its successor was made gets its own copy and changes nothing."""
    rng = np.random.default_rng(9)

    def some(n: int) -> Persons:
        t = Persons.empty(n)
        for values in t.columns().values():
            values[:] = rng.integers(0, 100, n).astype(values.dtype)
        return t

    def plain(t: Persons) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in t.columns().items()}

    fast = some(3000)
    copied = plain(fast)
    for _ in range(6):
        keep = rng.random(len(fast)) < 0.9
        fast = fast.take(keep)
        copied = {k: v[keep] for k, v in copied.items()}
        for _ in range(2):
            new = some(int(rng.integers(0, 400)))
            before, fast = fast, fast.extend(new)
            copied = {k: np.concatenate([v, getattr(new, k)]) for k, v in copied.items()}
            assert all(np.array_equal(getattr(fast, k), v) for k, v in copied.items())
            assert all(getattr(fast, k).dtype == v for k, v in Persons.schema.items())
    assert np.shares_memory(before.age, fast.age)  # the last addition was made in place
    kept = plain(fast)
    other = before.extend(some(50))  # not the latest table of its room: copied
    assert not np.shares_memory(other.age, fast.age)
    assert all(np.array_equal(getattr(fast, k), v) for k, v in kept.items())
    with pytest.raises(IndexError):
        fast.take(np.ones(len(fast) - 1, bool))
    with pytest.raises(IndexError):
        fast.take(np.array([len(fast)]))


def test_status_by_table_equals_the_rule_by_conditions(world):
    """Status looked up from the three yes/no columns equals the rule as written (local by
    registration, others by permit), for everyone and for some rows; the counterfactual
    given the status equals the one computing it, and leaves the status as it was."""
    state, _, rng = world
    t = state.persons
    local = t.hukou_area != -1
    plain = np.where(local, np.where(t.hukou_urban, services.LOCAL_URBAN, services.LOCAL_RURAL),
                     np.where(t.permit, services.PERMIT, services.NO_PERMIT)).astype(np.int8)
    assert len(np.unique(plain)) == len(services.STATUSES)
    status = services.status_of(state)
    assert status.dtype == np.int8 and np.array_equal(status, plain)
    rows = np.flatnonzero(rng.random(len(t)) < 0.3)
    assert np.array_equal(services.status_of(state, rows), plain[rows])
    assert np.array_equal(services.counterfactual_status(state, status),
                          services.counterfactual_status(state))
    assert np.array_equal(status, plain)


def test_intention_of_some_rows_equals_those_rows_of_everyone(world):
    """The chance to intend, with the school-children term over the rows' households only,
    equals everyone's at those rows, bit for bit."""
    from sim.pipeline.life_course import pupils

    state, p, rng = world
    t = state.persons
    rows = np.flatnonzero(rng.random(len(t)) < 0.2)
    assert np.array_equal(pupils(t, p, rows), pupils(t, p)[rows])
    children = pupils(t, p) & (t.hukou_area == -1) & (
        t.school_years_local < p.policy.residence_permit.exam_schooling_years)
    assert np.isin(t.household[rows], t.household[children]).any()
    assert np.array_equal(intention.probability(state, p, rows),
                          intention.probability(state, p)[rows])


def test_eligibility_combined_in_place_equals_the_and_of_every_condition(world):
    """Every channel's verdict, AND-ed in one array, equals the reduction over the stacked
    conditions; each person's reasons are the conditions they fail; the conditions (some
    are the persons' own columns) are left as they were."""
    state, p, _ = world
    for code, e in eligibility.evaluate(state, p).items():
        kept = {name: ok.copy() for name, ok in e.holds.items()}
        assert np.array_equal(e.passed, np.logical_and.reduce(list(kept.values()))), code
        for row in range(0, len(state.persons), 97):
            assert e.reasons(row) == [n for n, ok in kept.items() if not ok[row]]
        assert all(np.array_equal(e.holds[n], ok) for n, ok in kept.items())
    assert any(e.passed.any() for e in eligibility.evaluate(state, p).values())


def test_counters_advanced_by_adding_yes_no_columns_count_one_year_each(world):
    """Years of residence, of insurance and of schooling here advance by one exactly for
    those the rule names (in Panjin; contributing after this year's changes; pupils in
    Panjin), as the masked increments did."""
    import copy

    from sim.pipeline import life_course

    state, p, _ = world
    state = copy.deepcopy(state)
    t = state.persons
    before = {c: getattr(t, c).copy() for c in ("residence_years", "insurance_years",
                                                 "school_years_local")}
    inside = t.area >= 0
    pupils = life_course.pupils(t, p) & inside
    life_course.step(state, p, np.random.default_rng(3))
    assert np.array_equal(t.residence_years, before["residence_years"] + inside)
    assert np.array_equal(t.insurance_years, before["insurance_years"] + t.insured)
    assert np.array_equal(t.school_years_local[inside],
                          (before["school_years_local"] + pupils)[inside])
    assert t.insured.any() and pupils.any() and (~inside).any()


def test_service_names_checked_once_still_refuse_an_unknown_name_every_time(world):
    """The check of the entitlement lists is cached per list: a list with an unknown
    service is refused at every call, a valid one passes at every call."""
    state, p, _ = world
    for _ in range(2):
        with pytest.raises(ValueError, match=r"unknown service\(s\) \['schooling'\]"):
            services._check_names(["public_culture", "schooling"], "x")
        services._check_names(list(services.SERVICES), "x")
    assert services.entitled(state, p, "public_culture").any()


def test_departures_with_the_rate_of_the_migrant_heads_only_equal_the_rule_over_everyone(
        world):
    """The migrant households that leave, from the departure rate of their heads only,
    are those of the rule over every person (same draws)."""
    import copy

    state, p, _ = world
    state = copy.deepcopy(state)
    t, m = state.persons, p.migration
    draw_migrant, draw_local = np.random.default_rng(6).random((2, len(t)))
    rate = np.where(t.residence_years > m.settled_migrant_years,
                    m.migrant_departure_rate * m.settled_departure_factor,
                    m.migrant_departure_rate)
    groups = state.by_household
    leaves = (groups.project(groups.any(state.migrant_heads() & (draw_migrant < rate)))
              & (t.hukou_area == -1))
    young = (t.age >= m.young_mover_ages[0]) & (t.age < m.young_mover_ages[1])
    local = ((t.hukou_area >= 0) & (t.area >= 0) & ~leaves & young
             & (draw_local < m.local_departure_rate))
    n_areas = len(load_areas())
    just_left = migration.departures(state, m, np.random.default_rng(6), {}, n_areas,
                                     np.zeros(len(t), bool))
    assert leaves.any() and local.any()
    assert np.array_equal(just_left, leaves | local)


@pytest.mark.parametrize("year", [2017, 2018])
def test_urban_villages_of_a_year_without_conversions_equal_counting_nobody(world, year):
    """A year without scheduled conversions returns the flows of the full step (zeros)
    without counting the villages; a year with some converts the same villages whether
    the village table is passed in or counted again."""
    import copy

    from sim.pipeline import urban_village as uv

    state, _, _ = world
    p = load_defaults().at(year)
    fast_state, plain_state = copy.deepcopy(state), copy.deepcopy(state)
    fast = uv.step(fast_state, p, np.random.default_rng(2))
    rng = np.random.default_rng(2)
    ids, areas, _ = uv.village_areas(plain_state)
    chosen = uv.choose_villages(plain_state, p, rng)
    converts = uv.convert(plain_state, chosen, p.year)
    n_areas = len(load_areas())
    plain = {("settlements", "urban_village"): per_area(
                 converts, plain_state.persons.hukou_area, n_areas,
                 plain_state.persons.weight.astype(float)),
             ("villages_converted", ""): np.bincount(areas[np.isin(ids, chosen)],
                                                     minlength=n_areas).astype(float)}
    assert fast.keys() == plain.keys()
    assert all(np.array_equal(fast[k], plain[k]) for k in plain)
    assert (len(chosen) > 0) == (year == 2017)
    assert all(np.array_equal(a, b) for a, b in zip(
        fast_state.persons.columns().values(), plain_state.persons.columns().values(),
        strict=True))


def test_movers_channel_and_place_over_the_movers_equal_the_rule_over_everyone(world):
    """Each mover's channel and registration place, taken from their applicant over the
    movers only, equal the rule's arrays over every person (NONE for the others)."""
    import copy

    state, p, _ = world
    state = copy.deepcopy(state)
    t = state.persons
    d = settlement.decide(state, p, np.random.default_rng(1))
    best = settlement.first_channel(d.eligibility)
    own_channel = np.where(d.applicant, best, -1).astype(np.int8)
    own_place = settlement.registration_place(state, p, own_channel)
    brings = np.array([eligibility.BRINGS_FAMILY.get(c, False)
                       for c in range(len(settlement.CHANNELS))])
    with_family = d.applicant & brings[np.maximum(own_channel, 0)]
    kin = eligibility.family(state, with_family)
    applicant_row = np.zeros(len(state.households), np.int64)
    applicant_row[t.household[with_family]] = np.flatnonzero(with_family)
    source = np.where(kin, applicant_row[t.household], np.arange(len(t)))
    assert d.applicant.any() and kin.any()
    assert np.array_equal(d.channel, np.where(d.applicant | kin, own_channel[source], -1))
    assert np.array_equal(d.registration, np.where(d.applicant | kin, own_place[source], -1))
    assert d.channel.dtype == d.registration.dtype == np.int8


def test_per_area_with_the_area_index_given_equals_computing_it():
    """The stocks pass their area index in: the same sums, bit for bit, sparse or dense,
    as the dense weighted sum over every row."""
    from sim.pipeline import area_index, sum_by_area

    rng = np.random.default_rng(12)
    area = rng.integers(-1, 4, 5000).astype(np.int8)
    weights = rng.random(5000)
    index = area_index(area, 3)
    for share in (0.0, 0.05, 0.49, 0.51, 1.0):
        values = rng.random(5000) < share
        dense = sum_by_area(index, np.where(values, weights, 0.0), 3)
        assert np.array_equal(per_area(values, area, 3, weights, index), dense)
        assert np.array_equal(per_area(values, area, 3, weights), dense)


def test_fit_report_over_the_residents_columns_equals_the_sums_over_everyone(world):
    from sim.synthesis import base_year_parameters, fit_report, load_base

    state = world[0]
    base = load_base()
    rows = {(r["marginal"], r["key"]): r for r in
            fit_report(state, base, base_year_parameters(base)).rows}
    t = state.persons
    inside = t.area >= 0
    w = t.weight.astype(float)
    total = w[inside].sum()
    households = len(np.unique(t.household[inside]))  # the plain count: sorting
    assert rows["households", "persons_per_household"]["synthesized"] == round(
        inside.sum() / households, 3)
    assert rows["sex", "male_share"]["synthesized"] == round(
        w[inside & (t.sex == 1)].sum() / total, 3)
    young = inside & (t.age >= 0) & (t.age < 15)
    assert rows["age_share", "0-14"]["synthesized"] == round(w[young].sum() / total, 3)


@pytest.mark.parametrize("scale", [0.005, 0.03, 0.7])
def test_stocks_counted_times_a_uniform_weight_equal_the_weighted_sums_bit_for_bit(world,
                                                                                   scale):
    from sim.pipeline import indicators, uniform_weight

    t = world[0].persons.take(np.arange(len(world[0].persons)))
    t.weight[:] = 1 / scale  # 200, and weights with every bit of a float32 in use
    t.age[::7] = 60  # the old, the urban and the holders in every area
    t.hukou_urban[::5] = ~t.hukou_urban[::5]
    n = len(load_areas().ids)
    weight = uniform_weight(t.weight)
    assert weight == float(np.float32(1 / scale))
    counted = indicators._counted_stocks(t, n, weight)
    weighted = indicators._weighted_stocks(t, n)
    assert counted.keys() == weighted.keys()
    for key, values in weighted.items():
        assert counted[key].tobytes() == values.tobytes(), key
    t.weight[3] = 1.0  # one agent of another weight: the weighted sums
    assert uniform_weight(t.weight) is None


@pytest.mark.parametrize("share", [0.01, 0.4, 0.9])
def test_per_area_of_the_float32_weights_equals_their_float64_copy_bit_for_bit(share):
    rng = np.random.default_rng(5)
    area = rng.integers(-1, 5, 4000).astype(np.int8)
    weight = (rng.random(4000) * 50).astype(np.float32)  # every bit of a float32 in use
    values = rng.random(4000) < share
    for v in (values, rng.random(4000)):  # rare and dense yes/no, and numbers
        assert (per_area(v, area, 5, weight).tobytes()
                == per_area(v, area, 5, weight.astype(np.float64)).tobytes())
    weight[:] = 1 / 0.03  # one weight: many rows are counted, times the weight
    assert (per_area(values, area, 5, weight).tobytes()
            == per_area(values, area, 5, weight.astype(np.float64)).tobytes())
    assert (per_area(values, area.astype(np.int64), 5).tobytes()  # summed: not a byte code
            == per_area(values, area, 5).tobytes())


def test_fiscal_pupils_counted_once_equal_those_counted_by_each_use(world):
    state, p, _ = world
    n = len(load_areas().ids)
    pupils = fiscal.migrant_pupils(state, p, n)
    assert np.array_equal(fiscal.citizenization_reward(state, p, n, pupils),
                          fiscal.citizenization_reward(state, p, n))
    assert np.array_equal(fiscal.linkage_factors(state, p, n, pupils),
                          fiscal.linkage_factors(state, p, n))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_choice_by_group_counted_per_share_equals_the_table_of_draws(seed):
    rng = np.random.default_rng(seed)
    table = rng.random((4, 6)) * (rng.random((4, 6)) < 0.7)  # zero shares too
    table[:, 0] += 0.01  # no empty row
    group = rng.integers(0, 4, 5000)
    cum = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    u = np.random.default_rng(seed).random(len(group))  # the draws choice_by_group makes
    plain = np.minimum((u[:, None] > cum[group]).sum(axis=1), table.shape[1] - 1)
    drawn = choice_by_group(np.random.default_rng(seed), table, group)
    assert drawn.dtype == plain.dtype and np.array_equal(drawn, plain)
    with pytest.raises(IndexError, match="outside the table"):
        choice_by_group(rng, table, np.array([0, 4]))


def test_candidate_members_by_slot_are_in_household_order_with_their_roles():
    """The candidates' members read off the table of member slots: household by household,
    head first, then spouse, children and parents, each with its slot's role."""
    from sim.synthesis import (
        _candidate_households,
        base_year_parameters,
        load_base,
        resident_cells,
    )

    base = load_base()
    cand = _candidate_households(base, resident_cells(base), 0.002,
                                 base_year_parameters(base).demography,
                                 np.random.default_rng(4))
    household, role = cand["household"], cand["role"]
    assert household.dtype == np.intp and role.dtype == np.int8
    assert (np.diff(household) >= 0).all()
    first = np.r_[True, household[1:] != household[:-1]]
    assert (role[first] == HEAD).all() and (np.bincount(household[role == HEAD]) == 1).all()
    same = ~first[1:]  # the slots' order is the roles' codes' (head 0 ... parent 3)
    assert (role[1:][same] >= role[:-1][same]).all() and set(np.unique(role)) <= {0, 1, 2, 3}
    assert (cand["age"][role == HEAD] >= 0).all() and cand["age"].dtype == np.int16


@pytest.mark.parametrize("weight", [200.0, 1 / 0.03, None])
def test_urban_destinations_counted_equal_the_weighted_sums_bit_for_bit(world, weight):
    from sim.population import VILLAGE, State

    state = world[0]
    t = state.persons.take(np.arange(len(state.persons)))
    t.weight[:] = (np.random.default_rng(3).random(len(t)) * 40 if weight is None
                   else weight)  # None: unequal weights, summed
    s = State(t, state.households, state.year, state.next_person_id, state.next_household_id)
    n = len(load_areas().ids)
    inside = np.flatnonzero((t.area >= 0) & (t.place != VILLAGE) & (t.place >= 0))
    plain = np.bincount(t.area[inside].astype(np.intp) * 3 + t.place[inside],
                        weights=t.weight[inside], minlength=3 * n).reshape(n, 3)
    city, town = migration.urban_destinations(s)
    assert city.tobytes() == plain[:, 0].tobytes() and town.tobytes() == plain[:, 1:].tobytes()


def test_counts_by_area_leave_out_the_outside_and_refuse_keys_past_a_byte():
    from sim.pipeline import counts_by_area

    area = np.array([-1, 0, 2, 2, 3], np.int8)  # 3: past the areas, left out as outside
    code = np.array([1, 2, 0, 2, 1], np.uint8)
    assert counts_by_area(area, code, 3, 3).tolist() == [[0, 0, 1], [0, 0, 0], [1, 0, 1]]
    assert counts_by_area(area, code, 4, 63).shape == (63, 4)
    assert counts_by_area(area, code, 4, 64) is None  # 4 × 65 keys: the weighted sums


def test_chances_of_some_rows_or_looked_up_equal_the_rule_over_everyone(world):
    from sim.pipeline import residence_permit

    state, p, rng = world
    t = state.persons
    rows = np.flatnonzero(rng.random(len(t)) < 0.3)
    d = p.demography
    share = demography.married_share_by_group(t, t.sex == 0, d)
    assert np.array_equal(demography.birth_probability(t.age[rows], d, share),
                          demography.birth_probability(t.age, d, share)[rows])
    b = p.behaviour.permit
    groups = state.by_household
    factor = np.where(groups.project(groups.any(residence_permit.pupils(t, p))),
                      b.school_children_factor, 1.0)
    chance = residence_permit.take_up_probability(state, p)
    assert chance.tobytes() == np.minimum(b.take_up * factor, 1.0).tobytes()


def test_hukou_snapshot_of_rows_in_id_order_equals_the_sorted_snapshot(world):
    t = world[0].persons.take(np.arange(len(world[0].persons)))
    assert (np.diff(t.id) > 0).all()  # a run's rows are in id order
    shuffled = t.take(np.random.default_rng(2).permutation(len(t)))
    for persons in (t, shuffled):
        snap = eligibility.HukouSnapshot.of(persons)
        order = np.argsort(persons.id)
        urban = persons.hukou_urban & (persons.hukou_area >= 0)
        assert np.array_equal(snap.ids, persons.id[order])
        assert np.array_equal(snap.urban_in_panjin, urban[order])
        assert np.array_equal(snap.hukou_area, persons.hukou_area[order])
        assert not np.shares_memory(snap.hukou_area, persons.hukou_area)


def test_past_retirement_age_by_sex_equals_the_comparison_with_the_retirement_ages(world):
    from sim.pipeline import life_course

    state, p, _ = world
    t = state.persons.take(np.arange(len(state.persons)))
    w = p.life_course.work
    t.age[:] = np.random.default_rng(8).integers(40, 70, len(t))  # around both ages
    plain = t.age >= np.where(t.sex == 1, w.retirement_age_men, w.retirement_age_women)
    fast = life_course.past_retirement_age(t, w)
    assert plain.any() and (~plain).any() and np.array_equal(fast, plain)


def test_rules_evaluated_together_equal_each_rule_alone(world):
    state, p, _ = world
    together = eligibility.evaluate(state, p)
    for code, rule in eligibility.RULES.items():
        alone = rule(state, p)
        assert np.array_equal(together[code].passed, alone.passed), code
        assert together[code].holds.keys() == alone.holds.keys()
        for name, holds in alone.holds.items():
            assert np.array_equal(together[code].holds[name], holds), (code, name)


def test_renting_with_stable_job_per_household_equals_the_rule_per_person(world):
    from sim.population import EMPLOYED, RENT, URBAN_PLACES

    state, p, _ = world
    t = state.persons
    groups = state.by_household
    plain = (groups.project(groups.any((t.employment == EMPLOYED) & t.labour_contract))
             & (state.household_of("tenure") == RENT) & one_of(t.place, URBAN_PLACES))
    fast = services.CONDITIONS["housing_security"](state, p.services.housing_security)
    assert plain.any() and np.array_equal(fast, plain)


def test_means_test_per_household_equals_the_comparison_per_person(world):
    from sim.population import VILLAGE

    state, p, _ = world
    ps = p.services.minimum_living_allowance
    t = state.persons
    for urban, rural in ((ps.income_standard, ps.income_standard_rural), (9000.0, 4000.0)):
        standard = np.where(t.place == VILLAGE, rural, urban)
        plain = state.income_per_person() < standard
        fast = services.CONDITIONS["minimum_living_allowance"](
            state, type("Standards", (), {"income_standard": urban,
                                          "income_standard_rural": rural}))
        assert plain.any() and (~plain).any() and np.array_equal(fast, plain)
