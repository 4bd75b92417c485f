"""Starting from a registry extract (`sim.registry`, ``run --population``): ID-number check
digits, every kind of bad row reported by line and never by ID number, an extract run end to
end with the accounting identities, and pseudonyms that depend only on the key."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.population import EDUCATION
from sim.registry import (
    FIELDS,
    SHOWN_PROBLEMS,
    PopulationError,
    check_digit,
    load_population,
    read_extract,
    valid_id_numbers,
    validate,
)
from tests.test_model import IDENTITIES, _wide

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "make_registry_example.py"
PERSONS = 500
KINDS = ("check_digit", "id_length", "id_birth_date", "duplicate_id", "household_head",
         "unknown_code", "impossible_date", "impossible_age", "missing_required",
         "residence_before_birth")
TINY = 'name = "tiny"\n[run]\nend_year = 2017\n'


def _env(config: Path) -> dict[str, str]:
    """The environment of a child process: this checkout first, keys under ``config``."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(config)}


@pytest.fixture(scope="module")
def extracts(tmp_path_factory) -> dict[str, Path]:
    """A 500-person example extract and its bad twin, made by the script as a user would."""
    folder = tmp_path_factory.mktemp("extracts")
    paths = {"good": folder / "good.csv", "bad": folder / "bad.csv"}
    for kind, path in paths.items():
        argv = [sys.executable, str(SCRIPT), str(path), "--persons", str(PERSONS)]
        subprocess.run(argv + (["--bad"] if kind == "bad" else []), check=True,
                       env=_env(folder), capture_output=True)
    paths["planted"] = folder / "bad.csv.planted.csv"
    return paths


@pytest.fixture
def key_home(tmp_path, monkeypatch) -> Path:
    """Keys go to a fresh config folder, never the user's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "hukou-sim" / "id.key"


def _problems(path: Path) -> list[tuple[int, str, str]]:
    extract = read_extract(path)
    validate(extract, 2015)
    return [(p.row + extract.first_line, p.field, p.text) for p in extract.problems]


def _ids(*paths: Path) -> set[str]:
    return {i for p in paths for i in pd.read_csv(p, dtype=str, keep_default_na=False)
            .id_number if len(i) >= 17}  # noqa: PLR2004 - the planted short IDs too


def _all_bytes(folder: Path) -> str:
    """Every file of a folder, with the workbook's zipped parts unpacked, as one text."""
    parts = []
    for path in folder.rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes())
            if path.suffix == ".xlsx":
                with zipfile.ZipFile(path) as z:
                    parts += [z.read(n) for n in z.namelist()]
    return b"\n".join(parts).decode("latin-1")


# ------------------------------------------------------------------ check digits

KNOWN_VALID = ["11010519491231002X", "440524188001010014"]  # GB 11643's own examples


@pytest.mark.parametrize("id_number", KNOWN_VALID)
def test_check_digit_of_known_numbers(id_number):
    assert check_digit(id_number[:17]) == id_number[17]
    assert valid_id_numbers(pd.Series([id_number, id_number.lower()])).all()


@pytest.mark.parametrize("id_number", KNOWN_VALID)
def test_every_single_digit_corruption_is_rejected(id_number):
    """MOD 11-2 catches any one wrong character: all 17 × 9 + 10 corruptions."""
    corrupt = [id_number[:i] + d + id_number[i + 1:] for i in range(17)
               for d in "0123456789" if d != id_number[i]]
    corrupt += [id_number[:17] + c for c in "0123456789X" if c != id_number[17]]
    assert len(corrupt) == 17 * 9 + 10
    assert not valid_id_numbers(pd.Series(corrupt)).any()


def test_malformed_numbers_are_not_valid():
    assert not valid_id_numbers(pd.Series(["11010519491231002", "1101051949123100X2",
                                           "11010519491231002XX", "", "A1010519491231002X",
                                           "１10105194912310021"])).any()


# ------------------------------------------------------------------ validation

def test_the_example_extract_is_valid(extracts):
    assert _problems(extracts["good"]) == []


def test_every_planted_error_is_reported_once_by_line_and_field(extracts):
    planted = pd.read_csv(extracts["planted"])
    assert len(planted) == 100 and planted.kind.value_counts().to_dict() == dict.fromkeys(
        KINDS, 10)
    reported = [(line, field) for line, field, _ in _problems(extracts["bad"])]
    assert sorted(reported) == sorted(zip(planted.line, planted.field, strict=True))


@pytest.mark.parametrize("kind,words", [
    ("check_digit", "check digit does not match"), ("id_length", "must be 18 characters"),
    ("id_birth_date", "differs from the birth date in the ID number"),
    ("duplicate_id", "same ID number as line"), ("household_head", "exactly one member"),
    ("unknown_code", "unknown code"), ("impossible_date", "not a date"),
    ("impossible_age", "2015"), ("missing_required", "missing (a required field)"),
    ("residence_before_birth", "before the birth date")])
def test_each_kind_of_error_names_its_line_and_what_is_wrong(extracts, kind, words):
    planted = pd.read_csv(extracts["planted"])
    mine = planted[planted.kind == kind]
    found = {(line, field): text for line, field, text in _problems(extracts["bad"])}
    for line, field in zip(mine.line, mine.field, strict=True):
        assert words in found[(line, field)], (kind, line, found[(line, field)])


def test_the_bad_twin_is_refused_with_every_problem_and_no_id_number(extracts, tmp_path,
                                                                     capsys, key_home):
    out = tmp_path / "run"
    code = main(["run", str(ROOT / "scenarios" / "reform_2015.toml"), "--population",
                 str(extracts["bad"]), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.splitlines()
    assert "100 problems" in lines[0] and "nothing was run or written" in lines[0]
    assert len([line for line in lines if line.startswith("  bad.csv, line ")]) == SHOWN_PROBLEMS
    assert "and 50 more" in lines[-1]
    text = captured.out + captured.err
    assert not [i for i in _ids(extracts["bad"], extracts["good"]) if i in text]
    assert not out.exists() and not key_home.exists()  # nothing written, not even a key


@pytest.mark.parametrize("change,field,words", [
    (lambda f: f.drop(columns="sex"), "sex", "required column missing"),
    (lambda f: f.rename(columns={"education": "educaton"}), "educaton", "did you mean"),
    (lambda f: f.assign(hukou_type=f.id_number), "hukou_type", "(value not shown: it could be"),
    (lambda f: f.assign(weight="0"), "weight", "more than 0"),
    (lambda f: f.assign(residence_place=""), "residence_place", "required for a person"),
    (lambda f: f.assign(residence_area="outside", hukou_area="outside"), "residence_area",
     "not part of Panjin's population"),
    (lambda f: f.assign(insurance_years="90"), "insurance_years", "more years than"),
    (lambda f: f.assign(employer_type="legal_person"), "employer_type", "only for employ"),
    (lambda f: f.assign(married="maybe"), "married", "must be yes or no"),
    (lambda f: f.assign(sex=np.where(f.sex == "male", "female", "male")), "sex",
     "17th digit"),
])
def test_other_mistakes_are_named_without_the_id_number(extracts, tmp_path, change, field,
                                                        words):
    frame = change(pd.read_csv(extracts["good"], dtype=str, keep_default_na=False))
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    problems = _problems(path)
    assert any(f == field and words in text for _, f, text in problems), problems[:3]
    with pytest.raises(PopulationError) as e:
        load_population(path)
    assert not [i for i in _ids(extracts["good"]) if i in str(e.value)]


def test_a_household_must_live_in_one_place(extracts, tmp_path):
    frame = pd.read_csv(extracts["good"], dtype=str, keep_default_na=False)
    member = np.flatnonzero((frame.relation != "head").to_numpy())[0]
    frame.loc[member, "residence_area"] = "outside"
    frame.loc[member, "residence_place"] = ""
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    assert [(line, f) for line, f, _ in _problems(path)] == [(member + 2, "residence_area")]


@pytest.mark.parametrize("data,words", [
    ("id_number,sex\n".encode("gbk") + "男".encode("gbk"), "save it as UTF-8"),
    (b"", "the file is empty"),
])
def test_unreadable_files(tmp_path, data, words):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    with pytest.raises(PopulationError, match=words):
        read_extract(path)


def test_other_file_types_are_refused(tmp_path):
    with pytest.raises(PopulationError, match=r"\.csv or \.parquet"):
        read_extract(tmp_path / "x.xlsx")


def test_20000_rows_validate_in_well_under_a_second(tmp_path):
    """Validation alone (the file already read), on 20,000 valid rows."""
    rows = 20_000
    frame = pd.DataFrame([dict.fromkeys((f.name for f in FIELDS), "") | {
        "relation": "head", "birth_date": "1980-01-01", "sex": "male", "hukou_type": "urban",
        "hukou_area": "dawa", "residence_area": "dawa", "residence_place": "village"}] * rows)
    first17 = [f"2199{k // 500:02d}19800101{(k % 500) * 2 + 1:03d}" for k in range(rows)]
    frame["id_number"] = [f + check_digit(f) for f in first17]  # odd 17th digit: men
    frame["household_id"] = [f"H{k}" for k in range(rows)]
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    extract = read_extract(path)
    started = time.perf_counter()
    validate(extract, 2015)
    took = time.perf_counter() - started
    assert extract.problems == []
    assert took < 1.0, took  # noqa: PLR2004 - the brief: well under a second (0.6 s measured)


# ------------------------------------------------------------------ the state

def test_given_values_are_kept_and_the_rest_drawn(extracts, tmp_path):
    frame = pd.read_csv(extracts["good"], dtype=str, keep_default_na=False)
    required = [f.name for f in FIELDS if f.required] + ["residence_place", "education"]
    path = tmp_path / "few.csv"
    frame[required].to_csv(path, index=False)
    key = tmp_path / "k.key"
    key.write_text("ab" * 32)
    population = load_population(path, key)
    state, fit = population.state(np.random.default_rng(1))
    assert len(state.persons) == PERSONS and fit.rows
    order = np.argsort(frame.id_number.to_numpy(), kind="stable")
    expected = frame.education.map(EDUCATION.index).to_numpy()[order]
    assert (state.persons.education == expected).all()
    assert state.persons.employment.any()  # drawn by the synthetic model
    assert (state.persons.weight == 1).all()  # no weight column: one person per row


def test_same_key_same_pseudonyms_whatever_the_row_order(extracts, tmp_path):
    key, other = tmp_path / "a.key", tmp_path / "b.key"
    key.write_text("0f" * 32)
    other.write_text("f0" * 32)
    frame = pd.read_csv(extracts["good"], dtype=str, keep_default_na=False)
    shuffled = tmp_path / "shuffled.csv"
    frame.sample(frac=1, random_state=3).to_csv(shuffled, index=False)
    parquet = tmp_path / "good.parquet"
    frame.to_parquet(parquet, index=False)
    a = load_population(extracts["good"], key)
    b = load_population(shuffled, key)
    c = load_population(parquet, key)
    d = load_population(extracts["good"], other)
    assert (a.persons["id"] == b.persons["id"]).all() and (a.persons["id"] == c.persons["id"]).all()
    assert len(set(a.persons["id"]) & set(d.persons["id"])) == 0
    assert (a.persons["age"] == d.persons["age"]).all()  # the order does not depend on the key
    sa, _ = a.state(np.random.default_rng(4))
    sb, _ = b.state(np.random.default_rng(4))
    sd, _ = d.state(np.random.default_rng(4))
    for name, column in sa.persons.columns().items():
        assert (column == getattr(sb.persons, name)).all(), name  # same whatever the order
        if name != "id":  # and the same whatever the key, but for the pseudonyms
            assert (column == getattr(sd.persons, name)).all(), name


def test_every_field_is_documented():
    doc = (ROOT / "docs" / "population_import.md").read_text(encoding="utf-8")
    assert not [f.name for f in FIELDS if f"| `{f.name}` | {f.zh} |" not in doc]


def test_a_bad_key_file_is_named(extracts, tmp_path):
    key = tmp_path / "short.key"
    key.write_text("abc")
    with pytest.raises(PopulationError, match="64 hexadecimal"):
        load_population(extracts["good"], key)


def test_an_extract_runs_end_to_end_with_the_identities(extracts, tmp_path):
    """`python -m sim run … --population` as a user runs it: the key is made outside the
    run folder (0600), the manifest names the file but holds no ID number, nor does any
    other file, and the accounting identities hold every year."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    out, config = tmp_path / "run", tmp_path / "config"
    done = subprocess.run([sys.executable, "-m", "sim", "run", str(scenario), "--population",
                           str(extracts["good"]), "--out", str(out), "--quiet"],
                          env=_env(config), capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    key = config / "hukou-sim" / "id.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and str(key) in done.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    population = manifest["population"]
    assert population["file"] == "good.csv" and population["rows"] == PERSONS
    assert population["sha256"] == hashlib.sha256(extracts["good"].read_bytes()).hexdigest()
    assert "does not apply" in population["scale_note"]
    text = _all_bytes(out) + done.stdout + done.stderr
    assert not [i for i in _ids(extracts["good"]) if i in text]
    df = pd.read_csv(out / "indicators.csv", keep_default_na=False)
    w = _wide(df)
    for stock, (inflows, outflows) in IDENTITIES.items():
        for area, g in w.groupby(level="area"):
            g = g.droplevel("area").sort_index()
            change = g[stock].diff().iloc[1:]
            flows = (sum(g[f] for f in inflows) - sum(g[f] for f in outflows)).iloc[1:]
            assert np.allclose(change, flows, rtol=0, atol=1e-6), (stock, area)
    first = w.xs("panjin", level="area").sort_index().iloc[0]
    weight = pd.read_csv(extracts["good"]).weight.iloc[0]
    frame = pd.read_csv(extracts["good"], keep_default_na=False)
    assert first.resident_population == pytest.approx(
        weight * (frame.residence_area != "outside").sum())


def test_scale_and_key_options_need_their_partner(extracts, capsys):
    scenario = str(ROOT / "scenarios" / "reform_2015.toml")
    assert main(["run", scenario, "--id-key", "k"]) == 2
    assert "only used with --population" in capsys.readouterr().err
    assert main(["run", scenario, "--population", str(extracts["good"]), "--scale",
                 "0.1"]) == 2
    assert "does not apply" in capsys.readouterr().err


def test_python_run_from_an_extract_is_the_command_line_run(extracts, tmp_path, key_home,
                                                            monkeypatch):
    """``sim.run(..., population=F)`` gives the indicators ``run --population F`` writes."""
    import sim

    monkeypatch.setattr("sim.output.write_outputs", lambda *a, **k: None)  # charts: not compared
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--population", str(extracts["good"]), "--out",
                 str(out), "--quiet"]) == 0
    res = sim.run(scenario, population=extracts["good"])
    assert res.manifest["population"]["rows"] == PERSONS and key_home.exists()
    folder = res.to_folder(tmp_path / "api")
    assert (folder / "indicators.csv").read_bytes() == (out / "indicators.csv").read_bytes()
