"""The parameter schema: what a parameter of a defaults file declares, and the checks
every value must pass — alone (type, bounds, choices, list shape) and together with
the other parameters (`check_bands`, `check_years`).

A parameter is a table with a ``value`` key and these others (`SPEC_KEYS`):

``type``          bool | int | float | str | list[int] | list[float] | list[str] | schedule
``min``/``max``   bounds for numbers (inclusive; ``min_exclusive``/``max_exclusive = true``
                  make them strict)
``choices``       allowed strings, for str and list[str]
``unit``, ``doc`` what it measures (``doc`` is required)
``source`` or ``assumption``  exactly one of the two
``dated``         whether a scenario may date it (default true)
``fields``        for a schedule: the row fields and their types, ``{year = "int", ...}``

and, for lists, the shape the model relies on (`LIST_KEYS`), so that ``check``
refuses a list the model would compute wrongly:

``length``        exactly this many values
``min_length``    at least this many values
``per``           one value per code of a code table (`code_tables`: education, payer, area)
``bands_of``      one value per band between the edges of another list of the same group
                  (``unit_cost`` with ``bands_of = "ages"``: ``len(ages) - 1`` values)
``increasing``    ``true``: each value larger than the one before (band edges)
``sums_to``       the values add up to this number (shares)
``not_all_zero``  ``true``: at least one value is not zero (a distribution to normalize)
"""

from __future__ import annotations

import keyword
import math
import operator
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from sim.scenario.errors import ScenarioError, kind, show, unknown
from sim.scenario.params import Params

YEAR_MIN, YEAR_MAX = 1949, 2100  # what a dated key may be at all; see `check_years`
TYPES = ("bool", "int", "float", "str", "list[int]", "list[float]", "list[str]", "schedule")
FIELD_TYPES = ("bool", "int", "float", "str", "share", "area")  # share: 0–1; area: an id
                                                                # of sim/data/areas.toml
LIST_KEYS = ("length", "min_length", "per", "bands_of", "increasing", "sums_to",
             "not_all_zero")
SPEC_KEYS = ("value", "type", "min", "max", "min_exclusive", "max_exclusive", "choices",
             "unit", "doc", "source", "assumption", "dated", "fields", *LIST_KEYS)
RESERVED = {"to_dict", "items"}  # Params methods: no parameter or group may be named so
SUM_TOLERANCE = 1e-6  # how far shares may be from `sums_to` (rounding in a written file)
UNSET: Any = object()


@cache
def code_tables() -> dict[str, tuple[str, ...]]:
    """The code tables a list may have one value per (spec key ``per``).

    >>> code_tables()["payer"]
    ('central', 'province', 'city', 'county')
    """
    from sim.areas import load_areas
    from sim.pipeline.services import PAYERS
    from sim.population import EDUCATION

    return {"education": EDUCATION, "payer": PAYERS, "area": load_areas().ids}


@dataclass(frozen=True)
class Spec:
    """One parameter's declaration in a defaults file (everything but its value)."""

    name: str
    type: str
    file: str
    doc: str
    unit: str
    basis: str  # "source" or "assumption"
    basis_text: str
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    choices: tuple[str, ...] | None = None
    dated: bool = True
    fields: tuple[tuple[str, str], ...] | None = None
    length: int | None = None
    min_length: int | None = None
    per: str | None = None
    bands_of: str | None = None  # full dotted name of the edges' parameter
    increasing: bool = False
    sums_to: float | None = None
    not_all_zero: bool = False

    def range_text(self) -> str:
        """The allowed range as ``0 <= value <= 3``."""
        lo = f"{self.min} {'<' if self.min_exclusive else '<='} " if self.min is not None else ""
        hi = f" {'<' if self.max_exclusive else '<='} {self.max}" if self.max is not None else ""
        return f"{lo}value{hi}"


@dataclass(frozen=True)
class Timeline:
    """A value over time: `base`, then `changes` ((year, value), ...) in force from their year."""

    base: Any
    changes: tuple[tuple[int, Any], ...] = ()

    def at(self, year: int) -> Any:
        """The value in force in `year`."""
        value = self.base
        for y, v in self.changes:
            if y > year:
                break
            value = v
        return value

    def overlaid(self, upper: Timeline) -> Timeline:
        """`upper` (a plain value, or dated changes without a base) over this timeline."""
        if not upper.changes:
            return upper
        first = upper.changes[0][0]
        return Timeline(self.base, tuple(c for c in self.changes if c[0] < first) + upper.changes)

    def folded(self, start: int) -> Any:
        """Plain value, or ``{"2015": v, "2019": w}`` for the years from `start` on."""
        later = [(y, v) for y, v in self.changes if y > start]
        if not later:
            return self.at(start)
        return {str(start): self.at(start), **{str(y): v for y, v in later}}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def check_scalar(spec: Spec, t: str, v: Any, file: str, fld: str) -> Any:
    """One bool, int, float or str value against the spec's bounds and choices."""
    wants = {"bool": "true or false", "int": "an integer", "float": "a number",
             "str": "a string"}[t]
    ok = {"bool": isinstance(v, bool), "int": isinstance(v, int) and not isinstance(v, bool),
          "float": _is_number(v), "str": isinstance(v, str)}[t]
    if not ok:
        raise ScenarioError(file, fld, f"must be {wants} (got {show(v)}, {kind(v)})")
    if t == "float":
        try:
            v = float(v)
        except OverflowError:
            raise ScenarioError(file, fld, f"{v} is too large for a float") from None
        if not math.isfinite(v):
            raise ScenarioError(file, fld, f"must be a finite number (got {v})")
    if t in ("int", "float"):
        too_low = spec.min is not None and (v < spec.min or (spec.min_exclusive and v == spec.min))
        too_high = spec.max is not None and (v > spec.max or (spec.max_exclusive and v == spec.max))
        if too_low or too_high:
            raise ScenarioError(file, fld, f"{v} is out of range; allowed: {spec.range_text()}")
    if t == "str" and spec.choices is not None and v not in spec.choices:
        raise ScenarioError(file, fld, unknown(v, list(spec.choices), "choice"))
    return v


def check_value(spec: Spec, v: Any, file: str, fld: str) -> Any:
    """A validated, read-only copy of `v` (lists become tuples, schedule rows `Params`)."""
    if spec.type in ("bool", "int", "float", "str"):
        return check_scalar(spec, spec.type, v, file, fld)
    if not isinstance(v, list | tuple):
        what = {"schedule": "a list of tables (schedule rows)", "list[int]": "a list of integers",
                "list[float]": "a list of numbers", "list[str]": "a list of strings"}[spec.type]
        raise ScenarioError(file, fld, f"must be {what} (got {show(v)}, {kind(v)})")
    if spec.type != "schedule":
        values = tuple(check_scalar(spec, spec.type[5:-1], x, file, f"{fld}[{i}]")
                       for i, x in enumerate(v))
        _check_shape(spec, values, file, fld)
        return values
    fields = dict(spec.fields or ())
    wanted = ", ".join(f"{k} ({t})" for k, t in fields.items())
    rows = []
    for i, row in enumerate(v):
        where = f"{fld}[{i}]"
        if not isinstance(row, dict):
            raise ScenarioError(file, where, f"a schedule row must be a table with fields "
                                             f"{wanted} (got {show(row)}, {kind(row)})")
        for k in row:
            if k not in fields:
                raise ScenarioError(file, where, unknown(k, list(fields), "field"))
        for k in fields:
            if k not in row:
                raise ScenarioError(file, where, f"missing field {k!r}; a row has {wanted}")
        rows.append(Params({k: _check_field(spec.name, t, row[k], file, f"{where}.{k}")
                            for k, t in fields.items()}, where))
    return tuple(rows)


def _plural(n: int, word: str = "value") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _check_shape(spec: Spec, v: tuple, file: str, fld: str) -> None:
    """The list keys (`LIST_KEYS`) that concern one list on its own."""
    n = len(v)
    if spec.per is not None:
        codes = code_tables()[spec.per]
        if n != len(codes):
            raise ScenarioError(file, fld, f"needs one value per {spec.per} ({', '.join(codes)})"
                                           f": {len(codes)} values, got {n} ({show(v)})")
    if spec.length is not None and n != spec.length:
        raise ScenarioError(file, fld, f"needs {_plural(spec.length)}, got {n} ({show(v)})")
    if spec.min_length is not None and n < spec.min_length:
        raise ScenarioError(file, fld, f"needs at least {_plural(spec.min_length)}, got {n} "
                                       f"({show(v)})")
    if spec.increasing and any(b <= a for a, b in zip(v, v[1:], strict=False)):
        raise ScenarioError(file, fld, f"each value must be larger than the one before (got "
                                       f"{show(v)}; sorted: {show(sorted(set(v)))})")
    if spec.sums_to is not None and not math.isclose(math.fsum(v), spec.sums_to,
                                                     abs_tol=SUM_TOLERANCE):
        raise ScenarioError(file, fld, f"the values must add up to {spec.sums_to:g} (got "
                                       f"{show(v)}, which add up to {math.fsum(v):.6g})")
    if spec.not_all_zero and not any(v):
        raise ScenarioError(file, fld, f"must not be all zero (got {show(v)}); at least one "
                                       "value must be above 0")


def _check_field(name: str, t: str, v: Any, file: str, fld: str) -> Any:
    """One field of a schedule row; ``share`` is a float in [0, 1], ``area`` an area id."""
    if t == "area":
        ids = list(code_tables()["area"])
        v = check_scalar(Spec(name, "", file, "", "", "", ""), "str", v, file, fld)
        if v not in ids:
            raise ScenarioError(file, fld, unknown(v, ids, "area"))
        return v
    if t == "share":
        return check_scalar(Spec(name, "", file, "", "", "", "", min=0.0, max=1.0), "float",
                            v, file, fld)
    return check_scalar(Spec(name, "", file, "", "", "", ""), t, v, file, fld)


def parse_value(spec: Spec, v: Any, file: str, fld: str | None = None) -> Timeline:
    """A plain value or a dated table ``{2016 = 1, 2019 = 3}``, validated."""
    fld = fld or spec.name
    if not isinstance(v, dict):
        return Timeline(check_value(spec, v, file, fld))
    if not spec.dated:
        raise ScenarioError(file, fld, f"cannot be dated; give a plain value (got {show(v)})")
    if not v:
        raise ScenarioError(file, fld, "empty dated table; write e.g. {2016 = 1, 2019 = 3}")
    changes = []
    for k, x in v.items():
        k = str(k)
        if k == "value":
            raise ScenarioError(file, fld, f"a scenario gives the value itself: write "
                                           f"{fld.rsplit('.', 1)[-1]} = {show(x)}")
        if isinstance(x, dict) and x and re.fullmatch(r"[0-9]+", k):  # {2016.5 = 2}
            inner = next(iter(x))
            raise ScenarioError(file, fld, f"dated key {k}.{inner} is not a year (TOML reads "
                                           f"{k}.{inner} = … as a table inside {k}); keys of "
                                           f"a dated value are whole years, e.g. {k}")
        if not re.fullmatch(r"[0-9]{4}", k) or not YEAR_MIN <= int(k) <= YEAR_MAX:
            raise ScenarioError(file, fld, f"dated key {k!r} is not a year; keys of a dated "
                                           f"value are years {YEAR_MIN}-{YEAR_MAX}")
        changes.append((int(k), check_value(spec, x, file, f"{fld}.{k}")))
    return Timeline(UNSET, tuple(sorted(changes, key=operator.itemgetter(0))))


def first_year(specs: dict[str, Spec]) -> int:
    """The model's first year: the lowest ``run.start_year`` allowed (the base population)."""
    low = specs["run.start_year"].min
    return int(low) if low is not None else YEAR_MIN


def check_years(name: str, timeline: Timeline, file: str, first: int) -> None:
    """Dated values must take effect inside the model's years (`first_year` to `YEAR_MAX`)."""
    for year, _ in timeline.changes:
        if year < first:
            raise ScenarioError(file, f"{name}.{year}", f"{year} is before the model's first "
                                                        f"year {first}; dated values take "
                                                        f"effect in years {first}-{YEAR_MAX}")


def check_bands(specs: dict[str, Spec], values: dict[str, Timeline],
                origin: dict[str, str | None], file: str) -> None:
    """Every list with ``bands_of`` has one value per band of its edges, in every year.

    The error names the parameter that `file` set (the costs, or else the edges).
    """
    for name, spec in specs.items():
        if spec.bands_of is None:
            continue
        edges_name = spec.bands_of
        values_tl, edges_tl = values[name], values[edges_name]
        years = sorted({YEAR_MIN, *(y for y, _ in values_tl.changes),
                        *(y for y, _ in edges_tl.changes)})
        for year in years:
            vals, edges = values_tl.at(year), edges_tl.at(year)
            if len(vals) == len(edges) - 1:
                continue
            blamed = edges_name if origin.get(edges_name) == file != origin.get(name) else name
            where = file if origin.get(blamed) == file else origin.get(blamed) or specs[blamed].file
            when = "" if year == YEAR_MIN else f" (from {year})"
            raise ScenarioError(where, blamed, f"{name} needs one value per band of "
                                               f"{edges_name}{when}: {_plural(len(edges), 'edge')}"
                                               f" {show(edges)} make "
                                               f"{_plural(len(edges) - 1, 'band')}, but "
                                               f"{name} has {_plural(len(vals))} {show(vals)}")


def make_spec(name: str, t: dict[str, Any], file: str) -> tuple[Spec, Timeline]:
    """A parameter table of a defaults file as its `Spec` and default `Timeline`."""
    for k in t:
        if k not in SPEC_KEYS:
            raise ScenarioError(file, name, unknown(k, list(SPEC_KEYS)))

    def get(key: str, kinds: tuple[type, ...], what: str, default: Any = None) -> Any:
        v = t.get(key, default)
        if v is not default and (not isinstance(v, kinds) or (isinstance(v, bool)
                                                              and bool not in kinds)):
            raise ScenarioError(file, f"{name}.{key}", f"must be {what} (got {show(v)})")
        return v

    typ = get("type", (str,), "one of " + ", ".join(TYPES))
    if typ not in TYPES:
        raise ScenarioError(file, f"{name}.type", unknown(str(typ), list(TYPES), "type")
                            if typ is not None else "missing; give one of " + ", ".join(TYPES))
    doc = get("doc", (str,), "a string", "")
    if not doc.strip():
        raise ScenarioError(file, f"{name}.doc", "missing; say what the parameter means")
    basis = [k for k in ("source", "assumption") if k in t]
    if len(basis) != 1:
        raise ScenarioError(file, name, "give exactly one of `source` or `assumption` "
                                        f"(got {' and '.join(basis) or 'neither'})")
    text = get(basis[0], (str,), "a non-empty string")
    if not text.strip():
        raise ScenarioError(file, f"{name}.{basis[0]}", "must be a non-empty string")
    numeric = typ in ("int", "float", "list[int]", "list[float]")
    numeric_list = typ in ("list[int]", "list[float]")
    allowed_for = {"min": numeric, "max": numeric, "choices": "str" in typ,
                   "fields": typ == "schedule", "length": typ.startswith("list"),
                   "min_length": typ.startswith("list"), "per": typ.startswith("list"),
                   "bands_of": numeric_list, "increasing": numeric_list,
                   "sums_to": numeric_list, "not_all_zero": numeric_list}
    for key, allowed in allowed_for.items():
        if key in t and not allowed:
            raise ScenarioError(file, f"{name}.{key}", f"not allowed for type {typ!r}")
    lo = get("min", (int, float), "a number")
    hi = get("max", (int, float), "a number")
    if lo is not None and hi is not None and lo > hi:
        raise ScenarioError(file, f"{name}.min", f"min {lo} is above max {hi}")
    choices = get("choices", (list,), "a list of strings")
    if choices is not None and (not choices or not all(isinstance(c, str) for c in choices)):
        raise ScenarioError(file, f"{name}.choices", "must be a non-empty list of strings")
    fields = get("fields", (dict,), "a table of field types")
    if typ == "schedule":
        if not fields:
            raise ScenarioError(file, f"{name}.fields", "a schedule needs its row fields, "
                                                        'e.g. {year = "int", share = "float"}')
        for k, ft in fields.items():
            if ft not in FIELD_TYPES:
                raise ScenarioError(file, f"{name}.fields.{k}",
                                    unknown(str(ft), list(FIELD_TYPES), "field type"))
            if not k.isidentifier() or keyword.iskeyword(k) or k in RESERVED:
                raise ScenarioError(file, f"{name}.fields.{k}", "a field name must be an "
                                                                "identifier (letters, digits, _)")
    for key in ("length", "min_length"):
        n = get(key, (int,), "a whole number")
        if n is not None and n < (0 if key == "length" else 1):
            raise ScenarioError(file, f"{name}.{key}", f"must be at least "
                                                       f"{0 if key == 'length' else 1}")
    per = get("per", (str,), "the name of a code table")
    if per is not None and per not in code_tables():
        raise ScenarioError(file, f"{name}.per", unknown(per, list(code_tables()), "code table"))
    bands_of = get("bands_of", (str,), "the name of a list in the same group")
    spec = Spec(
        name=name, type=typ, file=file, doc=doc, unit=get("unit", (str,), "a string", ""),
        basis=basis[0], basis_text=text, min=lo, max=hi,
        min_exclusive=get("min_exclusive", (bool,), "true or false", False),
        max_exclusive=get("max_exclusive", (bool,), "true or false", False),
        choices=tuple(choices) if choices is not None else None,
        dated=get("dated", (bool,), "true or false", True),
        fields=tuple(fields.items()) if fields else None,
        length=t.get("length"), min_length=t.get("min_length"), per=per,
        bands_of=f"{name.rsplit('.', 1)[0]}.{bands_of}" if bands_of is not None else None,
        increasing=get("increasing", (bool,), "true or false", False),
        sums_to=get("sums_to", (int, float), "a number"),
        not_all_zero=get("not_all_zero", (bool,), "true or false", False))
    value = parse_value(spec, t["value"], file, f"{name}.value")
    if value.base is UNSET:  # a dated default also applies before its first year
        value = Timeline(value.changes[0][1], value.changes)
    return spec, value


def check_references(specs: dict[str, Spec]) -> None:
    """Each ``bands_of`` names a numeric list of the same group (checked once all files
    are read)."""
    for name, spec in specs.items():
        target = specs.get(spec.bands_of) if spec.bands_of else None
        if spec.bands_of and (target is None or target.type not in ("list[int]", "list[float]")):
            group, _, leaf = spec.bands_of.rpartition(".")
            lists = [n.rsplit(".", 1)[-1] for n, s in specs.items()
                     if n.rpartition(".")[0] == group and s.type.startswith("list")]
            raise ScenarioError(spec.file, f"{name}.bands_of",
                                unknown(leaf, lists, "list of band edges"))


def native(v: Any) -> Any:
    """numpy scalars and arrays (from sweeps, calibration) as Python values."""
    if isinstance(v, dict):
        return {k: native(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [native(x) for x in v]
    if hasattr(v, "tolist") and not isinstance(v, str | bytes):
        return v.tolist()
    return v
