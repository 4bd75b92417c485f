"""Reading parameter files: the defaults folder, the calibrated overlay, and scenario
files with ``extends`` chains.

A scenario resolves, lowest first: the package defaults (``sim/data/parameters``),
the calibrated overlay of the calibration set (``run.calibration``, default
``sim/data/calibrated.toml``: `sim.scenario.calibrated`), the files of the ``extends``
chain (outermost parent first), the scenario file, and `Scenario.with_overrides`.
Files are UTF-8 TOML; a file in another encoding gets the hint to save it as UTF-8.
"""

from __future__ import annotations

import codecs
import dataclasses
import keyword
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from sim.scenario.errors import ScenarioError, show, unknown
from sim.scenario.resolved import RUN_FIELDS, Scenario, build_scenario
from sim.scenario.schema import (
    RESERVED,
    Spec,
    Timeline,
    check_references,
    check_years,
    first_year,
    make_spec,
    parse_value,
)

DEFAULTS_DIR = Path(__file__).parent.parent / "data" / "parameters"
TOP_KEYS = ("name", "description", "extends", "lang")
LANGS = ("en", "zh")
RESERVED_STEMS = RESERVED | {"year"} | set(TOP_KEYS)  # nor may a defaults file be named so
NAME_RE = re.compile(r'[^\\/:*?"<>|\x00-\x1f.][^\\/:*?"<>|\x00-\x1f]{0,99}')
MAX_EXTENDS = 32  # files in one extends chain: deeper is surely a mistake


def read_toml(path: Path, file: str, fld: str | None = None, what: str = "file") -> dict:
    """Parse a UTF-8 TOML file; `file`/`fld` name where a problem is reported.

    A byte-order mark or another encoding (GBK, …) is refused with the hint to
    save the file as UTF-8: TOML files are UTF-8, and guessing an encoding could
    read a wrong value without saying so.
    """
    try:
        if not path.is_file():
            raise FileNotFoundError("no such file" if not path.exists() else "not a file")
        raw = path.read_bytes()
    except OSError as e:
        raise ScenarioError(file, fld, f"cannot read {what} {str(path)!r}: "
                                       f"{e.strerror or e}") from None
    if raw.startswith(codecs.BOM_UTF8):
        raise ScenarioError(file, fld, f"{what} {str(path)!r} starts with a byte-order mark "
                                       "(BOM); save the file as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ScenarioError(file, fld, f"{what} {str(path)!r} is not UTF-8 text (byte "
                                       f"0x{raw[e.start]:02x} on line {line}; GBK or another "
                                       "encoding?); save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        line = f", line {m.group(1)}" if m else ""
        raise ScenarioError(f"{path}{line}", None, f"TOML syntax error: {e}") from None


def _identifier_check(file: str, name: str, key: str, reserved: set[str] = RESERVED) -> None:
    if not key.isidentifier() or keyword.iskeyword(key) or key in reserved:
        raise ScenarioError(file, name, f"{key!r} cannot be a parameter or group name: use an "
                                        f"identifier (letters, digits, _) other than "
                                        f"{', '.join(sorted(reserved))}")


def _collect(table: dict, prefix: str, file: str, specs: dict, values: dict) -> None:
    for key, v in table.items():
        name = f"{prefix}.{key}"
        _identifier_check(file, name, key)
        if not isinstance(v, dict):
            raise ScenarioError(file, name, f"{show(v)} is not a table: a defaults file holds "
                                            "parameters (tables with a `value` key) and groups")
        if "value" in v:
            specs[name], values[name] = make_spec(name, v, file)
        elif not v:
            raise ScenarioError(file, name, "empty table: a parameter needs a `value` key")
        else:
            _collect(v, name, file, specs, values)


@lru_cache(maxsize=32)
def _load_specs_cached(folder: Path, stamp: tuple) -> tuple[dict, dict]:
    specs: dict[str, Spec] = {}
    values: dict[str, Timeline] = {}
    for name, *_ in stamp:
        path = folder / name
        _identifier_check(str(path), "(file name)", path.stem, RESERVED_STEMS)
        _collect(read_toml(path, str(path), what="defaults file"), path.stem, str(path),
                 specs, values)
    for f in RUN_FIELDS:
        if f"run.{f}" not in specs:
            raise ScenarioError(folder / "run.toml", f"run.{f}", "missing run setting")
    check_references(specs)
    for name, timeline in values.items():
        check_years(name, timeline, specs[name].file, first_year(specs))
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


def load_defaults(defaults_dir: str | os.PathLike | None = None) -> Scenario:
    """The default parameters, as a scenario named ``defaults``.

    With the package's own defaults, the calibrated values of the default
    calibration set (``sim/data/calibrated.toml``, written by ``hukou-sim
    calibrate``) replace the defaults they calibrate; a scenario's parameters show
    them as set by that file.

    >>> load_defaults().name
    'defaults'
    """
    specs, values = _load_specs(defaults_dir)
    defaults = build_scenario("defaults", "", None, "en", (), specs, dict(values),
                              dict.fromkeys(specs), specs["run.end_year"].file)
    chosen = defaults.calibration
    if defaults_dir is not None or chosen is None or not chosen.calibrated.exists():
        return defaults
    # the calibrated values (hukou-sim calibrate) sit on top of the defaults
    calibrated = _load_file(chosen.calibrated, chosen.label,
                            read_toml(chosen.calibrated, chosen.label), defaults, ())
    return dataclasses.replace(calibrated, name="defaults", description="", path=None,
                               _cache={})


def load_scenario(path: str | os.PathLike, defaults_dir: str | os.PathLike | None = None
                  ) -> Scenario:
    """Read, resolve and validate a scenario file (and the files it extends).

    >>> load_scenario("scenarios/reform_2015.toml").at(2016).policy  # doctest: +SKIP
    Params(policy: ...)
    """
    p = Path(path)
    data = read_toml(p, str(p), what="scenario file")
    return _load_file(p, str(p), data, load_defaults(defaults_dir), ())


def _load_file(path: Path, file: str, data: dict, base: Scenario, chain: tuple) -> Scenario:
    try:
        key = str(path.resolve())
    except (OSError, ValueError) as e:
        raise ScenarioError(file, None, f"cannot resolve path: {e}") from None
    chain = (*chain, (key, file))
    if len(chain) > MAX_EXTENDS:
        raise ScenarioError(chain[0][1], "extends", f"the extends chain is longer than "
                                                    f"{MAX_EXTENDS} files (…, {file}); shorten it")
    top = {k: data[k] for k in TOP_KEYS if k in data}
    for k in ("name", "description", "extends"):
        if k in top and not isinstance(top[k], str):
            raise ScenarioError(file, k, f"must be a string (got {show(top[k])})")
    if "name" in top and not NAME_RE.fullmatch(top["name"]):
        raise ScenarioError(file, "name", f"{show(top['name'])} is not a usable name: 1-100 "
                                          "characters, not starting with '.', without "
                                          '\\ / : * ? " < > | or control characters')
    if "lang" in top and top["lang"] not in LANGS:
        raise ScenarioError(file, "lang", unknown(str(top["lang"]), list(LANGS), "language")
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
        pdata = read_toml(target, file, "extends", "extended scenario file")
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
    overrides: dict[str, Timeline] = {}
    _walk({k: v for k, v in data.items() if k not in TOP_KEYS}, groups, "", file, overrides,
          list(TOP_KEYS))
    for name, tl in overrides.items():
        check_years(name, tl, file, first_year(base._specs))
        values[name] = values[name].overlaid(tl)
        origin[name] = file
    return build_scenario(top.get("name", path.stem), top.get("description", ""),
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
            problem = unknown(key, extra + list(tree))
            elsewhere = [n for n in _leaves(root or tree) if n.rsplit(".", 1)[-1] == key]
            if "did you mean" not in problem and elsewhere:
                problem += f"; {key!r} is a parameter at {', '.join(elsewhere)}"
            raise ScenarioError(file, name, problem)
        if isinstance(node, Spec):
            out[name] = parse_value(node, v, file)
        elif not isinstance(v, dict):
            raise ScenarioError(file, name, f"is a group of parameters, not a value (got "
                                            f"{show(v)}); its parameters: {', '.join(node)}")
        else:
            _walk(v, node, name, file, out, [], root or tree)
