"""Cross-field validation of scenarios (issue 16): what ``check`` refuses because ``run``
would compute it wrongly, and a property test that what it accepts runs.

The first tests use the model's own parameter files (the shapes the pipeline relies
on are declared there: ``per``, ``bands_of``, ``increasing``, ``sums_to`` ...).
"""

from __future__ import annotations

import math
import shutil

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.model import UrbanizationModel
from sim.scenario import DEFAULTS_DIR, ScenarioError, load_defaults, load_scenario
from sim.scenario.loading import MAX_EXTENDS
from tests.test_model import IDENTITIES, _wide

CE = "[services.compulsory_education]\n"

REFUSED = [
    # (scenario text, field named, words of the problem)
    (CE + "payer_shares = [0.5, 0.5]", "services.compulsory_education.payer_shares",
     "one value per payer (central, province, city, county): 4 values, got 2"),
    (CE + "payer_shares = [0.5, 0.5, 0.2, 0.1]", "services.compulsory_education.payer_shares",
     "add up to 1"),
    (CE + "unit_cost = [10000.0]", "services.compulsory_education.unit_cost",
     "one value per band of services.compulsory_education.ages: 3 edges"),
    (CE + "ages = []", "services.compulsory_education.ages", "at least 2 values, got 0"),
    (CE + "ages = [12, 6, 15]", "services.compulsory_education.ages",
     "larger than the one before"),
    (CE + "ages = [6, 6, 15]", "services.compulsory_education.ages",
     "larger than the one before"),
    ("[migration]\neducation_factor = [1.0, 2.0]", "migration.education_factor",
     "one value per education (primary, junior_secondary"),
    ("[life_course.education]\nfinal_shares = [0.5, 0.5]", "life_course.education.final_shares",
     "6 values, got 2"),
    ("[life_course.education]\nfinal_shares = [0, 0, 0, 0, 0, 0]",
     "life_course.education.final_shares", "must not be all zero"),
    ("[demography.fertility]\nage_shape = [0, 0, 0, 0, 0, 0, 0]",
     "demography.fertility.age_shape", "must not be all zero"),
    ("[demography.fertility]\nage_shape = [0.5, 0.5]", "demography.fertility.age_shape",
     "needs 7 values, got 2"),
    # a dated change of the edges must come with costs of the new length
    (CE + "ages = {2020 = [6, 12, 15, 18]}", "services.compulsory_education.ages",
     "(from 2020): 4 edges"),
    (CE + "payer_shares = {2018 = [1, 0, 0, 0], 2020 = [0.5, 0.5, 0, 0.5]}",
     "services.compulsory_education.payer_shares.2020", "add up to 1"),
    ("[policy.urban_district]\ninsurance_years = {2016.5 = 2}",
     "policy.urban_district.insurance_years", "dated key 2016.5 is not a year"),
    ("[policy.urban_district]\ninsurance_years = {2010 = 2}",
     "policy.urban_district.insurance_years.2010", "before the model's first year 2015"),
    # found by the property test below: lists the model indexes or takes logarithms of
    ("[behaviour.intention]\nschool_years_by_education = [9.0, 9.0, 9.0, 9.0, 9.0]",
     "behaviour.intention.school_years_by_education", "one value per education"),
    ("[demography.mortality]\nrates_female = [0.0, 1.0]", "demography.mortality.rates_female[0]",
     "out of range; allowed: 1e-06 <= value"),
    ("[demography.partnering]\nrate_male = []", "demography.partnering.rate_male",
     "at least 1 value, got 0"),
]


@pytest.mark.parametrize(("text", "field", "words"), REFUSED,
                         ids=[f"r{i}" for i in range(len(REFUSED))])
def test_check_refuses_what_run_would_compute_wrongly(tmp_path, capsys, text, field, words):
    path = tmp_path / "s.toml"
    path.write_text(text + "\n", encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"hukou-sim: error: {path}: {field}: "), err
    assert words in err, err


def test_consistent_changes_together_are_accepted(tmp_path):
    """New age bands with a unit cost per band, dated together, pass."""
    path = tmp_path / "s.toml"
    path.write_text(CE + "ages = {2020 = [6, 12, 15, 18]}\n"
                    "unit_cost = {2020 = [10000.0, 14000.0, 15000.0]}\n", encoding="utf-8")
    s = load_scenario(path)
    assert len(s.at(2019).services.compulsory_education.unit_cost) == 2
    assert len(s.at(2020).services.compulsory_education.unit_cost) == 3


def test_overrides_are_checked_like_files():
    with pytest.raises(ScenarioError, match="add up to 1"):
        load_defaults().with_overrides(
            {"services.compulsory_education.payer_shares": [0.1, 0.1, 0.1, 0.1]})
    with pytest.raises(ScenarioError, match="before the model's first year"):
        load_defaults().with_overrides({"policy.urban_district.insurance_years": {2014: 1}})


@pytest.mark.parametrize(("data", "words"), [
    (b"\xef\xbb\xbfname = 'x'\n", "byte-order mark (BOM); save the file as UTF-8 without BOM"),
    ('name = "盘锦"\n'.encode("gbk"), "is not UTF-8 text (byte 0xc5 on line 1; GBK"),
    (b"# ok\n# ok\nname = '\xff'\n", "byte 0xff on line 3"),
])
def test_other_encodings_get_the_utf8_hint(tmp_path, capsys, data, words):
    path = tmp_path / "s.toml"
    path.write_bytes(data)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "save the file as UTF-8" in err and len(err.splitlines()) == 1


def test_extends_chain_depth_is_limited(tmp_path, capsys):
    """A chain of 1,000 files is refused in one line (it used to hit RecursionError)."""
    n = 1000
    for i in range(n):
        (tmp_path / f"s{i}.toml").write_text(f'extends = "s{i + 1}.toml"\n' if i < n - 1
                                             else "", encoding="utf-8")
    assert main(["check", str(tmp_path / "s0.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"extends: the extends chain is longer than {MAX_EXTENDS} files" in err
    assert err.startswith(f"hukou-sim: error: {tmp_path / 's0.toml'}: ")
    short = tmp_path / f"s{n - MAX_EXTENDS}.toml"  # exactly MAX_EXTENDS files
    assert main(["check", str(short)]) == 0


SPEC = 'value = [1.0, 2.0]\ntype = "list[float]"\ndoc = "d"\nassumption = "a"\n'
BROKEN_SPECS = [
    ('[x]\n' + SPEC + 'per = "payers"', "grp.x.per", "did you mean 'payer'"),
    ('[x]\n' + SPEC + 'bands_of = "edges"', "grp.x.bands_of", "unknown list of band edges"),
    ('[x]\n' + SPEC + 'sums_to = 1', "grp.x.value", "add up to 1"),
    ('[x]\n' + SPEC + 'length = 3', "grp.x.value", "needs 3 values, got 2"),
    ('[x]\n' + SPEC + 'min_length = 0', "grp.x.min_length", "at least 1"),
    ('[x]\n' + SPEC + 'increasing = "yes"', "grp.x.increasing", "true or false"),
    ('[x]\n' + SPEC.replace("[1.0, 2.0]", "['a']").replace("list[float]", "list[str]")
     + "sums_to = 1", "grp.x.sums_to", "not allowed for type 'list[str]'"),
    ('[x]\nvalue = 1\ntype = "int"\ndoc = "d"\nassumption = "a"\nlength = 2', "grp.x.length",
     "not allowed for type 'int'"),
    ('[x]\n' + SPEC + "[y]\n" + SPEC + 'bands_of = "x"',
     "grp.y", "2 edges [1.0, 2.0] make 1 band, but grp.y has 2 values [1.0, 2.0]"),
    ('[x]\n' + SPEC.replace("[1.0, 2.0]", "{2010 = [1.0]}"), "grp.x.2010",
     "before the model's first year 2015"),
]


@pytest.mark.parametrize(("text", "field", "words"), BROKEN_SPECS,
                         ids=[f"s{i}" for i in range(len(BROKEN_SPECS))])
def test_broken_shape_declarations_name_the_defaults_file(tmp_path, text, field, words):
    shutil.copy(DEFAULTS_DIR / "run.toml", tmp_path / "run.toml")
    (tmp_path / "grp.toml").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load_defaults(tmp_path)
    assert str(e.value).startswith(f"{tmp_path / 'grp.toml'}: {field}: "), str(e.value)
    assert words in str(e.value)


# ------------------------------------------------------------ property: accepted → runs

DEFAULTS = load_defaults()
SPECS = DEFAULTS._specs
FREE = [n for n in SPECS if not n.startswith("run.")]  # the run is fixed below


def _number(spec, current: float, integer: bool) -> st.SearchStrategy:
    """Anything inside the declared bounds; an open side gets a range around the default."""
    span = 10 * abs(current) + 10
    lo = spec.min if spec.min is not None else current - span
    hi = spec.max if spec.max is not None else current + span
    if integer:
        return st.integers(math.ceil(lo), math.floor(hi))
    return st.floats(lo, hi, exclude_min=spec.min_exclusive, exclude_max=spec.max_exclusive,
                     allow_nan=False)


def _plain_value(name: str, year: int) -> st.SearchStrategy:
    spec, current = SPECS[name], DEFAULTS.at(year)[name]
    if spec.type == "bool":
        return st.booleans()
    if spec.type in ("int", "float"):
        return _number(spec, current, spec.type == "int")
    if spec.type == "str":
        return st.sampled_from(spec.choices) if spec.choices else st.just(current)
    if spec.type == "schedule":
        return st.lists(st.fixed_dictionaries({
            "year": st.integers(2015, 2040), "area": st.sampled_from(
                ["shuangtaizi", "xinglongtai", "dawa", "panshan", "liaodongwan"]),
            "share": st.floats(0, 1)}), max_size=4)
    element = (st.sampled_from(spec.choices) if spec.choices
               else _number(spec, max(current, default=0.0), spec.type == "list[int]"))
    sizes = st.sampled_from([len(current), len(current), max(len(current) - 1, 0),
                             len(current) + 1])
    lists = sizes.flatmap(lambda n: st.lists(element, min_size=n, max_size=n))
    if spec.sums_to is not None:  # mostly shares that add up, sometimes not
        lists = lists.map(lambda v: [x / sum(v) for x in v] if sum(v) > 0 else v) | lists
    if spec.increasing:
        lists = lists.map(sorted) | lists
    return lists


def _value(name: str) -> st.SearchStrategy:
    plain = _plain_value(name, 2015)
    if not SPECS[name].dated:
        return plain
    dated = st.dictionaries(st.integers(2015, 2018), plain, min_size=1, max_size=2)
    return plain | dated


overrides = st.lists(st.sampled_from(FREE), min_size=1, max_size=6, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({n: _value(n) for n in names}))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(overrides, st.integers(0, 2**32 - 1))
def test_what_check_accepts_runs_and_keeps_the_identities(changes, seed):
    """Scenarios `check` accepts (random values of up to six parameters, plain or dated)
    run on 0.2% of the city for three years without an error, and population change
    still equals its flows in every area and year."""
    try:
        scenario = DEFAULTS.with_overrides({**changes, "run.scale": 0.002,
                                            "run.end_year": 2018})
    except ScenarioError:
        assume(False)
    model = UrbanizationModel(scenario, seed=seed)
    model.run()
    wide = _wide(model.indicators())
    for stock, (inflows, outflows) in IDENTITIES.items():
        for area, g in wide.groupby(level="area"):
            g = g.droplevel("area").sort_index()
            change = g[stock].diff().iloc[1:]
            flows = (sum(g[f] for f in inflows) - sum(g[f] for f in outflows)).iloc[1:]
            assert ((change - flows).abs() < 1e-6).all(), (stock, area, changes)
