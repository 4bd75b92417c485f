"""Persons and households stored as columns (struct-of-arrays).

Every agent is one row; every attribute is one numpy array. Rules are
vectorized functions over these columns, as in OpenFisca and mesa-frames: a
yearly step over the whole city (~1.4 million persons) takes a few numpy passes
instead of a million Python calls.

Every code table is one `IntEnum` here (`Place`, `Education`, `Channel` ...), so that data
files, rules and reports all refer to the same names; the schema says which table codes a
column (`coded`), and `Table.frame` turns the columns into a DataFrame with labels. The
long-standing module names (``PLACES`` for the labels, ``URBAN_DISTRICT`` for a member ...)
are aliases of the enums. Areas are data (``sim/data/areas.toml``), coded by `AREA`.

Example
-------
>>> import numpy as np
>>> t = Persons.empty(2)
>>> t.age[:] = [30, 5]
>>> t.take(np.array([True, False])).age.tolist()
[30]
"""

from __future__ import annotations

import ctypes
import functools
import platform
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

import numpy as np
import pandas as pd


class CodeTable(IntEnum):
    """A code table of an integer column: member value = code, lower-case name = label.

    ``-1`` (`NONE`) is never a member: it means "no value" (no channel, no village) and
    decodes to a missing value. The area columns are coded by `AREA` instead (the areas are
    data, ``sim/data/areas.toml``), where ``-1`` is `OUTSIDE`, a place: outside Panjin.
    """

    @property
    def label(self) -> str:
        """The name used in data files, parameters and outputs (``"urban_district"``)."""
        return self.name.lower()

    @classmethod
    def labels(cls) -> tuple[str, ...]:
        """Every label, in code order."""
        return tuple(m.label for m in cls)

    @classmethod
    def decoding(cls) -> dict[int, str]:
        """Label by code (for `categorical`)."""
        return {int(m): m.label for m in cls}


class Place(CodeTable):
    """Where a person lives inside an area (居住地类型)."""

    URBAN_DISTRICT = 0
    COUNTY_SEAT_TOWN = 1
    DESIGNATED_TOWN = 2
    VILLAGE = 3


class Origin(CodeTable):
    """Origin of a person's hukou (户籍所在地)."""

    PANJIN = 0
    LIAONING = 1
    OTHER_PROVINCE = 2


class Education(CodeTable):
    """Highest education completed. Clause 六 distinguishes 中专 (secondary specialized,
    counts on its own) from 技校/职高 (technical / vocational high school, counts only with a
    primary vocational qualification)."""

    PRIMARY = 0
    JUNIOR_SECONDARY = 1
    SENIOR_SECONDARY = 2
    SECONDARY_SPECIALIZED = 3
    TECHNICAL_SCHOOL = 4
    COLLEGE = 5


class Employment(CodeTable):
    """Main activity."""

    NOT_WORKING = 0
    FARMING = 1
    EMPLOYED = 2
    SELF_EMPLOYED = 3


class Tenure(CodeTable):
    """Housing tenure of a household (住房)."""

    OWN = 0
    RENT = 1
    DORMITORY = 2
    RELATIVES = 3


class Role(CodeTable):
    """Relationship to the household head."""

    HEAD = 0
    SPOUSE = 1
    CHILD = 2
    PARENT = 3
    OTHER = 4


class Sex(CodeTable):
    """Sex (the ``sex`` column; ``male`` is 1)."""

    FEMALE = 0
    MALE = 1


class Channel(CodeTable):
    """Settlement channels (落户渠道), the ``category`` of the ``settlements`` indicator."""

    TOWN = 0
    URBAN_DISTRICT = 1
    TALENT = 2
    INVESTMENT = 3
    URBAN_VILLAGE = 4


class Status(CodeTable):
    """A person's status for public services (`sim.pipeline.services.status_of`)."""

    LOCAL_URBAN = 0
    LOCAL_RURAL = 1
    PERMIT = 2
    NO_PERMIT = 3


class AreaCodes:
    """The code table of the area columns (``area``, ``hukou_area``): the index into
    ``sim/data/areas.toml`` (`sim.areas.load_areas`), and `OUTSIDE` (-1) for outside Panjin.

    >>> AREA.decoding()[-1], AREA.decoding()[0]
    ('outside', 'shuangtaizi')
    """

    outside_label = "outside"

    def labels(self) -> tuple[str, ...]:
        """The area ids in code order (without `OUTSIDE`)."""
        from sim.areas import load_areas

        return load_areas().ids

    def decoding(self) -> dict[int, str]:
        """Label by code, `OUTSIDE` included."""
        return {OUTSIDE: self.outside_label} | dict(enumerate(self.labels()))


NONE = -1  # "no value" in integer code and id columns (no village, no channel, not settled)
OUTSIDE = -1  # area code of a place outside Panjin: a value, decoded as "outside"
AREA = AreaCodes()

# The tables' labels and members under their long-standing module-level names.
PLACES = Place.labels()
URBAN_DISTRICT, COUNTY_SEAT_TOWN, DESIGNATED_TOWN, VILLAGE = Place
URBAN_PLACES = (URBAN_DISTRICT, COUNTY_SEAT_TOWN, DESIGNATED_TOWN)
ORIGINS = Origin.labels()
PANJIN, LIAONING, OTHER_PROVINCE = Origin
EDUCATION = Education.labels()
PRIMARY, JUNIOR, SENIOR, SECONDARY_SPECIALIZED, TECHNICAL_SCHOOL, COLLEGE = Education
EMPLOYMENT = Employment.labels()
NOT_WORKING, FARMING, EMPLOYED, SELF_EMPLOYED = Employment
TENURE = Tenure.labels()
OWN, RENT, DORMITORY, RELATIVES = Tenure
ROLES = Role.labels()
HEAD, SPOUSE, CHILD, PARENT, OTHER = Role
CHANNELS = Channel.labels()
TOWN, URBAN_DISTRICT_CHANNEL, TALENT, INVESTMENT, URBAN_VILLAGE = Channel
STATUSES = Status.labels()
LOCAL_URBAN, LOCAL_RURAL, PERMIT, NO_PERMIT = Status


# glibc's mallopt parameters (malloc.h) and the values `reuse_freed_memory` sets
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's largest; a full-city column is 1.5–13 MB
_TRIM_THRESHOLD_BYTES = 512 * 2**20


@functools.cache  # once per process: the setting lasts, and forked workers inherit it
def reuse_freed_memory() -> bool:
    """Let freed numpy arrays' memory be reused instead of returned to the system (glibc).

    Every yearly step makes columns and temporaries of 0.1–13 MB. glibc maps each block
    above its threshold afresh from the system and unmaps it when freed, so that every
    new array pays a page fault per 4 kB on first touch: a copy of the persons table cost
    three times a copy into memory already used (8.6 against 2.5 ms at 150,000 persons).
    Raising the mmap and trim thresholds keeps freed blocks in the heap for the next
    array; peak memory is unchanged (the freed memory is reused, not added to). A no-op
    returning False where the C library is not glibc (macOS, Windows, musl).
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
                and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))


def one_of(values: np.ndarray, codes: tuple[int, ...] | list[int]) -> np.ndarray:
    """Whether each value is one of a few ``codes``: `numpy.isin` for a code column, as one
    comparison per code. ``np.isin`` builds a lookup table or sorts, ~75× slower for an int8
    column and two codes (2.5 ms against 33 µs at 150,000 rows).

    >>> one_of(np.array([0, 1, 2, 3], np.int8), (1, 3)).tolist()
    [False, True, False, True]
    """
    out = np.zeros(np.shape(values), bool)
    for code in codes:
        out |= values == code
    return out


def coded(table: type[CodeTable] | AreaCodes, dtype: type = np.int8) -> np.dtype:
    """The dtype of a schema column coded by ``table``: the table rides along as dtype
    metadata, so that `Table.frame` decodes every coded column, whatever columns exist."""
    return np.dtype(dtype, metadata={"codes": table})


def categorical(values: np.ndarray, table: type[CodeTable] | AreaCodes) -> pd.Categorical:
    """Codes as a categorical of labels; a code outside the table (`NONE`) is missing.

    >>> categorical(np.array([1, -1, 0]), Channel).tolist()
    ['urban_district', nan, 'town']
    >>> categorical(np.array([-1, 4]), AREA).tolist()
    ['outside', 'liaodongwan']
    """
    decoding = table.decoding()
    codes = np.asarray(values, np.int64)
    order = sorted(decoding)
    index = np.searchsorted(order, codes)
    known = (index < len(order)) & (np.asarray(order)[np.minimum(index, len(order) - 1)]
                                     == codes)
    return pd.Categorical.from_codes(np.where(known, index, -1),
                                     categories=[decoding[c] for c in order])


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
        """Rows selected by a boolean mask or an integer index, gathered into columns with
        spare room at their end (`_Room`): a following `extend` appends in place.

        >>> t = Persons.empty(3)
        >>> t.age[:] = [5, 6, 7]
        >>> t.take(np.array([2, -3])).age.tolist()
        [7, 5]
        >>> t.take(np.array([3]))
        Traceback (most recent call last):
        IndexError: Persons.take: row index out of range for 3 rows
        """
        index = np.asarray(index)
        n = len(self)
        if index.dtype == np.bool_:
            if index.shape != (n,):
                raise IndexError(f"{type(self).__name__}.take: a mask of {index.shape} for "
                                 f"{n} rows")
            index = np.flatnonzero(index)
        elif index.size and (index.min() < -n or index.max() >= n):
            raise IndexError(f"{type(self).__name__}.take: row index out of range for {n} rows")
        room = _Room(self.columns(), len(index))
        for name, values in self.columns().items():
            # mode="wrap" writes straight into ``out`` (numpy buffers it for "raise"); every
            # index is in range here, where wrapping equals ordinary indexing
            np.take(values, index, out=room.buffers[name][:len(index)], mode="wrap")
        return room.table(type(self), len(index))

    def extend(self, other: Table) -> Table:
        """This table followed by the rows of ``other``.

        The columns of the returned table are the start of longer arrays (`_Room`), so that
        extending *it* in turn writes the new rows into the spare room instead of copying
        every row again (persons and households grow every year). The returned table then
        shares this table's rows: use it in place of this one, as in
        ``state.persons = state.persons.extend(newcomers)``.

        >>> t = Persons.empty(2)
        >>> t2 = t.extend(Persons.empty(1))
        >>> t3 = t2.extend(Persons.empty(1))  # appended in place, no copy of t2's rows
        >>> len(t), len(t2), len(t3), np.shares_memory(t2.age, t3.age)
        (2, 3, 4, True)
        """
        n, k = len(self), len(other)
        room = self.__dict__.get("_room")
        if room is None or not room.holds(self, n + k):
            room = _Room(self.columns(), n + k)
            for name, buffer in room.buffers.items():
                buffer[:n] = getattr(self, name)
        for name, buffer in room.buffers.items():
            buffer[n:n + k] = getattr(other, name)
        return room.table(type(self), n + k)

    def __getstate__(self) -> dict:
        """Pickled without the spare room (a copy gets its own on its next `extend`)."""
        return {k: v for k, v in self.__dict__.items() if k != "_room"}

    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.columns().values())

    def frame(self, decode: bool = True) -> pd.DataFrame:
        """The table as a DataFrame, one row per agent and one column per schema column.

        With ``decode`` every column declared with a code table (`coded`) becomes a
        categorical of labels, and `NONE` in the other ``NONE``-filled columns (village,
        settled year) a missing value of a nullable integer column; without it the raw codes.

        >>> t = Persons.empty(2)
        >>> t.settled_channel[:] = [TALENT, NONE]
        >>> t.frame()[["area", "settled_channel", "settled_year"]].astype(object).values.tolist()
        [['shuangtaizi', 'talent', <NA>], ['shuangtaizi', nan, <NA>]]
        """
        data: dict[str, object] = {}
        for name, dtype in self.schema.items():
            values = getattr(self, name)
            table = (dtype.metadata or {}).get("codes")
            if decode and table is not None:
                data[name] = categorical(values, table)
            elif decode and name in self._none_filled:
                data[name] = pd.arrays.IntegerArray(values.copy(), values == NONE)
            else:
                data[name] = values
        return pd.DataFrame(data)


class _Room:
    """Columns with spare room at their end, of which a table's columns are the start
    (`Table.take`, `Table.extend`); the latest table made from it uses ``filled`` rows."""

    SPARE, MIN_SPARE = 0.25, 1024  # extra rows: a share of the rows in use, at least a few

    def __init__(self, like: dict[str, np.ndarray], n: int) -> None:
        capacity = n + max(int(n * self.SPARE), self.MIN_SPARE)
        self.buffers = {name: np.empty(capacity, values.dtype) for name, values in like.items()}
        self.filled = 0

    def holds(self, table: Table, n: int) -> bool:
        """Whether ``table`` is the latest table of this room (its columns are the start of
        the buffers, with nothing written after them) and ``n`` rows fit."""
        return (self.filled == len(table) and n <= len(next(iter(self.buffers.values())))
                and all(getattr(table, name).base is buffer
                        for name, buffer in self.buffers.items()))

    def table(self, kind: type[Table], n: int) -> Table:
        """The table of the first ``n`` rows, now the latest of this room."""
        self.filled = n
        out = kind(**{name: buffer[:n] for name, buffer in self.buffers.items()})
        out.__dict__["_room"] = self
        return out


class Persons(Table):
    """One row per person (个人). ``household`` is a row index into `Households`."""

    schema = {
        "id": np.dtype(np.int64),            # opaque, unique, never reused
        "household": np.dtype(np.int64),     # row in Households
        "weight": np.dtype(np.float32),      # persons this agent stands for (1/scale)
        "sex": coded(Sex),
        "age": np.dtype(np.int16),
        "role": coded(Role),
        "married": np.dtype(np.bool_),
        # where the person lives (常住地)
        "area": coded(AREA),                # index into areas; OUTSIDE = lives outside Panjin
        "place": coded(Place),
        "residence_years": np.dtype(np.int16),  # continuous years at this area+place
        # household registration (户籍)
        "hukou_area": coded(AREA),          # area of the hukou; OUTSIDE = not Panjin hukou
        "hukou_urban": np.dtype(np.bool_),   # urban (城镇) vs rural (农村) registration
        "origin": coded(Origin),            # where the hukou came from; kept on settling
        "village": np.dtype(np.int32),       # rural collective of a Panjin rural hukou; NONE
        "settled_year": np.dtype(np.int16),  # year of settling through a channel; NONE
        "settled_channel": coded(Channel),  # NONE: has not settled through a channel
        # life course
        "education": coded(Education),
        "vocational_cert": np.dtype(np.bool_),  # 初级以上职业资格证书
        "employment": coded(Employment),
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
        "tenure": coded(Tenure),
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

    def _index(self, rows: np.ndarray | None) -> np.ndarray:
        """The household of each person (of ``rows`` only, if given)."""
        return self.persons.household if rows is None else self.persons.household[rows]

    def _select(self, values: np.ndarray, role: int | None, rows: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
        index = self._index(rows)
        if role is None:
            return index, values
        of_role = (self.persons.role if rows is None else self.persons.role[rows]) == role
        return index[of_role], values[of_role]

    def members(self, rows: np.ndarray) -> np.ndarray:
        """The rows of every member of the households of the persons ``rows`` (row order):
        the ``rows`` to pass to a reduction over those households only.

        >>> persons = Persons.empty(4)
        >>> persons.household[:] = [0, 1, 0, 2]
        >>> HouseholdGroups(persons, 3).members(np.array([2])).tolist()
        [0, 2]
        """
        wanted = np.zeros(self.n, bool)
        wanted[self.persons.household[rows]] = True
        return np.flatnonzero(wanted[self.persons.household])

    def sum(self, values: np.ndarray, role: int | None = None,
            rows: np.ndarray | None = None) -> np.ndarray:
        """Sum over members (float). With ``rows``, ``values`` has one value per row of
        ``rows`` and only those persons are summed (every reduction takes ``rows`` so)."""
        index, values = self._select(np.asarray(values, np.float64), role, rows)
        return np.bincount(index, weights=values, minlength=self.n)

    def count(self, condition: np.ndarray | None = None, role: int | None = None,
              rows: np.ndarray | None = None) -> np.ndarray:
        """Members (meeting ``condition``) per household (int)."""
        if condition is None and role is None:  # household sizes: no mask to apply
            return np.bincount(self._index(rows), minlength=self.n)
        size = len(self.persons) if rows is None else len(rows)
        cond = np.ones(size, bool) if condition is None else condition
        index, cond = self._select(cond, role, rows)
        return np.bincount(index[cond], minlength=self.n)

    def any(self, condition: np.ndarray, role: int | None = None,
            rows: np.ndarray | None = None) -> np.ndarray:
        """Whether any member meets ``condition``."""
        index, condition = self._select(condition, role, rows)
        out = np.zeros(self.n, bool)
        out[index[np.flatnonzero(condition)]] = True  # faster than counting, or a mask
        return out

    def mean(self, values: np.ndarray, role: int | None = None,
             rows: np.ndarray | None = None) -> np.ndarray:
        """Mean over members; 0 for a household without (such) members."""
        return self.sum(values, role, rows) / np.maximum(self.count(role=role, rows=rows), 1)

    def max(self, values: np.ndarray, role: int | None = None, empty: float = -np.inf,
            rows: np.ndarray | None = None) -> np.ndarray:
        """Largest member value; ``empty`` for a household without (such) members."""
        index, values = self._select(values, role, rows)
        out = np.full(self.n, empty, np.result_type(values, np.asarray(empty)))
        # values in the output's dtype: ufunc.at is 20x slower when it must cast each one
        np.maximum.at(out, index, values.astype(out.dtype, copy=False))
        return out

    def min(self, values: np.ndarray, role: int | None = None, empty: float = np.inf,
            rows: np.ndarray | None = None) -> np.ndarray:
        """Smallest member value; ``empty`` for a household without (such) members."""
        return -self.max(-np.asarray(values), role, -empty, rows)

    def project(self, household_values: np.ndarray, rows: np.ndarray | None = None
                ) -> np.ndarray:
        """A value per household broadcast onto its members (one value per person; per
        person of ``rows`` only, if given)."""
        return np.asarray(household_values)[self._index(rows)]

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

    def income_per_member(self) -> np.ndarray:
        """Household disposable income per member, per household (yuan/year)."""
        return self.households.income / np.maximum(self.by_household.count(), 1)

    def income_per_person(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Household disposable income per member, per person (yuan/year); of the persons
        ``rows`` only, if given."""
        return self.by_household.project(self.income_per_member(), rows)


def copy_land_rights(target: Households, source: Households, rows: np.ndarray) -> None:
    """Give the households of ``target`` the land rights of ``source`` rows: the family's
    rights follow members into a new household (`LAND_RIGHTS`)."""
    for right in LAND_RIGHTS:
        getattr(target, right)[:] = getattr(source, right)[rows]
