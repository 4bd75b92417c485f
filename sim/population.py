"""Persons and households stored as columns (struct-of-arrays).

Every agent is one row; every attribute is one numpy array. Rules are
vectorized functions over these columns, as in OpenFisca and mesa-frames: a
yearly step over the whole city (~1.4 million persons) takes a few numpy passes
instead of a million Python calls.

Codes used in the columns are listed once here (``PLACES``, ``EDUCATION`` ...)
so that data files, rules and reports all refer to the same names.

Example
-------
>>> import numpy as np
>>> t = Persons.empty(2)
>>> t.age[:] = [30, 5]
>>> t.take(np.array([True, False])).age.tolist()
[30]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

# Where a person lives inside an area (居住地类型).
PLACES = ("urban_district", "county_seat_town", "designated_town", "village")
URBAN_DISTRICT, COUNTY_SEAT_TOWN, DESIGNATED_TOWN, VILLAGE = range(4)
URBAN_PLACES = (URBAN_DISTRICT, COUNTY_SEAT_TOWN, DESIGNATED_TOWN)

# Origin of a person's hukou (户籍所在地).
ORIGINS = ("panjin", "liaoning", "other_province")
PANJIN, LIAONING, OTHER_PROVINCE = range(3)

# Highest education completed. Clause 六 distinguishes 中专 (secondary specialized,
# counts on its own) from 技校/职高 (technical / vocational high school, counts
# only with a primary vocational qualification).
EDUCATION = ("primary", "junior_secondary", "senior_secondary", "secondary_specialized",
             "technical_school", "college")
PRIMARY, JUNIOR, SENIOR, SECONDARY_SPECIALIZED, TECHNICAL_SCHOOL, COLLEGE = range(6)

# Main activity.
EMPLOYMENT = ("none", "farming", "employed", "self_employed")
NOT_WORKING, FARMING, EMPLOYED, SELF_EMPLOYED = range(4)

# Housing tenure of a household (住房).
TENURE = ("own", "rent", "dormitory", "relatives")
OWN, RENT, DORMITORY, RELATIVES = range(4)

# Relationship to the household head.
ROLES = ("head", "spouse", "child", "parent", "other")
HEAD, SPOUSE, CHILD, PARENT, OTHER = range(5)

# Settlement channels (落户渠道), the `category` of the `settlements` indicator.
CHANNELS = ("town", "urban_district", "talent", "investment", "urban_village")
TOWN, URBAN_DISTRICT_CHANNEL, TALENT, INVESTMENT, URBAN_VILLAGE = range(5)

NONE = -1  # "no value" in integer code columns (no hukou area in Panjin, no village ...)
OUTSIDE = -1  # area code of a place outside Panjin


class Table:
    """A set of equal-length numpy columns; subclasses fix the schema.

    Rows are agents. ``take`` keeps a subset, ``extend`` appends rows; both
    return new tables, so a stage can compute on a snapshot safely.
    """

    schema: ClassVar[dict[str, np.dtype]] = {}

    def __init__(self, **columns: np.ndarray) -> None:
        missing = set(self.schema) - set(columns)
        extra = set(columns) - set(self.schema)
        if missing or extra:
            raise ValueError(f"{type(self).__name__}: missing {sorted(missing)}, "
                             f"unknown {sorted(extra)}")
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"{type(self).__name__}: columns differ in length {lengths}")
        for name, dtype in self.schema.items():
            object.__setattr__(self, name, np.ascontiguousarray(columns[name], dtype=dtype))

    @classmethod
    def empty(cls, n: int) -> Table:
        """A table of ``n`` rows, zeros everywhere (``NONE`` for id-like columns)."""
        cols = {}
        for name, dtype in cls.schema.items():
            fill = NONE if name in cls._none_filled else np.nan if name in cls._nan_filled else 0
            cols[name] = np.full(n, fill, dtype=dtype)
        return cls(**cols)

    _none_filled: ClassVar[frozenset[str]] = frozenset()
    _nan_filled: ClassVar[frozenset[str]] = frozenset()

    def __len__(self) -> int:
        first = next(iter(self.schema))
        return len(getattr(self, first))

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.schema}

    def take(self, index: np.ndarray) -> Table:
        """Rows selected by a boolean mask or an integer index."""
        return type(self)(**{k: v[index] for k, v in self.columns().items()})

    def extend(self, other: Table) -> Table:
        """This table followed by the rows of ``other``."""
        return type(self)(**{k: np.concatenate([v, getattr(other, k)])
                             for k, v in self.columns().items()})

    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.columns().values())


class Persons(Table):
    """One row per person (个人). ``household`` is a row index into `Households`."""

    schema = {
        "id": np.dtype(np.int64),            # opaque, unique, never reused
        "household": np.dtype(np.int64),     # row in Households
        "weight": np.dtype(np.float32),      # persons this agent stands for (1/scale)
        "sex": np.dtype(np.int8),            # 0 female, 1 male
        "age": np.dtype(np.int16),
        "role": np.dtype(np.int8),           # ROLES
        "married": np.dtype(np.bool_),
        # where the person lives (常住地)
        "area": np.dtype(np.int8),           # index into areas; OUTSIDE = lives outside Panjin
        "place": np.dtype(np.int8),          # PLACES
        "residence_years": np.dtype(np.int16),  # continuous years at this area+place
        # household registration (户籍)
        "hukou_area": np.dtype(np.int8),     # area of the hukou; OUTSIDE = not Panjin hukou
        "hukou_urban": np.dtype(np.bool_),   # urban (城镇) vs rural (农村) registration
        "origin": np.dtype(np.int8),         # ORIGINS: where the hukou came from; kept on settling
        "village": np.dtype(np.int32),       # rural collective of a Panjin rural hukou; NONE
        "settled_year": np.dtype(np.int16),  # year of settling through a channel; NONE
        "settled_channel": np.dtype(np.int8),  # CHANNELS; NONE
        # life course
        "education": np.dtype(np.int8),      # EDUCATION
        "vocational_cert": np.dtype(np.bool_),  # 初级以上职业资格证书
        "employment": np.dtype(np.int8),     # EMPLOYMENT
        "labour_contract": np.dtype(np.bool_),  # filed labour contract (劳动合同)
        "legal_person_employer": np.dtype(np.bool_),  # employer is a legal-person unit (法人单位),
        #                                      not an individual business (个体工商户)
        "job_years": np.dtype(np.int16),     # continuous years in stable employment
        "insured": np.dtype(np.bool_),       # contributing to urban employee insurance now (在保)
        "insurance_years": np.dtype(np.int16),  # cumulative contribution years (累计缴费年限);
        #                                      kept on job loss, frozen at retirement
        "employee_pension": np.dtype(np.bool_),  # draws an urban employee pension (职工养老金)
        "enterprise_rep": np.dtype(np.bool_),   # legal representative (法定代表人)
        "business_premises": np.dtype(np.bool_),
        "business_licence": np.dtype(np.bool_),
        "tax_years": np.dtype(np.int16),     # years of tax receipts (纳税凭证)
        "tax_relief": np.dtype(np.bool_),    # holds proof of tax relief (减免税证明)
        "investment": np.dtype(np.float32),  # capital the enterprise rep invested, yuan (2015)
        "school_years_local": np.dtype(np.int16),  # consecutive years schooled in Panjin
        # residence permit (居住证)
        "permit": np.dtype(np.bool_),
        "permit_years": np.dtype(np.int16),  # continuous years held; a lapse resets it
    }
    _none_filled = frozenset({"village", "settled_year", "settled_channel"})


class Households(Table):
    """One row per household (家庭户). Rows are never removed, so indices stay valid."""

    schema = {
        "id": np.dtype(np.int64),
        "tenure": np.dtype(np.int8),         # TENURE
        # a fixed uniform draw per household and home: the landlord lets a renter
        # register there when it is below policy.landlord_consent_share
        "landlord_draw": np.dtype(np.float32),
        "contract_land": np.dtype(np.bool_),     # rural contracted land (土地承包经营权)
        "homestead": np.dtype(np.bool_),         # rural homestead (宅基地使用权)
        "collective_income": np.dtype(np.bool_),  # collective income share (集体收益分配权)
        "income": np.dtype(np.float32),      # household disposable income, yuan/year
        # fixed latent draws of the settlement decision (sim.pipeline.intention); NaN until
        # the household's first settlement step draws them
        "intention_draw": np.dtype(np.float32),
        "awareness_draw": np.dtype(np.float32),
    }
    _nan_filled = frozenset({"intention_draw", "awareness_draw"})


# Rural land rights (农村土地“三权”) belong to the family's household contract: they move
# with the family when members form a new household, and principle 二.2 decides whether
# settling keeps them.
LAND_RIGHTS = ("contract_land", "homestead", "collective_income")


class HouseholdGroups:
    """Household arithmetic over persons, as OpenFisca's group populations.

    Every reduction takes one value per person and returns one value per
    household (households without members get the reduction's empty value);
    ``project`` broadcasts a household value back onto its members. ``role``
    restricts a reduction to members with that `ROLES` code.

    >>> import numpy as np
    >>> persons = Persons.empty(3)
    >>> persons.household[:] = [0, 0, 1]
    >>> persons.role[:] = [HEAD, CHILD, HEAD]
    >>> groups = HouseholdGroups(persons, 2)
    >>> groups.sum(np.array([1.0, 2.0, 5.0])).tolist()
    [3.0, 5.0]
    >>> groups.count(role=CHILD).tolist()
    [1, 0]
    >>> groups.project(groups.any(np.array([False, True, False]))).tolist()
    [True, True, False]
    """

    def __init__(self, persons: Persons, n_households: int) -> None:
        self.persons = persons
        self.n = n_households

    def _select(self, values: np.ndarray, role: int | None) -> tuple[np.ndarray, np.ndarray]:
        index = self.persons.household
        if role is None:
            return index, values
        of_role = self.persons.role == role
        return index[of_role], values[of_role]

    def sum(self, values: np.ndarray, role: int | None = None) -> np.ndarray:
        """Sum over members (float)."""
        index, values = self._select(np.asarray(values, np.float64), role)
        return np.bincount(index, weights=values, minlength=self.n)

    def count(self, condition: np.ndarray | None = None, role: int | None = None) -> np.ndarray:
        """Members (meeting ``condition``) per household (int)."""
        cond = np.ones(len(self.persons), bool) if condition is None else condition
        index, cond = self._select(cond, role)
        return np.bincount(index[cond], minlength=self.n)

    def any(self, condition: np.ndarray, role: int | None = None) -> np.ndarray:
        """Whether any member meets ``condition``."""
        return self.count(condition, role) > 0

    def mean(self, values: np.ndarray, role: int | None = None) -> np.ndarray:
        """Mean over members; 0 for a household without (such) members."""
        return self.sum(values, role) / np.maximum(self.count(role=role), 1)

    def max(self, values: np.ndarray, role: int | None = None, empty: float = -np.inf
            ) -> np.ndarray:
        """Largest member value; ``empty`` for a household without (such) members."""
        index, values = self._select(values, role)
        out = np.full(self.n, empty, np.result_type(values, np.asarray(empty)))
        # values in the output's dtype: ufunc.at is 20x slower when it must cast each one
        np.maximum.at(out, index, values.astype(out.dtype, copy=False))
        return out

    def min(self, values: np.ndarray, role: int | None = None, empty: float = np.inf
            ) -> np.ndarray:
        """Smallest member value; ``empty`` for a household without (such) members."""
        return -self.max(-np.asarray(values), role, -empty)

    def project(self, household_values: np.ndarray) -> np.ndarray:
        """A value per household broadcast onto its members (one value per person)."""
        return np.asarray(household_values)[self.persons.household]

    def first(self, rows: np.ndarray) -> np.ndarray:
        """Of the person rows ``rows`` (in priority order), the first of each household."""
        rows = np.asarray(rows)
        _, first = np.unique(self.persons.household[rows], return_index=True)
        return rows[first]


@dataclass
class State:
    """Everything that changes during a run: the two agent tables and the year."""

    persons: Persons
    households: Households
    year: int
    next_person_id: int
    next_household_id: int

    @property
    def by_household(self) -> HouseholdGroups:
        """Household reductions over the current persons (`HouseholdGroups`)."""
        return HouseholdGroups(self.persons, len(self.households))

    def household_of(self, column: str) -> np.ndarray:
        """A household column broadcast to persons (one value per person)."""
        return getattr(self.households, column)[self.persons.household]

    def migrant_heads(self) -> np.ndarray:
        """Heads of migrant households living in Panjin (no Panjin hukou): the population of
        the CMDS migrant surveys and the donors of new arrivals."""
        p = self.persons
        return (p.role == HEAD) & (p.hukou_area == OUTSIDE) & (p.area >= 0)

    def income_per_person(self) -> np.ndarray:
        """Household disposable income per member, per person (yuan/year)."""
        size = self.by_household.count()
        return self.by_household.project(self.households.income / np.maximum(size, 1))


def copy_land_rights(target: Households, source: Households, rows: np.ndarray) -> None:
    """Give the households of ``target`` the land rights of ``source`` rows: the family's
    rights follow members into a new household (`LAND_RIGHTS`)."""
    for right in LAND_RIGHTS:
        getattr(target, right)[:] = getattr(source, right)[rows]
