"""Tests of sim.scenario: validation messages, dated parameters, extends, overrides.

A temporary defaults folder with one parameter of each type keeps the tests
independent of the model's own parameter files (only run.toml is copied).
"""

from __future__ import annotations

import json
import math
import pickle
import re
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario import (
    DEFAULTS_DIR,
    OVERRIDES,
    ScenarioError,
    YearParameters,
    load_defaults,
    load_scenario,
)

POLICY = """
[urban_district.insurance_years]
value = 0
type = "int"
min = 0
max = 3
unit = "years"
doc = "Years of urban social insurance clause 五 may require."
source = "居住证暂行条例 Art. 16"

[urban_district.open]
value = true
type = "bool"
doc = "Whether the urban-district channel is open."
assumption = "open from the start"

[mode]
value = "strict"
type = "str"
choices = ["strict", "lenient"]
doc = "How strictly rules are applied."
assumption = "test"

[rates]
value = [0.1, 0.2]
type = "list[float]"
min = 0.0
max = 1.0
unit = "share"
doc = "Some shares."
assumption = "test"

[channels]
value = ["town", "talent"]
type = "list[str]"
choices = ["town", "urban_district", "talent"]
doc = "Open channels."
assumption = "test"

[share]
value = 0.5
type = "float"
min = 0.0
max = 1.0
doc = "A share."
assumption = "test"

[dated_default]
value = {2016 = 10, 2020 = 20}
type = "int"
doc = "A default that is itself dated."
assumption = "test"

[fixed]
value = 1.5
type = "float"
doc = "Not datable."
assumption = "test"
dated = false

[urban_village.schedule]
value = [{year = 2016, area = "dawa", share = 0.1}, {year = 2018, area = "panshan", share = 0.2}]
type = "schedule"
fields = { year = "int", area = "str", share = "float" }
doc = "Conversion schedule."
assumption = "test"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def defaults(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("defaults")
    shutil.copy(DEFAULTS_DIR / "run.toml", d / "run.toml")
    write(d / "policy.toml", POLICY)
    return d


def scenario(tmp_path: Path, defaults: Path, text: str, name: str = "s.toml"):
    return load_scenario(write(tmp_path / name, text), defaults)


def error(tmp_path: Path, defaults: Path, text: str, name: str = "s.toml") -> str:
    with pytest.raises(ScenarioError) as e:
        scenario(tmp_path, defaults, text, name)
    return str(e.value)


# ------------------------------------------------------------ error messages

ERRORS = [
    # (scenario text, substrings the message must contain, besides the file name)
    ("[policy.urban_district]\ninsurance_yrs = 2",
     ["policy.urban_district.insurance_yrs", "unknown key 'insurance_yrs'",
      "did you mean 'insurance_years'"]),
    ("[polcy.urban_district]\ninsurance_years = 2", ["polcy", "did you mean 'policy'"]),
    ('descripton = "x"', ["descripton", "did you mean 'description'"]),
    ("[run]\nseeed = 3", ["run.seeed", "did you mean 'seed'"]),
    ("zzz = 1", ["zzz", "valid: name, description, extends, lang"]),
    ("[policy]\ninsurance_years = 1", ["policy.insurance_years", "unknown key",
                                       "is a parameter at policy.urban_district.insurance_years"]),
    ("[policy.urban_district]\ninsurance_years = true",
     ["policy.urban_district.insurance_years", "must be an integer", "got true, a boolean"]),
    ("[policy.urban_district]\ninsurance_years = 2.5",
     ["policy.urban_district.insurance_years", "must be an integer", "2.5"]),
    ('[policy]\nshare = "half"', ["policy.share", "must be a number", '"half"']),
    ("[policy]\nshare = true", ["policy.share", "must be a number", "boolean"]),
    ("[policy.urban_district]\nopen = 1", ["policy.urban_district.open", "true or false"]),
    ("[policy.urban_district]\ninsurance_years = 5",
     ["policy.urban_district.insurance_years", "out of range", "0 <= value <= 3"]),
    ("[policy.urban_district]\ninsurance_years = -1", ["out of range", "0 <= value <= 3"]),
    ("[run]\nscale = 0", ["run.scale", "out of range", "0.0 < value <= 1.0"]),
    ("[run]\nscale = 1.5", ["run.scale", "0.0 < value <= 1.0"]),
    ("[run]\nreplicates = 0", ["run.replicates", "1 <= value <= 1000"]),
    ("[run]\nstart_year = 2010", ["run.start_year", "2015 <= value <= 2100"]),
    ("[policy]\nshare = inf", ["policy.share", "finite"]),
    ("[policy]\nshare = nan", ["policy.share", "finite"]),
    ("[policy]\nshare = 1" + "0" * 400, ["policy.share", "too large"]),
    ('[policy]\nmode = "strct"', ["policy.mode", "'strct'", "did you mean 'strict'",
                                  "strict, lenient"]),
    ('[policy]\nrates = [0.1, "a"]', ["policy.rates[1]", "must be a number"]),
    ("[policy]\nrates = [0.1, 2.0]", ["policy.rates[1]", "0.0 <= value <= 1.0"]),
    ("[policy]\nrates = 0.1", ["policy.rates", "must be a list of numbers"]),
    ('[policy]\nchannels = ["town", "talnet"]',
     ["policy.channels[1]", "did you mean 'talent'"]),
    ("[policy.urban_district]\ninsurance_years = {abc = 1}",
     ["policy.urban_district.insurance_years", "'abc' is not a year", "1949-2100"]),
    ("[policy.urban_district]\ninsurance_years = {1900 = 1}", ["'1900' is not a year"]),
    ("[policy.urban_district]\ninsurance_years = {2200 = 1}", ["'2200' is not a year"]),
    ("[policy.urban_district]\ninsurance_years = {16 = 1}", ["'16' is not a year"]),
    ("[policy.urban_district]\ninsurance_years = {2016 = 9}",
     ["policy.urban_district.insurance_years.2016", "0 <= value <= 3"]),
    ("[policy.urban_district]\ninsurance_years = {}", ["empty dated table"]),
    ("[policy.urban_district]\ninsurance_years = {value = 3}",
     ["policy.urban_district.insurance_years", "write insurance_years = 3"]),
    ("[run]\nseed = {2016 = 1}", ["run.seed", "cannot be dated"]),
    ("[policy]\nfixed = {2016 = 1.0}", ["policy.fixed", "cannot be dated"]),
    ("[policy.urban_village]\nschedule = [{year = 2016, area = \"dawa\"}]",
     ["policy.urban_village.schedule[0]", "missing field 'share'",
      "year (int), area (str), share (float)"]),
    ("[policy.urban_village]\nschedule = [{year = 2016, area = \"dawa\", share = 0.1, "
     "shar = 1}]", ["policy.urban_village.schedule[0]", "unknown field 'shar'",
                    "did you mean 'share'"]),
    ("[policy.urban_village]\nschedule = [{year = 2016, area = \"dawa\", share = \"x\"}]",
     ["policy.urban_village.schedule[0].share", "must be a number"]),
    ("[policy.urban_village]\nschedule = [{year = 2016.0, area = \"dawa\", share = 0.1}]",
     ["policy.urban_village.schedule[0].year", "must be an integer"]),
    ("[policy.urban_village]\nschedule = [1]",
     ["policy.urban_village.schedule[0]", "must be a table with fields"]),
    ("[policy.urban_village]\nschedule = 1",
     ["policy.urban_village.schedule", "list of tables"]),
    ("[run]\nstart_year = 2020\nend_year = 2016",
     ["run.end_year", "2016 is before run.start_year 2020", "end_year >= start_year"]),
    ("policy = 3", ["policy", "is a group of parameters", "mode"]),
    ("[policy]\nurban_district = 1", ["policy.urban_district", "insurance_years, open"]),
    ("name = 3", ["name", "must be a string"]),
    ('name = "../x"', ["name", "not a usable name"]),
    ('lang = "fr"', ["lang", "'fr'", "en, zh"]),
    ("extends = 1", ["extends", "must be a string"]),
    ("x = = 1", ["line 1", "TOML syntax error"]),
    ("[run]\nseed = 1\n[run]\nseed = 2", ["line 3", "TOML syntax error"]),
]


@pytest.mark.parametrize(("text", "parts"), ERRORS, ids=[f"e{i}" for i in range(len(ERRORS))])
def test_error_messages(tmp_path, defaults, text, parts):
    msg = error(tmp_path, defaults, text)
    assert msg.startswith(str(tmp_path / "s.toml")), msg
    for part in parts:
        assert part in msg, (part, msg)


def test_error_is_picklable_and_structured(tmp_path, defaults):
    with pytest.raises(ScenarioError) as e:
        scenario(tmp_path, defaults, "[run]\nscale = 2.0")
    err = e.value
    assert err.file == str(tmp_path / "s.toml") and err.field == "run.scale"
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err)


def test_missing_file(tmp_path, defaults):
    with pytest.raises(ScenarioError, match=r"nope\.toml.*cannot read scenario file.*no such"):
        load_scenario(tmp_path / "nope.toml", defaults)
    with pytest.raises(ScenarioError, match="not a file"):
        load_scenario(tmp_path, defaults)


def test_missing_extended_file_names_the_extending_file(tmp_path, defaults):
    msg = error(tmp_path, defaults, 'extends = "gone.toml"')
    assert msg.startswith(f"{tmp_path / 's.toml'}: extends: cannot read")
    assert "gone.toml" in msg


def test_errors_in_extended_file_name_that_file(tmp_path, defaults):
    write(tmp_path / "base.toml", "[run]\nscale = 7.0")
    msg = error(tmp_path, defaults, 'extends = "base.toml"')
    assert msg.startswith(f"{tmp_path / 'base.toml'}: run.scale:"), msg


@pytest.mark.parametrize(("files", "cycle"), [
    ({"s.toml": 'extends = "s.toml"'}, ["s.toml", "s.toml"]),
    ({"s.toml": 'extends = "a.toml"', "a.toml": 'extends = "s.toml"'},
     ["s.toml", "a.toml", "s.toml"]),
    ({"s.toml": 'extends = "a.toml"', "a.toml": 'extends = "sub/b.toml"',
      "sub/b.toml": 'extends = "../a.toml"'}, ["a.toml", "b.toml", "a.toml"]),
])
def test_extends_cycle(tmp_path, defaults, files, cycle):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        write(tmp_path / name, text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(tmp_path / "s.toml", defaults)
    msg = str(e.value)
    assert "extends: cycle: " in msg
    assert [Path(f).name for f in msg.split("cycle: ")[1].split(" -> ")] == cycle


# ------------------------------------------------------------ broken defaults

GOOD = 'value = 1\ntype = "int"\ndoc = "d"\nassumption = "a"\n'
DEFAULT_ERRORS = [
    ("[x]\n" + GOOD + "sorce = 'a'", ["grp.x", "unknown key 'sorce'", "did you mean 'source'"]),
    ("[x]\nvalue = 1\ndoc = 'd'\nassumption = 'a'", ["grp.x.type", "missing", "schedule"]),
    ("[x]\n" + GOOD.replace('"int"', '"integer"'),
     ["grp.x.type", "'integer'", "did you mean 'int'"]),
    ("[x]\nvalue = 1\ntype = 'int'\ndoc = 'd'", ["grp.x", "exactly one of", "neither"]),
    ("[x]\n" + GOOD + "source = 's'", ["grp.x", "source and assumption"]),
    ("[x]\nvalue = 1\ntype = 'int'\nassumption = 'a'", ["grp.x.doc", "missing"]),
    ("[x]\n" + GOOD + "max = 0", ["grp.x.value", "out of range", "value <= 0"]),
    ("[x]\n" + GOOD + "min = 3\nmax = 2", ["grp.x.min", "above max"]),
    ("[x]\n" + GOOD + "choices = ['a']", ["grp.x.choices", "not allowed for type 'int'"]),
    ("[x]\n" + GOOD + "dated = 'yes'", ["grp.x.dated", "true or false"]),
    ("[x]\n" + GOOD.replace('"int"', '"schedule"'), ["grp.x.fields", "needs its row fields"]),
    ("[x]\n" + GOOD + "fields = {a = 'int'}", ["grp.x.fields", "not allowed"]),
    ("[x]\nvalue = []\ntype = 'schedule'\ndoc = 'd'\nassumption = 'a'\nfields = {a = 'date'}",
     ["grp.x.fields.a", "'date'"]),
    ("x = 3", ["grp.x", "not a table"]),
    ("[x]", ["grp.x", "empty table"]),
    ("[items]\n" + GOOD, ["grp.items", "cannot be a parameter or group name"]),
    ("[x]\n" + GOOD + "[x.y]\n" + GOOD, ["grp.x", "unknown key 'y'"]),
    ("[x\n", ["line 1", "TOML syntax error"]),
]


@pytest.mark.parametrize(("text", "parts"), DEFAULT_ERRORS,
                         ids=[f"d{i}" for i in range(len(DEFAULT_ERRORS))])
def test_broken_defaults_name_the_default_file(tmp_path, text, parts):
    shutil.copy(DEFAULTS_DIR / "run.toml", tmp_path / "run.toml")
    write(tmp_path / "grp.toml", text)
    with pytest.raises(ScenarioError) as e:
        load_defaults(tmp_path)
    msg = str(e.value)
    assert msg.startswith(str(tmp_path / "grp.toml")), msg
    for part in parts:
        assert part in msg, (part, msg)


def test_defaults_folder_problems(tmp_path):
    with pytest.raises(ScenarioError, match="defaults folder not found"):
        load_defaults(tmp_path / "none")
    with pytest.raises(ScenarioError, match="run.start_year: missing run setting"):
        load_defaults(tmp_path)
    shutil.copy(DEFAULTS_DIR / "run.toml", tmp_path / "run.toml")
    write(tmp_path / "name.toml", "[x]\n" + GOOD)
    with pytest.raises(ScenarioError, match=r"name\.toml: \(file name\)"):
        load_defaults(tmp_path)


def test_package_defaults_are_valid():
    """The model's own parameter files (all groups) load without error."""
    s = load_defaults()
    assert s.run.start_year == 2015 and s.run.seed == 20151215 and s.run.scale == 1.0
    for name, entry in s.resolved().items():
        assert ("source" in entry) != ("assumption" in entry), name
    json.dumps(s.resolved())


# ------------------------------------------------------------ dated values and extends

def test_defaults_and_types(defaults):
    s = load_defaults(defaults)
    assert s.name == "defaults" and s.path is None and s.lang == "en"
    p = s.at(2015)
    assert isinstance(p, YearParameters) and p.year == 2015
    assert p.policy.urban_district.insurance_years == 0
    assert p["policy.urban_district.open"] is True
    assert p.policy.rates == (0.1, 0.2) and p.policy.channels == ("town", "talent")
    row = p.policy.urban_village.schedule[1]
    assert (row.year, row["area"], row.share) == (2018, "panshan", 0.2)
    assert isinstance(p.policy.share, float)
    assert "policy.urban_district" in p and "policy.nothing" not in p
    assert s.at(2015) is p  # cached
    assert "policy.mode" in s.parameter_names() and "run.seed" in s.parameter_names()


def test_dated_default_applies_before_its_first_year(defaults):
    s = load_defaults(defaults)
    assert [s.at(y).policy.dated_default for y in (2010, 2016, 2019, 2020, 2030)] == [
        10, 10, 10, 20, 20]


def test_dated_override_switches_and_falls_back(tmp_path, defaults):
    s = scenario(tmp_path, defaults, """
        [policy.urban_district]
        insurance_years = {2019 = 3, 2016 = 1}
        [policy]
        dated_default = {2018 = 5}
    """)
    years = range(2014, 2022)
    assert [s.at(y).policy.urban_district.insurance_years for y in years] == [
        0, 0, 1, 1, 1, 3, 3, 3]
    assert [s.at(y).policy.dated_default for y in years] == [10, 10, 10, 10, 5, 5, 5, 5]


def test_extends_chain(tmp_path, defaults):
    (tmp_path / "base").mkdir()
    write(tmp_path / "base" / "a.toml", """
        name = "a"
        description = "A"
        lang = "zh"
        [policy.urban_district]
        insurance_years = {2016 = 1, 2019 = 2}
        [policy]
        mode = "lenient"
        share = {2017 = 0.3}
        [run]
        end_year = 2030
    """)
    write(tmp_path / "b.toml", """
        extends = "base/a.toml"
        [policy.urban_district]
        insurance_years = {2018 = 3}
        [policy]
        share = 0.9
    """)
    s = scenario(tmp_path, defaults, """
        extends = "b.toml"
        name = "c"
        [run]
        seed = 7
        [policy]
        rates = {2020 = [0.5]}
    """, "c.toml")
    assert s.name == "c" and s.lang == "zh" and s.description == ""
    assert [Path(f).name for f in s.chain] == ["c.toml", "b.toml", "a.toml"]
    assert s.run.end_year == 2030 and s.run.seed == 7 and s.run.start_year == 2015
    iy = [s.at(y).policy.urban_district.insurance_years for y in range(2015, 2021)]
    assert iy == [0, 1, 1, 3, 3, 3]  # b's 2018 dating replaces a's from 2018 on
    assert s.at(2015).policy.share == 0.9  # a plain value replaces everything
    assert s.at(2016).policy.mode == "lenient"
    assert s.at(2019).policy.rates == (0.1, 0.2) and s.at(2020).policy.rates == (0.5,)
    r = s.resolved()
    assert r["policy.urban_district.insurance_years"]["value"] == {"2015": 0, "2016": 1,
                                                                  "2018": 3}
    assert Path(r["policy.urban_district.insurance_years"]["overridden_by"]).name == "b.toml"
    assert Path(r["policy.mode"]["overridden_by"]).name == "a.toml"
    assert Path(r["run.seed"]["overridden_by"]).name == "c.toml"
    assert r["policy.fixed"]["overridden_by"] is None
    assert r["policy.urban_district.insurance_years"]["source"] == "居住证暂行条例 Art. 16"
    assert "assumption" in r["policy.mode"] and "source" not in r["policy.mode"]
    out = json.loads(json.dumps(r, ensure_ascii=False))
    assert out["policy.urban_village.schedule"]["value"][0] == {"year": 2016, "area": "dawa",
                                                                "share": 0.1}
    text = s.describe(verbose=True)
    assert "c.toml extends" in text and "policy.urban_district.insurance_years" in text
    assert "居住证暂行条例" in text and "2015-2030" in text


def test_name_defaults_to_file_stem(tmp_path, defaults):
    s = scenario(tmp_path, defaults, "", "strict_insurance.toml")
    assert s.name == "strict_insurance" and s.path == (tmp_path / "strict_insurance.toml")


def test_with_overrides(tmp_path, defaults):
    s = scenario(tmp_path, defaults, "[policy.urban_district]\ninsurance_years = {2016 = 1}")
    t = s.with_overrides({"run.seed": np.int64(5), "run.scale": np.float32(0.5),
                          "policy.urban_district.insurance_years": {2019: 3},
                          "policy.urban_district.open": np.bool_(False),
                          "policy.rates": np.array([0.3, 0.4])})
    assert t.run.seed == 5 and type(t.run.seed) is int and t.run.scale == 0.5
    assert [t.at(y).policy.urban_district.insurance_years for y in (2015, 2016, 2019)] == [
        0, 1, 3]
    assert t.at(2015).policy.urban_district.open is False
    assert t.at(2015).policy.rates == (0.3, 0.4)
    assert t.resolved()["run.seed"]["overridden_by"] == OVERRIDES
    assert s.run.seed == 20151215 and s.at(2019).policy.urban_district.insurance_years == 1
    assert t.name == s.name and t.path == s.path


@pytest.mark.parametrize(("overrides", "parts"), [
    ({"run.sed": 1}, ["run.sed", "did you mean 'run.seed'"]),
    ({"run.seed": "1"}, ["run.seed", "must be an integer"]),
    ({"run.scale": 0.0}, ["run.scale", "0.0 < value <= 1.0"]),
    ({"run.start_year": 2040}, ["run.end_year", "2035 is before run.start_year 2040"]),
    ({"policy.urban_district.insurance_years": {"20x6": 1}}, ["'20x6' is not a year"]),
    ({"policy.urban_district.insurance_years": True}, ["must be an integer"]),
])
def test_with_overrides_errors(defaults, overrides, parts):
    with pytest.raises(ScenarioError) as e:
        load_defaults(defaults).with_overrides(overrides)
    msg = str(e.value)
    assert msg.startswith(OVERRIDES)
    for part in parts:
        assert part in msg, (part, msg)


def test_year_parameters_are_read_only_and_picklable(tmp_path, defaults):
    s = scenario(tmp_path, defaults, "[policy]\nmode = \"lenient\"")
    p = s.at(2020)
    with pytest.raises(AttributeError, match="read-only"):
        p.policy.mode = "strict"
    with pytest.raises(AttributeError, match="did you mean 'mode'"):
        _ = p.policy.mdoe
    with pytest.raises(KeyError, match="insurance_years"):
        _ = p["policy.urban_district.insurance_yeras"]
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.year == 2020 and q.policy.mode == "lenient"
    t = pickle.loads(pickle.dumps(s))
    assert t.at(2020).policy.mode == "lenient" and t.resolved() == s.resolved()
    assert p.to_dict()["policy"]["urban_village"]["schedule"][0]["area"] == "dawa"


# ------------------------------------------------------------ fuzzing

KNOWN_KEYS = ["name", "description", "extends", "lang", "run", "policy", "urban_district",
              "insurance_years", "open", "mode", "rates", "channels", "share", "fixed",
              "dated_default", "urban_village", "schedule", "year", "area", "start_year",
              "end_year", "seed", "scale", "replicates", "2016", "2019", "1900", "value",
              "polcy", "insurance_yrs"]


def toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def toml_value(v) -> str:
    """A tiny TOML writer: everything inline."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) \
            else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def toml_dumps(d: dict) -> str:
    lines, tables = [], []
    for k, v in d.items():
        (tables if isinstance(v, dict) and v and len(tables) < 2 else lines).append((k, v))
    out = [f"{toml_key(k)} = {toml_value(v)}" for k, v in lines]
    for k, v in tables:  # some groups as [table] sections
        out.append(f"[{toml_key(k)}]")
        out += [f"{toml_key(kk)} = {toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(out) + "\n"


keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=6)
scalars = (st.integers(-10**6, 10**6) | st.integers() | st.floats() | st.booleans()
           | st.sampled_from(["strict", "town", "talent", "s.toml", "x.toml", "", "../s.toml"])
           | st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=12)
docs = st.dictionaries(keys, values, max_size=6)
PATHS = ["policy.urban_district.insurance_years", "policy.urban_district.open", "policy.mode",
         "policy.rates", "policy.channels", "policy.share", "policy.fixed",
         "policy.dated_default", "policy.urban_village.schedule", "run.start_year",
         "run.end_year", "run.seed", "run.scale", "run.replicates", "policy.urban_district",
         "policy.nothing", "run"]
rows = st.dictionaries(st.sampled_from(["year", "area", "share", "shar"]), scalars, max_size=4)
targeted_values = (values | st.lists(rows, max_size=3)
                   | st.dictionaries(st.sampled_from(["2016", "2019", "1948", "2101", "x"])
                                     | st.text(max_size=4), values, max_size=3))


def nest(flat: dict) -> dict:
    """{"a.b": 1} -> {"a": {"b": 1}}; a later path under an earlier value replaces it."""
    out: dict = {}
    for path, v in flat.items():
        *groups, leaf = path.split(".")
        node = out
        for g in groups:
            node = node.setdefault(g, {}) if isinstance(node.get(g, {}), dict) else {}
        node[leaf] = v
    return out


targeted = st.dictionaries(st.sampled_from(PATHS), targeted_values, max_size=5).map(nest)

FRAGMENTS = ["[run]\n", "[policy.urban_district]\n", "insurance_years = ", "{2016 = 1}",
             'extends = "s.toml"\n', 'extends = "other.toml"\n', "= ", "\n", "[", "]", '"',
             "1", "true", "2.5", "[[policy.urban_village.schedule]]\n", "year = 2016\n",
             "schedule = [{year = 2016}]\n", "{", "}", ",", "nan", "1e400"]
texts = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=25).map("".join)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory, defaults) -> Path:
    d = tmp_path_factory.mktemp("fuzz")
    write(d / "other.toml", '[run]\nseed = 3\n')
    return d


def only_scenario_errors(path: Path, defaults: Path) -> None:
    try:
        s = load_scenario(path, defaults)
    except ScenarioError as e:
        assert str(e).strip()
        return
    json.dumps(s.resolved())  # whatever loads is usable
    s.at(s.run.start_year)
    s.describe()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs | targeted)
def test_fuzz_structured(fuzz_dir, defaults, doc):
    path = fuzz_dir / "s.toml"
    path.write_text(toml_dumps(doc), encoding="utf-8")
    only_scenario_errors(path, defaults)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts | st.binary(max_size=40))
def test_fuzz_text(fuzz_dir, defaults, text):
    path = fuzz_dir / "s.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    only_scenario_errors(path, defaults)
