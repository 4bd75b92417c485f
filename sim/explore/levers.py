"""The explorer's policy levers (政策杠杆): which parameters, their widgets, and saving them.

Each lever is one parameter of ``sim/data/parameters/*.toml``. Its unit, type and allowed
range are read from that file's metadata (``unit``, ``type``, ``min``/``max``, ``choices``),
so the page never states a range the scenario loader would refuse. The widget follows the
type: a checkbox for a switch, a select for a choice, a slider for a bounded number, and a
text field for a number without an upper bound (money amounts, allocation weights, the seed),
where a slider would need an invented end.

Example
-------
>>> lever = LEVERS_BY_ARG["insurance_years"]
>>> spec = parameter_spec(lever.name)
>>> spec["unit"], spec["min"], spec["max"]
('years', 0, 3)
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w
from mesa.visualization import Slider

from sim.output.labels import LANGS, check_lang
from sim.scenario import Scenario

SLIDER_STEPS = 100  # a float slider moves in hundredths of its allowed range


@dataclass(frozen=True)
class Lever:
    """A policy or run parameter the page lets a planner move."""

    name: str                   # dotted parameter name, e.g. policy.urban_district.job_years
    arg: str                    # keyword argument of `ExplorerModel`
    label: tuple[str, str]      # (English, Chinese)

    def text(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label[LANGS.index(check_lang(lang))]


LEVERS: tuple[Lever, ...] = (
    Lever("policy.urban_district.insurance_years", "insurance_years",
          ("五 Urban districts: social-insurance years", "五 城区落户：社保年限")),
    Lever("policy.urban_district.job_years", "job_years",
          ("五 Urban districts: stable-job years", "五 城区落户：稳定就业年限")),
    Lever("policy.urban_district.residence_years", "residence_years",
          ("五 Urban districts: residence years", "五 城区落户：居住年限")),
    Lever("policy.community_collective_household", "community_collective",
          ("九 Community collective households", "九 社区集体户")),
    Lever("policy.landlord_consent_share", "landlord_consent_share",
          ("Landlords letting tenants register", "同意租户落户的房东比例")),
    Lever("policy.residence_permit.conditional_residence_years", "permit_residence_years",
          ("十一 Permit: residence years for further services",
           "十一 居住证：享受其他服务的居住年限")),
    Lever("policy.residence_permit.conditional_insurance_years", "permit_insurance_years",
          ("十一 Permit: insurance years for further services",
           "十一 居住证：享受其他服务的社保年限")),
    Lever("policy.residence_permit.exam_schooling_years", "exam_schooling_years",
          ("十一 Permit: school years for local entrance exams",
           "十一 居住证：就地升学考试的连续就学年限")),
    Lever("policy.land_rights_kept_on_settling", "land_rights_kept",
          ("二.2 Land rights kept on settling", "二.2 落户不以退出土地权益为条件")),
    Lever("fiscal.linkage.pool_rule", "pool_rule",
          ("十六 Linkage pool rule", "十六 挂钩资金规模规则")),
    Lever("fiscal.linkage.pool_amount", "pool_amount",
          ("十六 Linkage pool (fixed/growing rules)", "十六 挂钩资金（固定/增长规则）")),
    Lever("fiscal.linkage.pool_per_settler", "pool_per_settler",
          ("十六 Linkage pool per settler", "十六 每名落户人口挂钩资金")),
    Lever("fiscal.linkage.rate_within_city", "rate_within_city",
          ("十六 Weight: settler from within Panjin", "十六 权重：市内落户人口")),
    Lever("fiscal.linkage.rate_within_province", "rate_within_province",
          ("十六 Weight: settler from Liaoning", "十六 权重：省内落户人口")),
    Lever("fiscal.linkage.rate_cross_province", "rate_cross_province",
          ("十六 Weight: settler from another province", "十六 权重：跨省落户人口")),
    Lever("fiscal.linkage.weight_permit_holder", "weight_permit_holder",
          ("十六 Weight: residence-permit holder", "十六 权重：居住证持有人")),
    Lever("fiscal.linkage.weight_migrant_pupil", "weight_migrant_pupil",
          ("十六 Weight: migrant pupil", "十六 权重：随迁子女")),
    Lever("run.scale", "scale", ("Scale (share of the city simulated)", "模拟规模（占全市比例）")),
    Lever("run.seed", "seed", ("Random seed", "随机种子")),
)
LEVERS_BY_ARG: dict[str, Lever] = {lever.arg: lever for lever in LEVERS}
RUN_ARGS = ("scale", "seed")  # run settings, not policy: never written to a saved scenario


@cache
def _parameter_file(group: str) -> dict[str, Any]:
    text = (resources.files("sim.data").joinpath("parameters", f"{group}.toml")
            .read_text(encoding="utf-8"))
    return tomllib.loads(text)


def parameter_spec(name: str) -> dict[str, Any]:
    """The metadata table of a parameter (``value``, ``type``, ``unit``, ``doc``, bounds …)
    from its defaults file; ``KeyError`` for an unknown name."""
    group, *path = name.split(".")
    node: Any = _parameter_file(group)
    for part in path:
        node = node[part]
    if "value" not in node:
        raise KeyError(f"{name} is a group of parameters, not a parameter")
    return node


def range_text(spec: Mapping[str, Any]) -> str:
    """The allowed values of a parameter in a few characters: ``0–3``, ``≥ 0``,
    ``> 0, ≤ 1``, or the choices."""
    if spec.get("choices"):
        return " / ".join(spec["choices"])
    lo, hi = spec.get("min"), spec.get("max")
    low = None if lo is None else f"{'>' if spec.get('min_exclusive') else '≥'} {lo:g}"
    high = None if hi is None else f"{'<' if spec.get('max_exclusive') else '≤'} {hi:g}"
    if low and high and low.startswith("≥") and high.startswith("≤"):
        return f"{lo:g}–{hi:g}"
    return ", ".join(t for t in (low, high) if t)


def widget_label(lever: Lever, lang: str) -> str:
    """The lever's label with its unit and allowed range, e.g.
    ``五 Urban districts: social-insurance years [years, 0–3]``."""
    spec = parameter_spec(lever.name)
    extra = ", ".join(t for t in (spec.get("unit", ""), range_text(spec)) if t)
    return f"{lever.text(lang)} [{extra}]" if extra else lever.text(lang)


def _slider_step(spec: Mapping[str, Any]) -> float:
    return (spec["max"] - spec["min"]) / SLIDER_STEPS


def user_param(lever: Lever, value: Any, lang: str) -> Slider | dict[str, Any]:
    """The SolaraViz model parameter (widget) of a lever showing ``value``."""
    spec = parameter_spec(lever.name)
    label = widget_label(lever, lang)
    kind = spec["type"]
    if kind == "bool":
        return {"type": "Checkbox", "value": bool(value), "label": label}
    if spec.get("choices"):
        return {"type": "Select", "value": value, "values": list(spec["choices"]),
                "label": label}
    bounded = spec.get("min") is not None and spec.get("max") is not None
    if kind == "int" and bounded:
        return Slider(label, value=int(value), min=spec["min"], max=spec["max"], step=1,
                      dtype=int)
    if kind == "float" and bounded:
        step = _slider_step(spec)
        low = spec["min"] + (step if spec.get("min_exclusive") else 0.0)
        high = spec["max"] - (step if spec.get("max_exclusive") else 0.0)
        return Slider(label, value=float(value), min=low, max=high, step=step, dtype=float)
    return {"type": "InputText", "value": plain_text(value), "label": label}


def plain_text(value: Any) -> str:
    """A value as a planner would type it: ``500``, ``0.35``, ``per_settler``."""
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.12g}"
    return str(value)


def parse(lever: Lever, value: Any) -> Any:
    """A widget's value as the parameter's type (text fields give strings); ``ValueError``
    with a short reason when it is not one."""
    kind = parameter_spec(lever.name)["type"]
    if kind == "bool":
        return bool(value)
    if kind == "str":
        return str(value)
    text = str(value).strip().replace(",", "").replace("_", "")
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if kind == "int":
        if not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    return float(f"{number:.12g}")  # a slider's 0.35000000000000003 is 0.35


def lever_values(scenario: Scenario, year: int) -> dict[str, Any]:
    """Every lever's value in ``scenario`` in force in ``year``, by keyword argument."""
    p = scenario.at(year)
    return {lever.arg: p[lever.name] for lever in LEVERS}


def model_params(scenario: Scenario, scenario_file: str, lang: str, scale: float,
                 seed: int) -> dict[str, Any]:
    """SolaraViz's ``model_params`` for `ExplorerModel`: one widget per lever, showing the
    scenario's values in its first simulated year, plus the fixed scenario file and
    language."""
    shown = lever_values(scenario, scenario.run.start_year + 1) | {"scale": scale, "seed": seed}
    params: dict[str, Any] = {"scenario_file": scenario_file, "lang": lang}
    params.update({lever.arg: user_param(lever, shown[lever.arg], lang) for lever in LEVERS})
    return params


# ------------------------------------------------------------------ saving

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def scenario_text(base_file: Path, out_dir: Path, name: str, description: str,
                  overrides: Mapping[str, Any], note: str) -> str:
    """A scenario file that extends ``base_file`` (by a path relative to ``out_dir``) and
    sets ``overrides`` (dotted name -> plain value)."""
    extends = Path(os.path.relpath(base_file.resolve(), out_dir.resolve())).as_posix()
    tree: dict[str, Any] = {"name": name, "description": description, "extends": extends}
    for dotted, value in overrides.items():
        *groups, leaf = dotted.split(".")
        node = tree
        for g in groups:
            node = node.setdefault(g, {})
        node[leaf] = value
    header = "".join(f"# {line}\n" for line in note.splitlines())
    return header + tomli_w.dumps(tree)


def save_scenario(base_file: Path, out_dir: Path, overrides: Mapping[str, Any],
                  description: str, note: str, now: datetime | None = None) -> Path:
    """Write a new scenario file in ``out_dir`` (created if missing); an existing file is
    never overwritten: the name gets ``-2``, ``-3`` … instead."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    stem = _UNSAFE.sub("_", f"{Path(base_file).stem}-explored-{stamp}")
    for n in range(1, 1000):
        name = stem if n == 1 else f"{stem}-{n}"
        path = out_dir / f"{name}.toml"
        text = scenario_text(Path(base_file), out_dir, name, description, overrides, note)
        try:
            with path.open("x", encoding="utf-8") as f:
                f.write(text)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{out_dir}: too many scenario files named {stem}-N.toml")
