"""Starting a run from a registry extract (人口信息系统, clause 十) instead of the synthetic
population: ``hukou-sim run SCENARIO --population FILE [--id-key KEY]``.

The file (CSV in UTF-8, or Parquet) has one row per person; `FIELDS` is its schema and
``docs/population_import.md`` explains every field. Reading it has three steps:

1. **Validation** (`validate`), vectorized with pandas and numpy, before anything runs:
   the 18-character citizen ID number (公民身份号码, GB 11643) with its ISO 7064 MOD 11-2
   check digit, its embedded birth date and sex, duplicates, households with exactly one
   head, known codes, possible dates and ages, required fields. Every problem is
   collected; `PopulationError` lists them (the first 50 and a count) by line number,
   never by ID number.
2. **Pseudonymization** (`pseudonyms`): each ID number becomes an HMAC-SHA256 under a
   key that lives outside the results (`load_key`); ID numbers are dropped right after.
3. **State**: the file's persons and households become the model's `State` through
   `sim.synthesis.assign_attributes`, the code that builds the synthetic population, so
   every optional field left out (or left empty on a row) gets the synthetic model's
   draw for a person of that status, age and sex.

Example
-------
>>> check_digit("11010519491231002")
'X'
>>> bool(valid_id_numbers(pd.Series(["11010519491231002X", "110105194912310021"]))[0])
True
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.areas import load_areas
from sim.population import (
    EDUCATION,
    EMPLOYED,
    EMPLOYMENT,
    HEAD,
    LIAONING,
    NONE,
    ORIGINS,
    OTHER_PROVINCE,
    OUTSIDE,
    PANJIN,
    PLACES,
    ROLES,
    SPOUSE,
    TENURE,
    VILLAGE,
    Households,
    Persons,
    State,
)
from sim.synthesis import (
    LOCAL_RURAL_AWAY,
    LOCAL_RURAL_HOME,
    LOCAL_URBAN,
    MIGRANT_LIAONING,
    MIGRANT_PROVINCE,
    FitReport,
    assign_attributes,
    base_year_parameters,
    fit_report,
    load_base,
    residence_years,
    village_of,
)

SHOWN_PROBLEMS = 50  # problems listed in full; the rest are counted
OLDEST_AGE = 120  # older than anyone on record in China: a wrong birth date
WORKING_FROM = 16  # legal minimum working age (劳动法 第十五条): bound of work-year counts
LIAONING_PROVINCE_CODE = "21"  # first two digits of an address code in Liaoning (GB/T 2260)
OUTSIDE_CODE = "outside"
# ISO 7064 MOD 11-2 as GB 11643 uses it: weight 2^(17-i) mod 11 of the i-th digit
ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)])
ID_CHECK_CHARS = np.array(list("10X98765432"))  # check character for (sum mod 11)
FLAGS = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False}
PSEUDONYM_BITS = 62  # imported persons' ids are below 2**62; persons born later above


@dataclass(frozen=True)
class Field:
    """One column of the extract: its kind, its codes, and where it goes in the model."""

    name: str
    zh: str
    kind: str  # id, text, code, date, flag, count, amount
    doc: str
    required: bool = False
    codes: tuple[str, ...] = ()
    household: bool = False  # a household's value, read from its head's row


def _area_codes() -> tuple[str, ...]:
    return (*load_areas().ids, OUTSIDE_CODE)


FIELDS: tuple[Field, ...] = (
    Field("id_number", "公民身份号码", "id", "18 characters: 17 digits and a check digit "
          "(0-9 or X), GB 11643", required=True),
    Field("household_id", "户编号", "text", "the household (家庭户) the person lives in: any "
          "text, the same for every member", required=True),
    Field("relation", "与户主关系", "code", "relation to the household head", required=True,
          codes=ROLES),
    Field("birth_date", "出生日期", "date", "YYYY-MM-DD; the same date as in the ID number",
          required=True),
    Field("sex", "性别", "code", "as the ID number's 17th digit says (odd: male)",
          required=True, codes=("female", "male")),
    Field("hukou_type", "户口性质", "code", "urban (非农业/城镇) or rural (农业/农村) "
          "registration", required=True, codes=("urban", "rural")),
    Field("hukou_area", "户籍所在地", "code", "area of the hukou, or outside (not a "
          "Panjin hukou)", required=True, codes=_area_codes()),
    Field("residence_area", "常住地", "code", "area the person lives in, or outside "
          "(lives outside Panjin)", required=True, codes=_area_codes()),
    Field("residence_place", "居住地类型", "code", "where in the area; required unless "
          "residence_area is outside, and then empty", codes=PLACES),
    Field("residence_since", "现住址居住起始日期", "date", "YYYY-MM-DD, from birth to "
          "2015-12-31"),
    Field("hukou_origin", "户籍来源", "code", "where the hukou came from", codes=ORIGINS),
    Field("village", "村（集体经济组织）", "text", "rural collective of a Panjin rural hukou "
          "(any code, the same for its members)"),
    Field("married", "已婚", "flag", "yes or no"),
    Field("education", "文化程度", "code", "highest completed", codes=EDUCATION),
    Field("vocational_cert", "职业资格证书", "flag", "primary vocational qualification or "
          "higher (初级以上)"),
    Field("employment", "就业状态", "code", "main activity", codes=EMPLOYMENT),
    Field("employer_type", "用人单位类型", "code", "employees only: legal-person unit "
          "(法人单位) or individual business (个体工商户)",
          codes=("legal_person", "individual_business")),
    Field("labour_contract", "劳动合同", "flag", "a filed labour contract (employees only)"),
    Field("job_years", "稳定就业年限", "count", "continuous years in stable employment"),
    Field("insured", "在保", "flag", "contributing to urban employee insurance now"),
    Field("insurance_years", "累计缴费年限", "count", "cumulative contribution years"),
    Field("employee_pension", "职工养老金", "flag", "draws an urban employee pension"),
    Field("enterprise_rep", "法定代表人", "flag", "legal representative of an enterprise"),
    Field("business_premises", "经营场所", "flag", "has business premises"),
    Field("business_licence", "营业执照", "flag", "holds a business licence"),
    Field("tax_years", "纳税年限", "count", "years of tax receipts (纳税凭证)"),
    Field("tax_relief", "减免税证明", "flag", "holds proof of tax relief"),
    Field("investment", "投资额", "amount", "capital invested in the enterprise, yuan"),
    Field("school_years_local", "本地连续就学年限", "count", "consecutive years at school in "
          "Panjin"),
    Field("residence_permit", "居住证", "flag", "holds a residence permit"),
    Field("permit_years", "持证年限", "count", "continuous years holding the permit"),
    Field("housing_tenure", "住房", "code", "the household's housing", codes=TENURE,
          household=True),
    Field("contract_land", "土地承包经营权", "flag", "rural contracted land", household=True),
    Field("homestead", "宅基地使用权", "flag", "rural homestead", household=True),
    Field("collective_income", "集体收益分配权", "flag", "share of collective income",
          household=True),
    Field("household_income", "家庭可支配收入", "amount", "household disposable income, "
          "yuan a year", household=True),
    Field("weight", "权重", "amount", "persons this row stands for (default 1; a sample "
          "extract gives 1 / sampling fraction)"),
)
BY_NAME = {f.name: f for f in FIELDS}
# file field -> model column, where the names differ (the rest keep their names)
COLUMN_OF = {"residence_permit": "permit", "housing_tenure": "tenure",
             "household_income": "income", "employer_type": "legal_person_employer"}
# counts bounded by the years a person could have worked (from WORKING_FROM)
WORK_COUNTS = ("job_years", "insurance_years", "tax_years")
EMPLOYEE_ONLY = ("employer_type", "labour_contract")


class PopulationError(Exception):
    """The extract cannot be used: the problems, by line, never naming an ID number."""


@dataclass
class Problem:
    """One problem of the extract: where (row index of the frame), which field, what."""

    row: int  # 0-based data row; -1 for the file as a whole
    field: str
    text: str


@dataclass
class Extract:
    """A read (not yet validated) extract: text columns, and how rows are named."""

    path: Path
    frame: pd.DataFrame  # every column as text, "" for empty
    first_line: int  # line (CSV) or row (Parquet) number of the first data row
    unit: str  # "line" or "row"
    problems: list[Problem] = field(default_factory=list)

    def where(self, row: int) -> str:
        """``file:line N`` of a data row (``file`` for the file as a whole)."""
        return f"{self.path.name}" if row < 0 else \
            f"{self.path.name}, {self.unit} {row + self.first_line}"


# ------------------------------------------------------------------ ID numbers

def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of an ID number.

    >>> check_digit("11010519491231002")
    'X'
    """
    total = sum(int(c) * int(w) for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return str(ID_CHECK_CHARS[total % 11])


def _id_digits(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Well-formed IDs (17 digits then a digit or X) and their 17 digits, rows × 17."""
    ok = ids.str.fullmatch(r"[0-9]{17}[0-9X]").to_numpy(bool)
    digits = np.zeros((len(ids), 17), np.int64)
    if ok.any():
        raw = np.frombuffer("".join(ids[ok].str[:17]).encode("ascii"), np.uint8)
        digits[ok] = raw.reshape(-1, 17) - ord("0")
    return ok, digits


def valid_id_numbers(ids: pd.Series) -> np.ndarray:
    """Whether each ID number is well formed and its check digit right (vectorized).

    >>> valid_id_numbers(pd.Series(["11010519491231002X", "11010519491231002"])).tolist()
    [True, False]
    """
    ids = ids.str.upper()
    ok, digits = _id_digits(ids)
    expected = ID_CHECK_CHARS[(digits @ ID_WEIGHTS) % 11]
    return ok & (ids.str[17].to_numpy(object) == expected)


def pseudonyms(ids: pd.Series, key: bytes) -> np.ndarray:
    """Each ID number's pseudonym: the first 62 bits of HMAC-SHA256 under ``key``, as the
    person's model id (int64). The same key and ID number give the same pseudonym; without
    the key it cannot be traced back.

    >>> pseudonyms(pd.Series(["11010519491231002X"]), b"k" * 32).dtype
    dtype('int64')
    """
    def one(id_number: str) -> int:
        digest = hmac.new(key, id_number.upper().encode("ascii"), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") >> (64 - PSEUDONYM_BITS)
    return np.fromiter((one(i) for i in ids), np.int64, len(ids))


# ------------------------------------------------------------------- the key

def default_key_path() -> Path:
    """Where a generated key is kept: ``$XDG_CONFIG_HOME/hukou-sim/id.key`` (by default
    ``~/.config/hukou-sim/id.key``), outside any results folder."""
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "hukou-sim" / "id.key"


def load_key(path: Path | None) -> tuple[bytes, Path, bool]:
    """The pseudonymization key (32 bytes, stored as 64 hex characters), its file, and
    whether it was created now. With no ``path`` the default key is used, and generated
    (mode 0600, in a 0700 folder) the first time."""
    created = False
    if path is None:
        path = default_key_path()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:  # O_EXCL: of two runs starting at once, one makes the key, both use it
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32) + "\n")
                created = True
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except OSError as e:
        raise PopulationError(f"{path}: cannot read the ID key: {e.strerror}") from None
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != 32:  # noqa: PLR2004 - 256 bits, the HMAC-SHA256 block's key size
        raise PopulationError(f"{path}: an ID key must be 64 hexadecimal characters (32 "
                              "bytes); make one with: openssl rand -hex 32 > KEYFILE")
    return key, path, created


def key_is_private(path: Path) -> bool:
    """Whether only the owner can read the key file (no group or other permissions)."""
    return not stat.S_IMODE(path.stat().st_mode) & 0o077


def key_fingerprint(key: bytes) -> str:
    """A short name of the key for the manifest (reveals nothing about the key)."""
    return hmac.new(key, b"hukou-sim key fingerprint", hashlib.sha256).hexdigest()[:12]


# ----------------------------------------------------------------- reading

def read_extract(path: Path) -> Extract:
    """Read a CSV (UTF-8) or Parquet extract as text columns; unreadable files are a
    `PopulationError` naming the file and the fix."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise PopulationError(f"{path}: --population must be a .csv or .parquet file")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                skip_blank_lines=False)
            return Extract(path, frame.fillna("").reset_index(drop=True), first_line=2,
                           unit="line")
        frame = pd.read_parquet(path)
    except OSError as e:
        raise PopulationError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise PopulationError(f"{path}: not UTF-8 text; save it as UTF-8 (in Excel: Save As, "
                              "'CSV UTF-8')") from None
    except pd.errors.EmptyDataError:
        raise PopulationError(f"{path}: the file is empty (a header line and one line per "
                              "person expected)") from None
    except (pd.errors.ParserError, ValueError, ImportError) as e:
        what = "CSV" if suffix == ".csv" else "Parquet"
        raise PopulationError(f"{path}: cannot read as {what}: "
                              f"{str(e).strip().splitlines()[0]}") from None
    return Extract(path, _as_text(frame.reset_index(drop=True)), first_line=1, unit="row")


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet's typed columns as the text a CSV would hold (dates YYYY-MM-DD, flags
    yes/no, missing values empty)."""
    out = {}
    for name, col in frame.items():
        if pd.api.types.is_datetime64_any_dtype(col):
            text = col.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(col):
            text = col.map({True: "yes", False: "no"})
        elif pd.api.types.is_float_dtype(col) and (col.dropna() % 1 == 0).all():
            text = col.astype("Int64").astype(str)
        else:
            text = col.astype(str)
        out[str(name)] = text.where(col.notna(), "").astype(str)
    return pd.DataFrame(out, index=frame.index)


# --------------------------------------------------------------- validation

def _shown(value: str) -> str:
    """A bad value quoted in a message, unless it could be personal (long, or a run of
    digits such as an ID number in the wrong column)."""
    if len(value) > 20 or sum(ch.isdigit() for ch in value) >= 6:  # noqa: PLR2004
        return "(value not shown: it could be personal data)"
    return repr(value)


def _parse_dates(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text.where(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}"), None),
                          format="%Y-%m-%d", errors="coerce")


class _Checker:
    """Collects the problems of one extract; `rows` adds one problem per flagged row."""

    def __init__(self, extract: Extract, base_year: int) -> None:
        self.extract, self.frame = extract, extract.frame
        self.base_date = pd.Timestamp(base_year, 12, 31)
        self.problems = extract.problems

    def rows(self, mask: np.ndarray | pd.Series, name: str,
             text: str | Callable[[np.ndarray], Iterable[str]]) -> None:
        """A problem on each row of ``mask``: ``text``, or ``text(rows)`` (one text per
        flagged row, so that messages are only made for rows that have a problem)."""
        flagged = np.flatnonzero(np.asarray(mask, bool))
        texts = [text] * len(flagged) if isinstance(text, str) else text(flagged)
        self.problems.extend(Problem(int(row), name, str(t))
                             for row, t in zip(flagged, texts, strict=True))

    def line(self, row: int) -> str:
        """``line N`` (CSV) or ``row N`` (Parquet) of a data row."""
        return f"{self.extract.unit} {row + self.extract.first_line}"

    def present(self, name: str) -> pd.Series:
        """Rows where the field has a value (all False when the column is absent)."""
        if name not in self.frame:
            return pd.Series(False, index=self.frame.index)
        return self.frame[name] != ""


def validate(extract: Extract, base_year: int) -> dict[str, Any]:
    """Check every row of ``extract``; return the parsed columns, with every problem added
    to ``extract.problems`` (nothing raised here)."""
    c = _Checker(extract, base_year)
    frame = extract.frame
    frame.columns = [str(col).strip() for col in frame.columns]
    for col in frame.columns:
        if col not in BY_NAME:
            near = difflib.get_close_matches(col, list(BY_NAME), n=1)
            c.problems.append(Problem(-1, col, "unknown column" + (
                f"; did you mean {near[0]!r}?" if near else "") + " (remove columns the model "
                "does not use: see docs/population_import.md)"))
    for f in FIELDS:
        if f.required and f.name not in frame:
            c.problems.append(Problem(-1, f.name, "required column missing"))
    for name in frame.columns:
        frame[name] = frame[name].str.strip()
    blank = (frame == "").all(axis=1).to_numpy()
    c.rows(blank, "-", "empty line")
    if len(frame) == 0:
        c.problems.append(Problem(-1, "-", "no persons in the file"))
    parsed: dict[str, Any] = {}
    for f in FIELDS:
        if f.name not in frame:
            continue
        text = frame[f.name]
        has = (text != "").to_numpy() & ~blank
        if f.required:
            c.rows(~has & ~blank, f.name, "missing (a required field)")
        parsed[f.name] = _parse_field(c, f, text, has)
    if any(p.row < 0 for p in c.problems):  # no usable columns: row checks would mislead
        return parsed
    _check_ids(c, parsed)
    _check_people(c, parsed)
    _check_households(c, parsed)
    return parsed


def _parse_field(c: _Checker, f: Field, text: pd.Series, has: np.ndarray) -> dict[str, Any]:
    """A field's values and the rows where they are valid ("ok")."""
    if f.kind == "id":
        text = text.str.upper()
        well_formed = text.str.fullmatch(r"[0-9]{17}[0-9X]").to_numpy(bool)
        c.rows(has & ~well_formed, f.name, "must be 18 characters: 17 digits and a check "
               "digit (0-9 or X)")
        valid = valid_id_numbers(text)
        c.rows(has & well_formed & ~valid, f.name, "check digit does not match the first 17 "
               "digits (ISO 7064 MOD 11-2): a typing error")
        return {"value": text, "ok": has & valid}
    if f.kind == "text":
        return {"value": text, "ok": has}
    if f.kind == "code":
        lowered = text.str.lower()
        code = pd.Index(f.codes).get_indexer(lowered)
        bad = has & (code < 0)
        c.rows(bad, f.name, lambda rows: (f"unknown code {_shown(v)}; allowed: "
                                          + ", ".join(f.codes) for v in lowered.iloc[rows]))
        return {"value": code, "ok": has & ~bad}
    if f.kind == "flag":
        lowered = text.str.lower()
        bad = has & ~lowered.isin(list(FLAGS)).to_numpy()
        c.rows(bad, f.name, lambda rows: (f"must be yes or no (also true/false, 1/0), got "
                                          f"{_shown(v)}" for v in text.iloc[rows]))
        return {"value": lowered.isin([k for k, v in FLAGS.items() if v]).to_numpy(),
                "ok": has & ~bad}
    if f.kind == "date":
        date = _parse_dates(text)
        bad = has & date.isna().to_numpy()
        c.rows(bad, f.name, "not a date: write YYYY-MM-DD (a day that exists)")
        late = has & ~bad & (date > c.base_date).to_numpy()
        c.rows(late, f.name, f"after {c.base_date:%Y-%m-%d}: the model starts from the end "
               f"of {c.base_date.year}")
        return {"value": date, "ok": has & ~bad & ~late}
    number_like = text.str.fullmatch(r"[0-9]+" if f.kind == "count" else r"[0-9]+(\.[0-9]*)?")
    number = text.where(number_like, "0").astype(float)
    bad = has & ~number_like.to_numpy(bool)
    c.rows(bad, f.name, "must be a whole number, 0 or more" if f.kind == "count"
           else "must be a number, 0 or more (no thousands separators)")
    if f.name == "weight":
        zero = has & ~bad & (number <= 0).to_numpy()
        c.rows(zero, f.name, "must be more than 0")
        bad |= zero
    return {"value": number.to_numpy(), "ok": has & ~bad}


def _ok(parsed: dict, name: str, n: int) -> np.ndarray:
    """Rows where field ``name`` holds a valid value (none when the column is absent)."""
    return parsed[name]["ok"] if name in parsed else np.zeros(n, bool)


def _check_ids(c: _Checker, parsed: dict) -> None:
    """Embedded birth date and sex, and duplicates (named by the first line)."""
    if "id_number" not in parsed:
        return
    ids, ok = parsed["id_number"]["value"], parsed["id_number"]["ok"]
    if "birth_date" in parsed:
        both = ok & parsed["birth_date"]["ok"]
        stated = parsed["birth_date"]["value"].dt.strftime("%Y%m%d")
        c.rows(both & (ids.str[6:14] != stated).to_numpy(), "birth_date",
               "differs from the birth date in the ID number (its digits 7-14)")
    if "sex" in parsed:
        both = ok & parsed["sex"]["ok"]
        male = ids.str[16].isin(list("13579")).to_numpy()
        c.rows(both & (male != (parsed["sex"]["value"] == 1)), "sex",
               "differs from the ID number (its 17th digit is odd for men, even for women)")
    dup = ids.duplicated(keep="first").to_numpy() & ok
    if dup.any():
        first = pd.Series(np.arange(len(ids))).groupby(ids.to_numpy()).transform("min")
        c.rows(dup, "id_number", lambda rows: (f"same ID number as {c.line(first.iloc[r])}"
                                               for r in rows))


def _check_people(c: _Checker, parsed: dict) -> None:
    """Ages, date order, where people live, and fields that belong to employees."""
    if "birth_date" not in parsed:
        return
    birth, born_ok = parsed["birth_date"]["value"], parsed["birth_date"]["ok"]
    age = (c.base_date.year - birth.dt.year).to_numpy()
    old = born_ok & (age > OLDEST_AGE)
    c.rows(old, "birth_date", f"age over {OLDEST_AGE} at the end of {c.base_date.year}: "
           "check the year")
    born_ok = born_ok & ~old
    parsed["age"] = np.where(born_ok, age, 0)
    if "residence_since" in parsed:
        since = parsed["residence_since"]
        early = since["ok"] & born_ok & (since["value"] < birth).to_numpy()
        c.rows(early, "residence_since", "before the birth date")
        since["ok"] = since["ok"] & ~early
    for name in WORK_COUNTS + ("school_years_local", "permit_years"):
        if name in parsed:
            most = np.maximum(age - (WORKING_FROM if name in WORK_COUNTS else 0), 0)
            over = parsed[name]["ok"] & born_ok & (parsed[name]["value"] > most)
            bound = f" = age − {WORKING_FROM})" if name in WORK_COUNTS else " = age)"
            c.rows(over, name, lambda rows, most=most, bound=bound: (
                f"more years than the person's age allows ({int(most[r])}{bound}"
                for r in rows))
    if {"hukou_area", "residence_area"} <= set(parsed):
        hukou, home = parsed["hukou_area"], parsed["residence_area"]
        n_areas = len(load_areas())
        stranger = hukou["ok"] & home["ok"] & (hukou["value"] == n_areas) & (
            home["value"] == n_areas)
        c.rows(stranger, "residence_area", "outside, with a hukou outside too: the person "
               "is not part of Panjin's population")
        inside = home["ok"] & (home["value"] < n_areas)
        place_given = _ok(parsed, "residence_place", len(c.frame))
        c.rows(inside & ~c.present("residence_place").to_numpy(), "residence_place",
               "missing: required for a person living in Panjin; allowed: "
               + ", ".join(PLACES))
        c.rows(home["ok"] & ~inside & place_given, "residence_place",
               "must be empty for a person living outside Panjin")
        if "hukou_origin" in parsed:
            o = parsed["hukou_origin"]
            c.rows(o["ok"] & hukou["ok"] & (hukou["value"] == n_areas) & (o["value"] == PANJIN),
                   "hukou_origin", "panjin, but hukou_area is outside; allowed: liaoning, "
                   "other_province")
    if "employment" in parsed:
        employee = parsed["employment"]["ok"] & (parsed["employment"]["value"] == EMPLOYED)
        for name in EMPLOYEE_ONLY:
            if name in parsed:
                given = parsed[name]["ok"] & (True if name == "employer_type"  # any type
                                              else parsed[name]["value"])  # a contract
                c.rows(given & ~employee, name, "only for employment = employed")


def _check_households(c: _Checker, parsed: dict) -> None:
    """Exactly one head per household; members share where they live and the household's
    fields (on the head's row; other rows empty or the same)."""
    if not {"household_id", "relation"} <= set(parsed):
        return
    hh = parsed["household_id"]["value"]
    ok = parsed["household_id"]["ok"] & parsed["relation"]["ok"]
    head = ok & (parsed["relation"]["value"] == HEAD)
    keys = hh.to_numpy()
    rows = np.flatnonzero(ok)
    members = pd.DataFrame({"key": keys[rows], "row": rows, "head": head[rows]})
    heads = members.groupby("key", sort=False)["head"].sum()
    unit = c.extract.unit
    for key, rows_of in members[members.key.isin(heads.index[heads != 1])].groupby(
            "key", sort=False)["row"]:
        shown = ", ".join(str(r + c.extract.first_line) for r in rows_of[:6])
        words = "has no head" if heads[key] == 0 else f"has {heads[key]} heads"
        c.problems.append(Problem(int(rows_of.min()), "relation", f"the household of "
                                  f"{unit}s {shown}{' …' if len(rows_of) > 6 else ''} "  # noqa: PLR2004
                                  f"{words}: exactly one member must be the head"))
    group = np.arange(len(keys))
    head_row = pd.Series(np.where(head, group, -1)).groupby(keys).transform("max").to_numpy()
    has_head = ok & (head_row >= 0) & ~head
    for name in ("residence_area", "residence_place") + tuple(f.name for f in FIELDS
                                                               if f.household):
        if name not in parsed:
            continue
        value, good = np.asarray(parsed[name]["value"]), parsed[name]["ok"]
        hr = np.where(has_head, head_row, 0)
        differs = has_head & good & good[hr] & (value != value[hr])
        why = ("a household lives in one place" if name.startswith("residence") else
               "a household field is read from the head's row; leave it empty on other rows")
        c.rows(differs, name, lambda rows, hr=hr, why=why: (
            f"differs from the head's ({c.line(hr[r])}): {why}" for r in rows))


def report(extract: Extract) -> str:
    """The problems as lines ``file:line N: field: problem``, the first `SHOWN_PROBLEMS`
    in file order and a count of the rest."""
    problems = sorted(extract.problems, key=lambda p: (p.row, p.field))
    n = len(problems)
    lines = [f"{extract.path}: {n} problem{'s' if n != 1 else ''} in the population file; "
             "nothing was run or written" + (f" (the first {SHOWN_PROBLEMS} listed)"
                                             if n > SHOWN_PROBLEMS else "")]
    lines += [f"  {extract.where(p.row)}: {p.field}: {p.text}"
              for p in problems[:SHOWN_PROBLEMS]]
    if n > SHOWN_PROBLEMS:
        lines.append(f"  … and {n - SHOWN_PROBLEMS} more (fix these and run again to see "
                     "them)")
    return "\n".join(lines)


# ----------------------------------------------------------------- the state

def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes, for the manifest (identifies the extract used)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ImportedPopulation:
    """A validated, pseudonymized extract: every column the model needs, no ID number.

    `state` builds the base-year `State` (persons in ID-number order, so the row order
    of the file does not matter), drawing what the file leaves out with the replicate's
    random generator.
    """

    file: str
    rows: int
    sha256: str
    key_fingerprint: str
    persons: dict[str, np.ndarray]  # model column -> values (given rows only matter)
    given: dict[str, np.ndarray]  # model column -> rows where the file gave a value
    household: np.ndarray  # household index of each person
    n_households: int

    def state(self, rng: np.random.Generator) -> tuple[State, FitReport]:
        """The base-year state and how it compares with the base data's marginals."""
        base = load_base()
        p = base_year_parameters(base)
        n = self.rows
        persons = Persons.empty(n)
        households = Households.empty(self.n_households)
        households.id[:] = np.arange(self.n_households)
        persons.household[:] = self.household
        for column, values in self.persons.items():
            if column in Persons.schema:
                getattr(persons, column)[:] = values
        status = _status(persons)
        head = persons.role == HEAD
        household_status = np.empty(self.n_households, np.int64)
        household_status[persons.household[head]] = status[head]
        if not self.given["residence_years"].all():
            drawn = residence_years(status, persons.age, base, rng)
            persons.residence_years[:] = np.where(self.given["residence_years"],
                                                  persons.residence_years, drawn)
        rural = (persons.hukou_area >= 0) & ~persons.hukou_urban & ~self.given["village"]
        if rural.any():
            draw = rng.random(self.n_households)[persons.household]
            persons.village[rural] = village_of(persons.hukou_area, draw, base)[rural]
        for column in ("tenure", "contract_land", "homestead", "collective_income", "income"):
            if column in self.persons:
                getattr(households, column)[persons.household[head]] = \
                    self.persons[column][head]
        given = {k: v for k, v in self.given.items() if k not in ("residence_years", "village")}
        given |= {k: np.bincount(persons.household[head], v[head], self.n_households) > 0
                  for k, v in self.given.items() if k in Households.schema}
        assign_attributes(persons, households, status, household_status, base, p, rng, given)
        state = State(persons=persons, households=households, year=base["year"],
                      next_person_id=1 << PSEUDONYM_BITS,
                      next_household_id=self.n_households)
        return state, fit_report(state, base, p)

    def manifest(self) -> dict[str, Any]:
        """What the run folder says about the extract: never its content."""
        return {"source": "registry extract (--population)", "file": self.file,
                "rows": self.rows, "sha256": self.sha256,
                "key_fingerprint": self.key_fingerprint,
                "persons_represented": float(self.persons["weight"].sum()),
                "scale_note": "run.scale does not apply: one agent per row of the file, "
                              "each standing for its weight (default 1)"}

    @property
    def scale(self) -> float:
        """Agents per person represented (1 for a full extract): the run's scale."""
        return self.rows / float(self.persons["weight"].sum())


def _status(persons: Persons) -> np.ndarray:
    """Each person's status (`sim.synthesis.STATUSES`) from hukou and residence, as the
    synthesis uses it; Panjin hukou holders living outside count as away, as there."""
    local = persons.hukou_area >= 0
    home = (persons.area == persons.hukou_area) & (persons.place == VILLAGE)
    return np.select(
        [local & persons.hukou_urban & (persons.area >= 0), local & home,
         local, persons.origin == LIAONING],
        [LOCAL_URBAN, LOCAL_RURAL_HOME, LOCAL_RURAL_AWAY, MIGRANT_LIAONING], MIGRANT_PROVINCE)


def _model_columns(parsed: dict, base_year: int, n_villages: int
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The parsed fields as model columns, and where each was given."""
    n_areas = len(load_areas())
    n = len(parsed["id_number"]["value"])
    cols: dict[str, np.ndarray] = {}
    given: dict[str, np.ndarray] = {}

    def area(code: np.ndarray) -> np.ndarray:  # the code after the areas means outside
        return np.where(code == n_areas, OUTSIDE, code)
    cols["age"] = parsed["age"]
    cols["sex"] = parsed["sex"]["value"]
    cols["role"] = parsed["relation"]["value"]
    cols["hukou_urban"] = parsed["hukou_type"]["value"] == 0
    cols["hukou_area"] = area(parsed["hukou_area"]["value"])
    cols["area"] = area(parsed["residence_area"]["value"])
    place = parsed.get("residence_place", {"value": np.full(n, NONE), "ok": np.zeros(n, bool)})
    cols["place"] = np.where(place["ok"], place["value"], NONE)
    for name, f in BY_NAME.items():
        if f.required or name in ("residence_place", "residence_since", "village",
                                  "hukou_origin", "weight") or name not in parsed:
            continue
        column = COLUMN_OF.get(name, name)
        cols[column] = np.asarray(parsed[name]["value"])
        if name == "employer_type":
            cols[column] = cols[column] == 0  # legal_person
        given[column] = parsed[name]["ok"]
    ok = parsed["residence_since"]["ok"] if "residence_since" in parsed else np.zeros(n, bool)
    since = parsed["residence_since"]["value"] if "residence_since" in parsed else None
    cols["residence_years"] = (base_year - since.dt.year.fillna(base_year)).to_numpy() \
        if since is not None else np.zeros(n)
    given["residence_years"] = ok
    village = parsed.get("village", {"value": pd.Series([""] * n), "ok": np.zeros(n, bool)})
    codes = pd.factorize(village["value"].where(village["ok"], None), sort=True)[0]
    rural = (cols["hukou_area"] >= 0) & ~cols["hukou_urban"]
    cols["village"] = np.where(rural & village["ok"], n_villages + codes, NONE)
    given["village"] = village["ok"] | ~rural
    inside = cols["hukou_area"] >= 0
    liaoning = parsed["id_number"]["value"].str[:2].to_numpy() == LIAONING_PROVINCE_CODE
    origin = np.where(inside, PANJIN, np.where(liaoning, LIAONING, OTHER_PROVINCE))
    if "hukou_origin" in parsed:
        origin = np.where(parsed["hukou_origin"]["ok"], parsed["hukou_origin"]["value"], origin)
    cols["origin"] = origin
    married = cols.pop("married", None)
    spouse = pd.Series(cols["role"] == SPOUSE).groupby(parsed["household_id"]["value"]
                                                       .to_numpy()).transform("any")
    default = spouse.to_numpy() & np.isin(cols["role"], (HEAD, SPOUSE))
    cols["married"] = default if married is None else np.where(given["married"], married,
                                                               default)
    given.pop("married", None)
    cols["weight"] = parsed["weight"]["value"] if "weight" in parsed else np.ones(n)
    cols["weight"] = np.where(cols["weight"] > 0, cols["weight"], 1.0)
    if "investment" in cols:
        cols["investment"] = cols["investment"].astype(float)
    return cols, given


def load_population(path: Path, key_file: Path | None = None,
                    announce: Callable[[str], None] | None = None) -> ImportedPopulation:
    """Read, validate and pseudonymize a registry extract; a `PopulationError` lists every
    problem. The key (``key_file``, or the default one, generated on first use) is only
    read once the file is valid, so a refused file creates nothing. ``announce(text)``
    is told which key is used."""
    base = load_base()
    extract = read_extract(path)
    parsed = validate(extract, base["year"])
    if extract.problems:
        raise PopulationError(report(extract))
    key, key_path, created = load_key(key_file)
    if announce is not None:
        announce(f"{'created a new' if created else 'using the'} ID key {key_path} "
                 f"({'0600, ' if key_is_private(key_path) else 'WARNING: readable by others; '}"
                 "keep it outside the results; the same key gives the same pseudonyms)")
    ids = parsed["id_number"]["value"]
    ids_pseudo = pseudonyms(ids, key)
    if len(np.unique(ids_pseudo)) < len(ids_pseudo):
        raise PopulationError(f"{path}: two ID numbers share a pseudonym under this key (a "
                              "chance of about 1 in 10^7): use another key")
    n_villages = sum(base["area"][a]["villages"] for a in load_areas().ids)
    cols, given = _model_columns(parsed, base["year"], n_villages)
    order = np.argsort(ids.to_numpy(), kind="stable")  # whatever the file's row order
    household_keys = extract.frame["household_id"].to_numpy()[order]
    household, _ = pd.factorize(household_keys)
    cols["id"] = ids_pseudo
    cols = {k: np.asarray(v)[order] for k, v in cols.items()}
    del parsed, ids, extract  # no ID number beyond this point
    given = {k: np.asarray(v, bool)[order] for k, v in given.items()}
    return ImportedPopulation(file=path.name, rows=len(order), sha256=file_sha256(path),
                              key_fingerprint=key_fingerprint(key), persons=cols, given=given,
                              household=household, n_households=int(household.max()) + 1)
