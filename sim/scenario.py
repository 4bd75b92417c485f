"""Scenario files: TOML, ``extends``, dated parameters, strict validation.

Defaults live in ``sim/data/parameters/*.toml``; the file stem is the first
part of every dotted name (``policy.toml`` holds ``policy.*``). A parameter is
a table with a ``value`` key and these others:

``type``          bool | int | float | str | list[int] | list[float] | list[str] | schedule
``min``/``max``   bounds for numbers (inclusive; ``min_exclusive``/``max_exclusive = true``
                  make them strict)
``choices``       allowed strings, for str and list[str]
``unit``, ``doc`` what it measures (``doc`` is required)
``source`` or ``assumption``  exactly one of the two
``dated``         whether a scenario may date it (default true)
``fields``        for a schedule: the row fields and their types, ``{year = "int", ...}``

A scenario file sets ``name``, ``description``, ``extends``, ``lang`` and
overrides parameters by dotted path, with plain values or dated tables
``{2016 = 1, 2019 = 3}`` (in force from that year on; before the first year the
value it overrides applies). A dated *default* also applies before its first
year. Every problem raises `ScenarioError`, naming the file and the field.

Example
-------
>>> s = load_defaults()
>>> s.run.start_year, s.at(2016).run.start_year
(2015, 2015)
>>> s.with_overrides({"run.seed": 7}).run.seed
7
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import keyword
import math
import operator
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULTS_DIR = Path(__file__).parent / "data" / "parameters"
CALIBRATED_FILE = Path(__file__).parent / "data" / "calibrated.toml"
YEAR_MIN, YEAR_MAX = 1949, 2100
OVERRIDES = "<overrides>"  # the "file" named for values given to `Scenario.with_overrides`

_TYPES = ("bool", "int", "float", "str", "list[int]", "list[float]", "list[str]", "schedule")
_FIELD_TYPES = ("bool", "int", "float", "str", "share", "area")  # share: 0–1; area: an id
                                                                  # of sim/data/areas.toml
_SPEC_KEYS = ("value", "type", "min", "max", "min_exclusive", "max_exclusive", "choices",
              "unit", "doc", "source", "assumption", "dated", "fields")
_TOP_KEYS = ("name", "description", "extends", "lang")
_LANGS = ("en", "zh")
_RUN_FIELDS = ("start_year", "end_year", "seed", "scale", "replicates")
_RESERVED = {"to_dict", "items"}  # Params methods: no parameter or group may be named so
_RESERVED_STEMS = _RESERVED | {"year"} | set(_TOP_KEYS)  # nor a defaults file
_NAME_RE = re.compile(r'[^\\/:*?"<>|\x00-\x1f.][^\\/:*?"<>|\x00-\x1f]{0,99}')
_UNSET: Any = object()


class ScenarioError(Exception):
    """A problem in a scenario or defaults file: ``"<file>: <field>: <problem>"``.

    >>> str(ScenarioError("a.toml", "run.seed", "must be an integer"))
    'a.toml: run.seed: must be an integer'
    """

    def __init__(self, file: str | os.PathLike, field: str | None, problem: str):
        super().__init__(str(file), field, problem)  # args keep it picklable
        self.file, self.field, self.problem = str(file), field, problem

    def __str__(self) -> str:
        return f"{self.file}: {self.field + ': ' if self.field else ''}{self.problem}"


# ---------------------------------------------------------------- messages

def _show(v: Any, limit: int = 60) -> str:
    """A value as TOML would write it, shortened."""
    if isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, str):
        s = json.dumps(v, ensure_ascii=False)
    elif isinstance(v, list | tuple):
        s = "[" + ", ".join(_show(x, limit) for x in v) + "]"
    elif isinstance(v, dict | Params):
        s = "{" + ", ".join(f"{k} = {_show(x, limit)}" for k, x in v.items()) + "}"
    else:
        s = str(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _kind(v: Any) -> str:
    for t, name in ((bool, "a boolean"), (int, "an integer"), (float, "a float"),
                    (str, "a string"), (list, "a list"), (tuple, "a list"), (dict, "a table")):
        if isinstance(v, t):
            return name
    return f"a {type(v).__name__}"


def _unknown(key: str, valid: list[str], what: str = "key") -> str:
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    shown = ", ".join(valid[:15]) + (", …" if len(valid) > 15 else "")
    return f"unknown {what} {key!r}{hint} (valid: {shown or 'none'})"


# ------------------------------------------------------------ specs and values

@dataclass(frozen=True)
class _Spec:
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

    def range_text(self) -> str:
        lo = f"{self.min} {'<' if self.min_exclusive else '<='} " if self.min is not None else ""
        hi = f" {'<' if self.max_exclusive else '<='} {self.max}" if self.max is not None else ""
        return f"{lo}value{hi}"


@dataclass(frozen=True)
class _Timeline:
    """A value over time: `base`, then `changes` ((year, value), ...) in force from their year."""

    base: Any
    changes: tuple[tuple[int, Any], ...] = ()

    def at(self, year: int) -> Any:
        value = self.base
        for y, v in self.changes:
            if y > year:
                break
            value = v
        return value

    def overlaid(self, upper: _Timeline) -> _Timeline:
        """`upper` (a plain value, or dated changes without a base) over this timeline."""
        if not upper.changes:
            return upper
        first = upper.changes[0][0]
        return _Timeline(self.base, tuple(c for c in self.changes if c[0] < first) + upper.changes)

    def folded(self, start: int) -> Any:
        """Plain value, or ``{"2015": v, "2019": w}`` for the years from `start` on."""
        later = [(y, v) for y, v in self.changes if y > start]
        if not later:
            return self.at(start)
        return {str(start): self.at(start), **{str(y): v for y, v in later}}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_scalar(spec: _Spec, t: str, v: Any, file: str, fld: str) -> Any:
    wants = {"bool": "true or false", "int": "an integer", "float": "a number",
             "str": "a string"}[t]
    ok = {"bool": isinstance(v, bool), "int": isinstance(v, int) and not isinstance(v, bool),
          "float": _is_number(v), "str": isinstance(v, str)}[t]
    if not ok:
        raise ScenarioError(file, fld, f"must be {wants} (got {_show(v)}, {_kind(v)})")
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
        raise ScenarioError(file, fld, _unknown(v, list(spec.choices), "choice"))
    return v


def _check_value(spec: _Spec, v: Any, file: str, fld: str) -> Any:
    """A validated, read-only copy of `v` (lists become tuples, schedule rows `Params`)."""
    if spec.type in ("bool", "int", "float", "str"):
        return _check_scalar(spec, spec.type, v, file, fld)
    if not isinstance(v, list | tuple):
        what = {"schedule": "a list of tables (schedule rows)", "list[int]": "a list of integers",
                "list[float]": "a list of numbers", "list[str]": "a list of strings"}[spec.type]
        raise ScenarioError(file, fld, f"must be {what} (got {_show(v)}, {_kind(v)})")
    if spec.type != "schedule":
        return tuple(_check_scalar(spec, spec.type[5:-1], x, file, f"{fld}[{i}]")
                     for i, x in enumerate(v))
    fields = dict(spec.fields or ())
    wanted = ", ".join(f"{k} ({t})" for k, t in fields.items())
    rows = []
    for i, row in enumerate(v):
        where = f"{fld}[{i}]"
        if not isinstance(row, dict):
            raise ScenarioError(file, where, f"a schedule row must be a table with fields "
                                             f"{wanted} (got {_show(row)}, {_kind(row)})")
        for k in row:
            if k not in fields:
                raise ScenarioError(file, where, _unknown(k, list(fields), "field"))
        for k in fields:
            if k not in row:
                raise ScenarioError(file, where, f"missing field {k!r}; a row has {wanted}")
        rows.append(Params({k: _check_field(spec.name, t, row[k], file, f"{where}.{k}")
                            for k, t in fields.items()}, where))
    return tuple(rows)


def _check_field(name: str, t: str, v: Any, file: str, fld: str) -> Any:
    """One field of a schedule row; ``share`` is a float in [0, 1], ``area`` an area id."""
    if t == "area":
        from sim.areas import load_areas

        ids = list(load_areas().ids)
        v = _check_scalar(_Spec(name, "", file, "", "", "", ""), "str", v, file, fld)
        if v not in ids:
            raise ScenarioError(file, fld, _unknown(v, ids, "area"))
        return v
    if t == "share":
        return _check_scalar(_Spec(name, "", file, "", "", "", "", min=0.0, max=1.0), "float",
                             v, file, fld)
    return _check_scalar(_Spec(name, "", file, "", "", "", ""), t, v, file, fld)


def _parse(spec: _Spec, v: Any, file: str, fld: str | None = None) -> _Timeline:
    """A plain value or a dated table, validated."""
    fld = fld or spec.name
    if not isinstance(v, dict):
        return _Timeline(_check_value(spec, v, file, fld))
    if not spec.dated:
        raise ScenarioError(file, fld, f"cannot be dated; give a plain value (got {_show(v)})")
    if not v:
        raise ScenarioError(file, fld, "empty dated table; write e.g. {2016 = 1, 2019 = 3}")
    changes = []
    for k, x in v.items():
        k = str(k)
        if k == "value":
            raise ScenarioError(file, fld, f"a scenario gives the value itself: write "
                                           f"{fld.rsplit('.', 1)[-1]} = {_show(x)}")
        if not re.fullmatch(r"[0-9]{4}", k) or not YEAR_MIN <= int(k) <= YEAR_MAX:
            raise ScenarioError(file, fld, f"dated key {k!r} is not a year; keys of a dated "
                                           f"value are years {YEAR_MIN}-{YEAR_MAX}")
        changes.append((int(k), _check_value(spec, x, file, f"{fld}.{k}")))
    return _Timeline(_UNSET, tuple(sorted(changes, key=operator.itemgetter(0))))


def _make_spec(name: str, t: dict[str, Any], file: str) -> tuple[_Spec, _Timeline]:
    for k in t:
        if k not in _SPEC_KEYS:
            raise ScenarioError(file, name, _unknown(k, list(_SPEC_KEYS)))

    def get(key: str, kinds: tuple[type, ...], what: str, default: Any = None) -> Any:
        v = t.get(key, default)
        if v is not default and (not isinstance(v, kinds) or (isinstance(v, bool)
                                                              and bool not in kinds)):
            raise ScenarioError(file, f"{name}.{key}", f"must be {what} (got {_show(v)})")
        return v

    typ = get("type", (str,), "one of " + ", ".join(_TYPES))
    if typ not in _TYPES:
        raise ScenarioError(file, f"{name}.type", _unknown(str(typ), list(_TYPES), "type")
                            if typ is not None else "missing; give one of " + ", ".join(_TYPES))
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
    for key, allowed in (("min", numeric), ("max", numeric), ("choices", "str" in typ),
                         ("fields", typ == "schedule")):
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
            if ft not in _FIELD_TYPES:
                raise ScenarioError(file, f"{name}.fields.{k}",
                                    _unknown(str(ft), list(_FIELD_TYPES), "field type"))
            if not k.isidentifier() or keyword.iskeyword(k) or k in _RESERVED:
                raise ScenarioError(file, f"{name}.fields.{k}", "a field name must be an "
                                                                "identifier (letters, digits, _)")
    spec = _Spec(
        name=name, type=typ, file=file, doc=doc, unit=get("unit", (str,), "a string", ""),
        basis=basis[0], basis_text=text, min=lo, max=hi,
        min_exclusive=get("min_exclusive", (bool,), "true or false", False),
        max_exclusive=get("max_exclusive", (bool,), "true or false", False),
        choices=tuple(choices) if choices is not None else None,
        dated=get("dated", (bool,), "true or false", True),
        fields=tuple(fields.items()) if fields else None)
    value = _parse(spec, t["value"], file, f"{name}.value")
    if value.base is _UNSET:  # a dated default also applies before its first year
        value = _Timeline(value.changes[0][1], value.changes)
    return spec, value


def _read_toml(path: Path, file: str, fld: str | None = None, what: str = "file") -> dict:
    """Parse a TOML file; `file`/`fld` name where the problem is reported."""
    try:
        if not path.is_file():
            raise FileNotFoundError("no such file" if not path.exists() else "not a file")
        text = path.read_bytes().decode("utf-8")
    except (OSError, ValueError) as e:
        cause = e.strerror or str(e) if isinstance(e, OSError) else str(e)
        raise ScenarioError(file, fld, f"cannot read {what} {str(path)!r}: {cause}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        line = f", line {m.group(1)}" if m else ""
        raise ScenarioError(f"{path}{line}", None, f"TOML syntax error: {e}") from None


def _identifier_check(file: str, name: str, key: str, reserved: set[str] = _RESERVED) -> None:
    if not key.isidentifier() or keyword.iskeyword(key) or key in reserved:
        raise ScenarioError(file, name, f"{key!r} cannot be a parameter or group name: use an "
                                        f"identifier (letters, digits, _) other than "
                                        f"{', '.join(sorted(reserved))}")


def _collect(table: dict, prefix: str, file: str, specs: dict, values: dict) -> None:
    for key, v in table.items():
        name = f"{prefix}.{key}"
        _identifier_check(file, name, key)
        if not isinstance(v, dict):
            raise ScenarioError(file, name, f"{_show(v)} is not a table: a defaults file holds "
                                            "parameters (tables with a `value` key) and groups")
        if "value" in v:
            specs[name], values[name] = _make_spec(name, v, file)
        elif not v:
            raise ScenarioError(file, name, "empty table: a parameter needs a `value` key")
        else:
            _collect(v, name, file, specs, values)


@lru_cache(maxsize=32)
def _load_specs_cached(folder: Path, stamp: tuple) -> tuple[dict, dict]:
    specs: dict[str, _Spec] = {}
    values: dict[str, _Timeline] = {}
    for name, *_ in stamp:
        path = folder / name
        _identifier_check(str(path), "(file name)", path.stem, _RESERVED_STEMS)
        _collect(_read_toml(path, str(path), what="defaults file"), path.stem, str(path),
                 specs, values)
    for f in _RUN_FIELDS:
        if f"run.{f}" not in specs:
            raise ScenarioError(folder / "run.toml", f"run.{f}", "missing run setting")
    return specs, values


def _load_specs(defaults_dir: str | os.PathLike | None) -> tuple[dict, dict]:
    folder = Path(defaults_dir) if defaults_dir is not None else DEFAULTS_DIR
    if not folder.is_dir():
        raise ScenarioError(folder, None, "defaults folder not found")
    try:
        files = sorted(folder.glob("*.toml"))
        stamp = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    except OSError as e:
        raise ScenarioError(folder, None, f"cannot read defaults folder: {e}") from None
    return _load_specs_cached(folder.resolve(), stamp)


# ------------------------------------------------------------ read-only views

class Params:
    """Read-only nested parameters: ``p.policy.urban_district.insurance_years``,
    ``p["policy.urban_district.insurance_years"]``, ``"policy" in p``, ``list(p)``.

    >>> p = Params({"a": Params({"b": 1}, "a")})
    >>> p.a.b, p["a.b"], p.to_dict()
    (1, 1, {'a': {'b': 1}})
    """

    __slots__ = ("_data", "_path")

    def __init__(self, data: dict[str, Any], path: str = ""):
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_path", path)

    def _missing(self, key: str) -> str:
        where = f"{self._path}.{key}" if self._path else key
        return f"{where}: " + _unknown(key, list(self._data), "name")

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(self._missing(key)) from None

    def __getitem__(self, key: str) -> Any:
        node: Any = self
        for part in key.split("."):
            if not isinstance(node, Params) or part not in node._data:
                raise KeyError(node._missing(part) if isinstance(node, Params) else key)
            node = node._data[part]
        return node

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except (KeyError, AttributeError, TypeError):
            return False
        return True

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def items(self):
        return self._data.items()

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"parameters are read-only (tried to set {key!r})")

    def __delattr__(self, key: str) -> None:
        raise AttributeError("parameters are read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Params) and self._data == other._data

    __hash__ = None  # type: ignore[assignment]

    def __dir__(self) -> list[str]:
        return list(self._data)

    def __reduce__(self):
        return (type(self), (self._data, self._path))

    def __repr__(self) -> str:
        return f"Params({self._path or 'root'}: {', '.join(self._data)})"

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts and lists (JSON-able)."""
        return {k: _plain(v) for k, v in self._data.items()}


def _plain(v: Any) -> Any:
    if isinstance(v, Params):
        return v.to_dict()
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


class YearParameters(Params):
    """The parameters in force in one year (``.year``)."""

    __slots__ = ("_year",)

    def __init__(self, data: dict[str, Any], year: int):
        super().__init__(data, "")
        object.__setattr__(self, "_year", year)

    @property
    def year(self) -> int:
        return self._year

    def __reduce__(self):
        return (YearParameters, (self._data, self._year))

    def __repr__(self) -> str:
        return f"YearParameters({self._year}: {', '.join(self._data)})"


@dataclass(frozen=True)
class RunSettings:
    start_year: int
    end_year: int
    seed: int
    scale: float
    replicates: int


# ------------------------------------------------------------------ scenario

@dataclass(frozen=True, eq=False)
class Scenario:
    """A resolved scenario: defaults, then each file of the ``extends`` chain, then overrides.

    >>> s = load_defaults()
    >>> s.at(2020)["run.end_year"], s.resolved()["run.seed"]["overridden_by"]
    (2035, None)
    """

    name: str
    description: str
    path: Path | None
    lang: str
    run: RunSettings
    chain: tuple[str, ...]  # this file, the file it extends, … (as named in messages)
    _specs: dict[str, _Spec] = field(repr=False)
    _values: dict[str, _Timeline] = field(repr=False)
    _origin: dict[str, str | None] = field(repr=False)
    _cache: dict[int, YearParameters] = field(default_factory=dict, repr=False)

    def parameter_names(self) -> tuple[str, ...]:
        """Every dotted parameter name, in defaults-file order."""
        return tuple(self._specs)

    def at(self, year: int) -> YearParameters:
        """The parameters in force in `year` (cached per year).

        >>> load_defaults().at(2030).run.scale
        1.0
        """
        year = operator.index(year)
        if year not in self._cache:
            root: dict[str, Any] = {}
            for name, tl in self._values.items():
                *groups, leaf = name.split(".")
                node = root
                for g in groups:
                    node = node.setdefault(g, {})
                node[leaf] = tl.at(year)
            self._cache[year] = YearParameters(_wrap(root, ""), year)
        return self._cache[year]

    def resolved(self) -> dict[str, dict[str, Any]]:
        """JSON-able ``{dotted name: {"value", "unit", "source"|"assumption", "doc",
        "overridden_by"}}``; a value that changes after ``run.start_year`` is given as
        ``{"2015": v0, "2019": v1}``.

        >>> json.dumps(load_defaults().resolved()["run.scale"]["value"])
        '1.0'
        """
        out = {}
        for name, spec in self._specs.items():
            out[name] = {"value": _plain(self._values[name].folded(self.run.start_year)),
                         "unit": spec.unit, spec.basis: spec.basis_text, "doc": spec.doc,
                         "overridden_by": self._origin.get(name)}
        return out

    def with_overrides(self, overrides: dict[str, object]) -> Scenario:
        """A copy with parameters set by dotted name (plain or dated ``{2016: 1}``), validated
        like a scenario file; errors name the file ``<overrides>``.

        >>> load_defaults().with_overrides({"run.scale": 0.1, "run.end_year": 2020}).run.scale
        0.1
        """
        values, origin = dict(self._values), dict(self._origin)
        for name, v in overrides.items():
            spec = self._specs.get(name)
            if spec is None:
                raise ScenarioError(OVERRIDES, name,
                                    _unknown(name, list(self._specs), "parameter"))
            values[name] = values[name].overlaid(_parse(spec, _native(v), OVERRIDES))
            origin[name] = OVERRIDES
        return _scenario(self.name, self.description, self.path, self.lang, self.chain,
                         self._specs, values, origin, OVERRIDES)

    def describe(self, verbose: bool = False) -> str:
        """A human-readable table of the resolved parameters (``hukou-sim check --show``);
        `verbose` adds each parameter's doc and source or assumption."""
        r = self.run
        head = [f"scenario   {self.name}" + (f"  ({' extends '.join(self.chain)})"
                                             if self.chain else ""),
                f"run        {r.start_year}-{r.end_year}, seed {r.seed}, scale {r.scale}, "
                f"replicates {r.replicates}, lang {self.lang}"]
        if self.description:
            head.insert(1, f"           {self.description}")
        rows = [("parameter", "value", "unit", "set by", "basis")]
        for name, e in self.resolved().items():
            v = e["value"]
            shown = _show(v, 40)
            if self._specs[name].type == "schedule" and isinstance(v, list):
                shown = f"schedule, {len(v)} row{'' if len(v) == 1 else 's'}"
            by = "default" if e["overridden_by"] is None else Path(e["overridden_by"]).name
            unit = e["unit"] if len(e["unit"]) <= 24 else e["unit"][:23] + "…"
            rows.append((name, shown, unit, by, self._specs[name].basis))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [*head, ""]
        for row in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            spec = self._specs.get(row[0])
            if verbose and spec is not None:
                lines.append(f"    {spec.doc}" + (f" [{spec.unit}]" if spec.unit else ""))
                lines.append(f"    {spec.basis}: {spec.basis_text}")
        return "\n".join(lines)


def _wrap(tree: dict[str, Any], path: str) -> Params:
    return Params({k: _wrap(v, f"{path}.{k}" if path else k) if isinstance(v, dict) else v
                   for k, v in tree.items()}, path)


def _native(v: Any) -> Any:
    """numpy scalars and arrays (from sweeps, calibration) to Python values."""
    if isinstance(v, dict):
        return {k: _native(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_native(x) for x in v]
    if hasattr(v, "tolist") and not isinstance(v, str | bytes):
        return v.tolist()
    return v


def _scenario(name: str, description: str, path: Path | None, lang: str, chain: tuple,
              specs: dict, values: dict, origin: dict, file: str) -> Scenario:
    run = RunSettings(**{f: values[f"run.{f}"].at(YEAR_MIN) for f in _RUN_FIELDS})
    if run.end_year < run.start_year:
        raise ScenarioError(file, "run.end_year", f"{run.end_year} is before run.start_year "
                                                  f"{run.start_year}; allowed: end_year >= "
                                                  "start_year")
    return Scenario(name, description, path, lang, run, chain, specs, values, origin)


def load_defaults(defaults_dir: str | os.PathLike | None = None) -> Scenario:
    """The default parameters, as a scenario named ``defaults``.

    With the package's own defaults, the calibrated values of
    ``sim/data/calibrated.toml`` (written by ``hukou-sim calibrate``) replace
    the defaults they calibrate; a scenario's parameters show them as set by
    that file.

    >>> load_defaults().name
    'defaults'
    """
    specs, values = _load_specs(defaults_dir)
    defaults = _scenario("defaults", "", None, "en", (), specs, dict(values),
                         dict.fromkeys(specs), specs["run.end_year"].file)
    if defaults_dir is not None or not CALIBRATED_FILE.exists():
        return defaults
    # the calibrated values (hukou-sim calibrate) sit on top of the defaults
    file = "sim/data/calibrated.toml"
    calibrated = _load_file(CALIBRATED_FILE, file, _read_toml(CALIBRATED_FILE, file), defaults,
                            ())
    return dataclasses.replace(calibrated, name="defaults", description="", path=None,
                               _cache={})


def load_scenario(path: str | os.PathLike, defaults_dir: str | os.PathLike | None = None
                  ) -> Scenario:
    """Read, resolve and validate a scenario file (and the files it extends).

    >>> load_scenario("scenarios/reform_2015.toml").at(2016).policy  # doctest: +SKIP
    Params(policy: ...)
    """
    p = Path(path)
    data = _read_toml(p, str(p), what="scenario file")
    return _load_file(p, str(p), data, load_defaults(defaults_dir), ())


def _load_file(path: Path, file: str, data: dict, base: Scenario, chain: tuple) -> Scenario:
    try:
        key = str(path.resolve())
    except (OSError, ValueError) as e:
        raise ScenarioError(file, None, f"cannot resolve path: {e}") from None
    chain = (*chain, (key, file))
    top = {k: data[k] for k in _TOP_KEYS if k in data}
    for k in ("name", "description", "extends"):
        if k in top and not isinstance(top[k], str):
            raise ScenarioError(file, k, f"must be a string (got {_show(top[k])})")
    if "name" in top and not _NAME_RE.fullmatch(top["name"]):
        raise ScenarioError(file, "name", f"{_show(top['name'])} is not a usable name: 1-100 "
                                          "characters, not starting with '.', without "
                                          '\\ / : * ? " < > | or control characters')
    if "lang" in top and top["lang"] not in _LANGS:
        raise ScenarioError(file, "lang", _unknown(str(top["lang"]), list(_LANGS), "language")
                            if isinstance(top["lang"], str) else "must be one of en, zh")
    parent = None
    if "extends" in top:
        target = Path(os.path.normpath(path.parent / top["extends"]))
        try:
            tkey = str(target.resolve())
        except (OSError, ValueError) as e:
            raise ScenarioError(file, "extends", f"cannot resolve {top['extends']!r}: {e}"
                                ) from None
        names = [k for k, _ in chain]
        if tkey in names:
            cycle = [f for _, f in chain[names.index(tkey):]] + [str(target)]
            raise ScenarioError(file, "extends", "cycle: " + " -> ".join(cycle))
        pdata = _read_toml(target, file, "extends", "extended scenario file")
        parent = _load_file(target, str(target), pdata, base, chain)
        base = parent
    values, origin = dict(base._values), dict(base._origin)
    groups: dict[str, Any] = {}
    for name in base._specs:
        *gs, leaf = name.split(".")
        node = groups
        for g in gs:
            node = node.setdefault(g, {})
        node[leaf] = base._specs[name]
    overrides: dict[str, _Timeline] = {}
    _walk({k: v for k, v in data.items() if k not in _TOP_KEYS}, groups, "", file, overrides,
          list(_TOP_KEYS))
    for name, tl in overrides.items():
        values[name] = values[name].overlaid(tl)
        origin[name] = file
    return _scenario(top.get("name", path.stem), top.get("description", ""),
                     Path(key), top.get("lang", parent.lang if parent else "en"),
                     (file, *base.chain), base._specs, values, origin, file)


def _leaves(tree: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in tree.items():
        name = f"{prefix}.{k}" if prefix else k
        out += _leaves(v, name) if isinstance(v, dict) else [name]
    return out


def _walk(data: dict, tree: dict, prefix: str, file: str, out: dict, extra: list[str],
          root: dict | None = None) -> None:
    for key, v in data.items():
        name = f"{prefix}.{key}" if prefix else key
        node = tree.get(key)
        if node is None:
            problem = _unknown(key, extra + list(tree))
            elsewhere = [n for n in _leaves(root or tree) if n.rsplit(".", 1)[-1] == key]
            if "did you mean" not in problem and elsewhere:
                problem += f"; {key!r} is a parameter at {', '.join(elsewhere)}"
            raise ScenarioError(file, name, problem)
        if isinstance(node, _Spec):
            out[name] = _parse(node, v, file)
        elif not isinstance(v, dict):
            raise ScenarioError(file, name, f"is a group of parameters, not a value (got "
                                            f"{_show(v)}); its parameters: {', '.join(node)}")
        else:
            _walk(v, node, name, file, out, [], root or tree)
