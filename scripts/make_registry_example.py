"""Write a synthetic registry extract for ``hukou-sim run --population`` (never real data).

    python scripts/make_registry_example.py OUT.csv [--persons 20000] [--seed 1]
    python scripts/make_registry_example.py OUT_bad.csv --bad [--persons 20000] [--seed 1]

The persons are the model's own synthetic 2015 population (`sim.synthesis`), whole
households drawn until exactly ``--persons`` rows, so the extract is plausible; every
field of docs/population_import.md is filled (household fields on the head's row only).
Each row stands for ``weight`` persons of the city. ID numbers have valid ISO 7064
MOD 11-2 check digits and the person's birth date and sex, under address codes whose
prefecture part is 99, which no real division has (GB/T 2260): no generated number can
be a real person's.

``--bad`` writes the same extract's twin with 100 planted errors, 10 of each of 10
kinds (`KINDS`), one problem per error, and beside it ``OUT.planted.csv`` listing each
error's line, field and kind. ``.parquet`` output is written when OUT ends so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    OTHER,
    PLACES,
    ROLES,
    TENURE,
    Persons,
)
from sim.registry import WORKING_FROM, check_digit
from sim.synthesis import synthesize

CITY_PERSONS = 1.4e6  # about Panjin's residents and registered persons living outside
FICTIVE_PREFECTURE = "99"  # no real prefecture has this code: IDs cannot be real ones
OTHER_PROVINCES = ("11", "12", "13", "14", "15", "22", "23", "31", "32", "33", "34", "35",
                   "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53",
                   "61", "62", "63", "64", "65")
KINDS = ("check_digit", "id_length", "id_birth_date", "duplicate_id", "household_head",
         "unknown_code", "impossible_date", "impossible_age", "missing_required",
         "residence_before_birth")
PER_KIND = 10
BASE_YEAR = 2015


def yes_no(values: np.ndarray) -> np.ndarray:
    return np.where(values, "yes", "no")


def _households_to(persons: Persons, n: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of whole households, in random order, exactly ``n`` persons (the last few
    places filled with one-person households)."""
    sizes = np.bincount(persons.household)
    order = rng.permutation(np.flatnonzero(sizes))
    taken = order[np.cumsum(sizes[order]) <= n]
    missing = n - sizes[taken].sum()
    singles = np.setdiff1d(order[sizes[order] == 1], taken)
    if missing > len(singles):
        raise SystemExit(f"cannot make exactly {n} persons from this population")
    keep = np.r_[taken, rng.choice(singles, missing, replace=False)]
    rows = np.flatnonzero(np.isin(persons.household, keep))
    return rows[np.lexsort((persons.role[rows], persons.household[rows]))]  # head first


def id_numbers(address: np.ndarray, birth: pd.Series, male: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Unique 18-character ID numbers: address code, birth date, sequence (odd for men),
    check digit."""
    dates = birth.dt.strftime("%Y%m%d").to_numpy()
    first17 = np.empty(len(address), object)
    todo = np.ones(len(address), bool)
    while todo.any():
        seq = rng.integers(0, 50, todo.sum()) * 2 + male[todo]  # 0..99, parity = sex
        first17[todo] = [f"{a}{d}{rng.integers(0, 10)}{s:02d}" for a, d, s
                         in zip(address[todo], dates[todo], seq, strict=True)]
        todo = pd.Series(first17).duplicated().to_numpy()
    return np.array([f + check_digit(f) for f in first17])


def make_extract(n: int, seed: int) -> pd.DataFrame:
    """``n`` persons of the synthetic population as registry rows (every field)."""
    rng = np.random.default_rng(seed)
    scale = min(1.0, 1.15 * n / CITY_PERSONS)
    state, _ = synthesize(scale, rng)
    rows = _households_to(state.persons, n, rng)
    p = state.persons.take(rows)
    h = state.households
    areas = np.array([*load_areas().ids, "outside"])
    birth = pd.to_datetime(pd.Series(BASE_YEAR - p.age.astype(int)).astype(str) + "-01-01") \
        + pd.to_timedelta(rng.integers(0, 365, len(p)), unit="D")
    since_year = pd.to_datetime(pd.Series(BASE_YEAR - p.residence_years.astype(int))
                                .astype(str) + "-01-01")
    since = np.maximum(since_year + pd.to_timedelta(rng.integers(0, 365, len(p)), unit="D"),
                       birth)
    province = np.where(p.origin == LIAONING, "21",
                        np.where(p.origin == ORIGINS.index("other_province"),
                                 rng.choice(OTHER_PROVINCES, len(p)), "21"))
    address = np.array([f"{pr}{FICTIVE_PREFECTURE}{k:02d}" for pr, k
                        in zip(province, rng.integers(1, 30, len(p)), strict=True)])
    head = p.role == HEAD
    household, _ = pd.factorize(p.household)
    hh = p.household
    employee = p.employment == EMPLOYED
    work_most = np.maximum(p.age.astype(int) - WORKING_FROM, 0)

    def on_head(values: np.ndarray) -> np.ndarray:
        return np.where(head, values, "")

    return pd.DataFrame({
        "id_number": id_numbers(address, birth, p.sex == 1, rng),
        "household_id": [f"H{k:06d}" for k in household],
        "relation": np.array(ROLES)[p.role],
        "birth_date": birth.dt.strftime("%Y-%m-%d"),
        "sex": np.where(p.sex == 1, "male", "female"),
        "hukou_type": np.where(p.hukou_urban, "urban", "rural"),
        "hukou_area": areas[p.hukou_area],
        "residence_area": areas[p.area],
        "residence_place": np.where(p.area >= 0, np.array(PLACES)[p.place], ""),
        "residence_since": since.dt.strftime("%Y-%m-%d"),
        "hukou_origin": np.array(ORIGINS)[p.origin],
        "village": np.where(p.village != NONE, [f"V{v:04d}" for v in p.village], ""),
        "married": yes_no(p.married),
        "education": np.array(EDUCATION)[p.education],
        "vocational_cert": yes_no(p.vocational_cert),
        "employment": np.array(EMPLOYMENT)[p.employment],
        "employer_type": np.where(employee, np.where(p.legal_person_employer, "legal_person",
                                                     "individual_business"), ""),
        "labour_contract": yes_no(p.labour_contract),
        "job_years": np.minimum(p.job_years, work_most),
        "insured": yes_no(p.insured),
        # the synthesis gives some early retirees more years than their age allows
        "insurance_years": np.minimum(p.insurance_years, work_most),
        "employee_pension": yes_no(p.employee_pension),
        "enterprise_rep": yes_no(p.enterprise_rep),
        "business_premises": yes_no(p.business_premises),
        "business_licence": yes_no(p.business_licence),
        "tax_years": np.minimum(p.tax_years, work_most),
        "tax_relief": yes_no(p.tax_relief),
        "investment": np.round(p.investment).astype(int),
        "school_years_local": p.school_years_local,
        "residence_permit": yes_no(p.permit),
        "permit_years": p.permit_years,
        "housing_tenure": on_head(np.array(TENURE)[h.tenure[hh]]),
        "contract_land": on_head(yes_no(h.contract_land[hh])),
        "homestead": on_head(yes_no(h.homestead[hh])),
        "collective_income": on_head(yes_no(h.collective_income[hh])),
        "household_income": on_head(np.round(h.income[hh]).astype(int).astype(str)),
        "weight": round(len(state.persons) / scale / n, 3),  # the extract stands for the city
    })


def plant_errors(good: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The extract with `PER_KIND` errors of each of `KINDS`, each on its own row and
    giving exactly one problem; and the list of (line, field, kind)."""
    rng = np.random.default_rng(seed + 1)
    bad = good.copy()
    line = lambda row: int(row) + 2  # noqa: E731 - header is line 1
    planted: list[tuple[int, str, str]] = []
    size = bad.groupby("household_id").household_id.transform("size").to_numpy()
    head = (bad.relation == "head").to_numpy()
    free = np.ones(len(bad), bool)

    def pick(mask: np.ndarray, k: int = PER_KIND) -> np.ndarray:
        rows = rng.choice(np.flatnonzero(mask & free), k, replace=False)
        free[rows] = False
        return rows

    def reissue(row: int, birth: str) -> None:  # a new, valid ID number for a birth date
        first17 = bad.at[row, "id_number"][:6] + birth.replace("-", "") \
            + bad.at[row, "id_number"][14:17]
        bad.at[row, "id_number"] = first17 + check_digit(first17)
        bad.at[row, "birth_date"] = birth

    # household kinds first: their whole household is kept free of other errors
    households = rng.choice(bad.household_id[head & (size >= 2)].unique(), PER_KIND,
                            replace=False)
    for i, hid in enumerate(households):
        members = np.flatnonzero((bad.household_id == hid).to_numpy())
        free[members] = False
        first = members.min()
        if i % 2:
            bad.at[first, "relation"] = ROLES[OTHER]
        else:
            bad.at[members[members != first][0], "relation"] = "head"
        planted.append((line(first), "relation", "household_head"))
    for row in pick(np.ones(len(bad), bool)):
        old = bad.at[row, "id_number"]
        bad.at[row, "id_number"] = old[:17] + ("0" if old[17] != "0" else "1")
        planted.append((line(row), "id_number", "check_digit"))
    for row in pick(np.ones(len(bad), bool)):
        bad.at[row, "id_number"] = bad.at[row, "id_number"][:17]
        planted.append((line(row), "id_number", "id_length"))
    for row in pick(np.ones(len(bad), bool)):
        year = int(bad.at[row, "birth_date"][:4]) - 1
        bad.at[row, "birth_date"] = f"{year}{bad.at[row, 'birth_date'][4:]}".replace(
            "-02-29", "-02-28")
        planted.append((line(row), "birth_date", "id_birth_date"))
    targets = pick(head & (size == 1))
    sources = pick(np.ones(len(bad), bool))
    keep = ["household_id", "relation", "housing_tenure", "contract_land", "homestead",
            "collective_income", "household_income", "married"]
    for row, source in zip(targets, sources, strict=True):
        for col in bad.columns.difference(keep):
            bad.at[row, col] = bad.at[source, col]
        planted.append((line(max(row, source)), "id_number", "duplicate_id"))  # the later
    for i, row in enumerate(pick(np.ones(len(bad), bool))):
        col = "education" if i % 2 else "hukou_type"
        bad.at[row, col] = "doctorate" if i % 2 else "semi-urban"
        planted.append((line(row), col, "unknown_code"))
    for row in pick(np.ones(len(bad), bool)):
        bad.at[row, "residence_since"] = bad.at[row, "residence_since"][:5] + "02-30"
        planted.append((line(row), "residence_since", "impossible_date"))
    for i, row in enumerate(pick(np.ones(len(bad), bool))):
        reissue(row, "1880-05-01" if i % 2 else "2017-03-01")  # 135, or not yet born
        planted.append((line(row), "birth_date", "impossible_age"))
    for i, row in enumerate(pick(np.ones(len(bad), bool))):
        col = "sex" if i % 2 else "hukou_type"
        bad.at[row, col] = ""
        planted.append((line(row), col, "missing_required"))
    for row in pick(np.ones(len(bad), bool)):
        born = pd.Timestamp(bad.at[row, "birth_date"])
        bad.at[row, "residence_since"] = f"{born.year - 1}-06-15"
        planted.append((line(row), "residence_since", "residence_before_birth"))
    planted_frame = pd.DataFrame(planted, columns=["line", "field", "kind"])
    return bad, planted_frame.sort_values("line").reset_index(drop=True)


def write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="file to write (.csv or .parquet)")
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad", action="store_true",
                        help="write the twin with 100 planted errors of 10 kinds")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"{args.out}: exists; give a new file", file=sys.stderr)
        return 2
    frame = make_extract(args.persons, args.seed)
    if args.bad:
        frame, planted = plant_errors(frame, args.seed)
        sidecar = args.out.with_name(args.out.name + ".planted.csv")
        planted.to_csv(sidecar, index=False)
        print(f"{sidecar}: {len(planted)} planted errors, "
              + ", ".join(f"{k} {v}" for k, v in planted.kind.value_counts().items()))
    write(frame, args.out)
    print(f"{args.out}: {len(frame)} persons in {frame.household_id.nunique()} households "
          f"(synthetic; seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
