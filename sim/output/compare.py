"""Comparison of finished runs: ``comparison.html``, ``comparison.md`` and
``comparison.xlsx``, with charts.

The first run is the base. For every other run the report gives the key
indicators of the city in selected years side by side, and the difference from
the base for every area and the city in every year. With several runs on both
sides a difference comes with a 90% confidence interval of the mean difference:
paired by seed when both runs used the same seeds (common random numbers, the
usual way to compare scenarios), else Welch's interval; with a single run on
either side there is no interval and the report says so. Differences are taken
between the rounded figures shown, so that the table reads consistently
(76.7 vs 76.8 is +0.1).

Runs of different scale or years are refused unless ``force=True`` (then only
the shared years are compared, and the report warns). The report never
overwrites: the default folder is named after the scenarios,
``results/comparisons/<base>-vs-<other>/`` (``-2``, ``-3`` … when it exists), and
an explicit folder that holds files is refused.

Example
-------
>>> compare_runs([Path("results/reform_2015/run1"), Path("results/strict/run1")],
...              lang="zh")  # doctest: +SKIP
[PosixPath('results/comparisons/reform_2015-vs-strict_insurance/comparison.html'), ...]
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from sim.areas import load_areas
from sim.output import labels
from sim.output.common import (
    MONEY_UNITS,
    PRICE_BASE_YEAR,
    SUMMARY_INDICATORS,
    MoneyUnit,
    RunContext,
    area_order,
    selected_years,
    summarize,
    tidy,
)
from sim.output.plotting import (
    PALETTE,
    add_legend,
    chart_style,
    finish_axis,
    frame,
    plot_band,
    save,
    scale_for,
)
from sim.output.workbook import Column, Sheet, write_sheet

RUN_FILES = ("indicators.csv", "manifest.json")
LINESTYLES = ("-", "--", ":", "-.")     # scenarios that coincide stay visible
CONFIDENCE = 0.90


class CompareError(Exception):
    """Runs that cannot be compared, a folder that is not a run, or an occupied folder."""


@dataclass(frozen=True)
class _Run:
    folder: Path
    name: str
    manifest: dict
    data: pd.DataFrame
    context: RunContext


def read_run(folder: Path) -> tuple[pd.DataFrame, dict]:
    """The indicator table and manifest of a run folder.

    Raises `CompareError` naming the folder and the missing or unreadable file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CompareError(f"{folder}: no such run folder")
    for name in RUN_FILES:
        if not (folder / name).is_file():
            raise CompareError(f"{folder}: not a run folder (missing {name})")
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CompareError(f"{folder / 'manifest.json'}: not valid JSON ({err})") from None
    try:
        data = tidy(pd.read_csv(folder / "indicators.csv", dtype={"category": str}))
    except (ValueError, pd.errors.ParserError) as err:
        raise CompareError(f"{folder / 'indicators.csv'}: {err}") from None
    return data, manifest


def _load(run_dirs: Sequence[Path], force: bool, lang: str) -> tuple[list[_Run], list[str]]:
    """Read the runs and check they can be compared; returns them (named uniquely)
    and the warnings for the report. Areas must match; years and scale must match
    unless ``force`` (then the shared years are kept)."""
    if len(run_dirs) < 2:
        raise CompareError(f"compare needs at least two run folders, got {len(run_dirs)}")
    loaded = [(Path(d), *read_run(Path(d))) for d in run_dirs]
    first_dir, first, first_manifest = loaded[0]
    warnings: list[str] = []
    for folder, data, manifest in loaded[1:]:
        areas, other = set(first["area"]), set(data["area"])
        if areas != other:
            raise CompareError(f"runs do not share the same areas: {first_dir} has "
                               f"{_listing(areas)}, {folder} has {_listing(other)}")
        for what, a, b in (("years", _span(set(first["year"])), _span(set(data["year"]))),
                           ("scale", first_manifest.get("scale"), manifest.get("scale"))):
            if a != b:
                message = (f"runs do not share the same {what}: {first_dir} has {a}, "
                           f"{folder} has {b}")
                if not force:
                    raise CompareError(message + " (compare them anyway with --force)")
                warnings.append(message + "; compared with --force")
    shared = set.intersection(*(set(d["year"]) for _, d, _ in loaded))
    if not shared:
        raise CompareError("the runs share no year")
    names = [labels.scenario(str(m.get("scenario") or d.name), lang) for d, _, m in loaded]
    runs = []
    for (d, data, m), n in zip(loaded, names, strict=True):
        data = data[data["year"].isin(shared)]
        runs.append(_Run(d, f"{n} ({d.name})" if names.count(n) > 1 else n, m, data,
                         RunContext.of(m, int(data["replicate"].nunique()), lang)))
    return runs, warnings


def _span(years: set[int]) -> str:
    ordered = sorted(years)
    contiguous = ordered == list(range(ordered[0], ordered[-1] + 1)) if ordered else True
    if contiguous and ordered:
        return f"{ordered[0]}–{ordered[-1]}"
    return ", ".join(map(str, ordered)) or "no years"


def _listing(areas: set[str]) -> str:
    return ", ".join(sorted(areas)) or "no areas"


def comparison_folder(names: Sequence[str], root: Path = Path("results") / "comparisons"
                      ) -> Path:
    """A new folder named after the scenarios: ``<base>-vs-<other>``, ``-2`` … if taken."""
    stem = "-vs-".join(re.sub(r"[^\w.-]+", "_", n).strip("_") or "run" for n in names)
    folder, n = root / stem, 1
    while folder.exists():
        n += 1
        folder = root / f"{stem}-{n}"
    return folder


# ---------------------------------------------------------------- differences

@dataclass(frozen=True)
class Shown:
    """How an indicator is shown: divide by ``factor``, round to ``decimals``, unit."""

    factor: float
    decimals: int
    unit: str
    diff_unit: str

    def round(self, value: float) -> float:
        return round(value / self.factor, self.decimals) + 0.0   # + 0.0: no -0.0


def shown_as(indicator: str, money: MoneyUnit, lang: str) -> Shown:
    """Persons as whole numbers, rates in percent (differences in percentage points)
    with one decimal, money in the chosen unit."""
    kind = labels.kind(indicator)
    if kind == "rate":
        return Shown(0.01, 1, "%", labels.text("compare_pp", lang))
    if kind == "money":
        unit = labels.text(money.label_key, lang)
        return Shown(money.factor, {1.0: 0, 1e4: 1}.get(money.factor, 2), unit, unit)
    unit = labels.text("unit_persons", lang)
    return Shown(1.0, 0, unit, unit)


def _per_replicate(run: _Run, indicator: str) -> pd.DataFrame:
    """Rows (year, area), one column per replicate (categories summed, missing = 0)."""
    sub = run.data[run.data["indicator"] == indicator]
    return sub.groupby(["year", "area", "replicate"])["value"].sum().unstack(
        "replicate", fill_value=0.0)


def paired(a: _Run, b: _Run) -> bool:
    """Whether replicate r of both runs used the same seed (common random numbers)."""
    seeds_a, seeds_b = a.manifest.get("seeds"), b.manifest.get("seeds")
    return (a.context.replicates == b.context.replicates and seeds_a is not None
            and seeds_a == seeds_b)


def interval(base: np.ndarray, other: np.ndarray, is_paired: bool
             ) -> tuple[float, float] | None:
    """90% confidence interval of the mean difference ``other − base``; None with a
    single run on either side.

    >>> lo, hi = interval(np.array([1.0, 2, 3]), np.array([2.0, 3, 4.5]), True)
    >>> round(lo, 3), round(hi, 3)
    (0.68, 1.653)
    """
    if len(base) < 2 or len(other) < 2:
        return None
    q = (1 + CONFIDENCE) / 2
    if is_paired:
        d = other - base
        half = scipy_stats.t.ppf(q, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        return float(d.mean() - half), float(d.mean() + half)
    va, vb = base.var(ddof=1) / len(base), other.var(ddof=1) / len(other)
    se = math.sqrt(va + vb)
    diff = float(other.mean() - base.mean())
    if se == 0:
        return diff, diff
    dof = (va + vb) ** 2 / (va ** 2 / (len(base) - 1) + vb ** 2 / (len(other) - 1))
    half = scipy_stats.t.ppf(q, dof) * se
    return diff - half, diff + half


def differences(base: _Run, other: _Run, money: MoneyUnit, lang: str) -> pd.DataFrame:
    """Every key indicator, area (city first) and year: base and other mean as shown,
    their difference (of the shown figures) and its interval (as shown, or NaN).

    Rates are means of the replicates' rates.
    """
    out = []
    is_paired = paired(base, other)
    for indicator in SUMMARY_INDICATORS:
        a, b = _per_replicate(base, indicator), _per_replicate(other, indicator)
        if a.empty or b.empty:
            continue
        shown = shown_as(indicator, money, lang)
        order = {x: i for i, x in enumerate(area_order(a.index.get_level_values("area")))}
        for year, area in sorted(a.index.intersection(b.index),
                                 key=lambda ya: (ya[0], order.get(ya[1], 99))):
            va, vb = a.loc[(year, area)].to_numpy(), b.loc[(year, area)].to_numpy()
            ci = interval(va, vb, is_paired)
            ra, rb = shown.round(va.mean()), shown.round(vb.mean())
            out.append({"indicator": indicator, "area": area, "year": int(year),
                        "base": ra, "other": rb,
                        "difference": round(rb - ra, shown.decimals) + 0.0,
                        "low": shown.round(ci[0]) if ci else math.nan,
                        "high": shown.round(ci[1]) if ci else math.nan})
    return pd.DataFrame(out, columns=["indicator", "area", "year", "base", "other",
                                      "difference", "low", "high"])


def _fmt(value: float, decimals: int, sign: bool = False) -> str:
    """A table cell: grouped digits; a sign on differences unless zero; NaN as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:{'+' if sign and value else ''},.{decimals}f}"


# --------------------------------------------------------------------- charts

def _charts(runs: list[_Run], out_dir: Path, lang: str, formats: Sequence[str]
            ) -> list[Path]:
    """City indicators (one panel each) and fiscal gap by area, a line per scenario."""
    city = load_areas().city_id
    context = runs[0].context
    run_list = "; ".join(f"{r.name}: {r.context.scale_text(lang)}, "
                         f"{r.context.runs_text(lang)}" for r in runs)
    source = (labels.text("compare_source", lang, version=context.version, runs=run_list)
              + " " + labels.text("prices", lang, year=PRICE_BASE_YEAR))
    paths: list[Path] = []
    present = [i for i in SUMMARY_INDICATORS
               if any(not summarize(r.data, i, city).empty for r in runs)]
    panels = [(ind, city) for ind in present if ind != "fiscal_gap"]
    gap_areas = area_order(runs[0].data.loc[runs[0].data["indicator"] == "fiscal_gap", "area"]
                           .unique())
    city_title = labels.text("compare_title_city", lang, area=labels.area(city, lang))
    figures = [("comparison_city", city_title, panels, True),
               ("comparison_fiscal_gap", labels.text("compare_title_gap", lang),
                [("fiscal_gap", a) for a in gap_areas], False)]
    # One unit for the gap in every area, so that the panels read alike.
    gap_scale = scale_for("money", pd.concat(
        [r.data.loc[r.data["indicator"] == "fiscal_gap", "value"] for r in runs]).to_numpy())
    with chart_style(lang):
        for stem, title, cells, indicator_titles in figures:
            if not cells:
                continue
            if not indicator_titles:
                title = gap_scale.titled(title, lang)
            fig, axes = frame(len(cells), title, source, lang)
            for ax, (indicator, area) in zip(axes, cells, strict=True):
                stats = [summarize(r.data, indicator, area) for r in runs]
                scale = gap_scale if indicator == "fiscal_gap" else scale_for(
                    labels.kind(indicator), [v for s in stats for v in s["hi"]])
                for i, (run, st) in enumerate(zip(runs, stats, strict=True)):
                    if not st.empty:
                        plot_band(ax, st, scale, run.name, PALETTE[i % len(PALETTE)],
                                  LINESTYLES[i % len(LINESTYLES)])
                panel = (labels.indicator(indicator, lang) if indicator_titles
                         else labels.area(area, lang))
                finish_axis(ax, scale, lang, panel, ylabel=True)
            add_legend(fig, axes)
            paths += save(fig, out_dir, stem, formats)
    return paths


# --------------------------------------------------------------------- report

def _md_table(header: list[str], rows: list[list[str]], numeric_from: int) -> str:
    """A pipe table; columns from ``numeric_from`` on are right-aligned."""
    def esc(c: str) -> str:
        return c.replace("|", "\\|").replace("\n", " ")
    rule = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "|".join(rule) + "|"]
    return "\n".join(lines + ["| " + " | ".join(map(esc, r)) + " |" for r in rows])


def _html_table(header: list[str], rows: list[list[str]], numeric_from: int) -> str:
    """An HTML table; columns from ``numeric_from`` on are right-aligned numbers."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td{' class=num' if i >= numeric_from else ''}>{html.escape(c)}</td>"
        for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = ("body{font-family:'Noto Sans SC','Microsoft YaHei',sans-serif;margin:2em;max-width:90em}"
       "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;"
       "padding:.25em .6em}th{background:#dce6f1}td.num{text-align:right;"
       "font-variant-numeric:tabular-nums}img{max-width:100%}.warn{color:#b03a00;"
       "font-weight:bold}")


@dataclass
class _Section:
    heading: str
    header: list[str]
    rows: list[list[str]]
    numeric_from: int
    note: str = ""


def _sections(runs: list[_Run], diffs: dict[str, pd.DataFrame], money: MoneyUnit,
              lang: str) -> list[_Section]:
    """The report's tables: the runs; per other run the city's key figures in selected
    years; then per other run and indicator the differences by area and year."""
    def t(key: str, **fields: object) -> str:
        return labels.text(key, lang, **fields)

    base = runs[0]
    sections = [_Section(t("compare_scenarios"), [
        t("scenario"), t("description"), t("compare_run"), t("about_scale"),
        t("replicates"), t("seeds"), t("version")], [
        [r.context.scenario_label(lang), labels.description(r.context.scenario,
                                                            r.context.description, lang),
         str(r.folder), r.context.scale_text(lang), str(r.context.replicates),
         r.context.seeds, r.context.version] for r in runs], 99)]
    city = load_areas().city_id
    for run in runs[1:]:
        d = diffs[run.name]
        years = selected_years(d["year"].unique()) if len(d) else []
        rows = []
        for indicator in dict.fromkeys(d["indicator"]):
            shown = shown_as(indicator, money, lang)
            for year in years:
                row = d[(d["indicator"] == indicator) & (d["area"] == city)
                        & (d["year"] == year)]
                if row.empty:
                    continue
                r = row.iloc[0]
                rows.append([labels.indicator(indicator, lang), str(year), shown.unit,
                             _fmt(r["base"], shown.decimals), _fmt(r["other"], shown.decimals),
                             _fmt(r["difference"], shown.decimals, sign=True) + (
                                 "" if shown.unit == shown.diff_unit else f" {shown.diff_unit}"),
                             _ci(r, shown.decimals)])
        sections.append(_Section(
            t("compare_key", other=run.name, base=base.name, city=labels.area(city, lang)),
            [t("compare_indicator"), t("year"), t("compare_unit"), base.name, run.name,
             t("compare_difference"), t("compare_interval")], rows, 3))
        for indicator in dict.fromkeys(d["indicator"]):
            shown = shown_as(indicator, money, lang)
            sub = d[d["indicator"] == indicator]
            areas = area_order(sub["area"].unique())
            table = sub.pivot(index="year", columns="area", values="difference")
            has_ci = sub["low"].notna().any()
            cells = {(y, a): (_fmt(v["difference"], shown.decimals, sign=True)
                              + (f" [{_fmt(v['low'], shown.decimals, True)}, "
                                 f"{_fmt(v['high'], shown.decimals, True)}]" if has_ci else ""))
                     for v in sub.to_dict("records") for y, a in [(v["year"], v["area"])]}
            rows = [[str(y), *(cells.get((y, a), "–") for a in areas)] for y in table.index]
            sections.append(_Section(
                t("compare_by_area", indicator=labels.indicator(indicator, lang),
                  unit=shown.diff_unit, other=run.name, base=base.name),
                [t("year"), *(labels.area(a, lang) for a in areas)], rows, 1))
    return sections


def _ci(row: pd.Series, decimals: int) -> str:
    if math.isnan(row["low"]):
        return "–"
    return f"[{_fmt(row['low'], decimals, True)}, {_fmt(row['high'], decimals, True)}]"


def _workbook(runs: list[_Run], diffs: dict[str, pd.DataFrame], warnings: list[str],
              money: MoneyUnit, lang: str, path: Path) -> Path:
    """``comparison.xlsx``: the runs and warnings, then every difference as one table."""
    import xlsxwriter

    def t(key: str, **fields: object) -> str:
        return labels.text(key, lang, **fields)

    runs_sheet = Sheet(t("compare_scenarios"), t("compare_title"), warnings, [
        Column(t("scenario"), "text"), Column(t("description"), "text"),
        Column(t("compare_run"), "text"), Column(t("about_scale"), "text"),
        Column(t("replicates"), "year"), Column(t("seeds"), "text"),
        Column(t("version"), "text")], [
        [r.context.scenario_label(lang), labels.description(r.context.scenario,
                                                            r.context.description, lang),
         str(r.folder), r.context.scale_text(lang), r.context.replicates, r.context.seeds,
         r.context.version] for r in runs], 1)
    rows = []
    for run in runs[1:]:
        for v in diffs[run.name].to_dict("records"):
            shown = shown_as(v["indicator"], money, lang)
            rows.append([run.context.scenario_label(lang), labels.indicator(v["indicator"], lang),
                         labels.area(v["area"], lang), v["year"], shown.unit, v["base"],
                         v["other"], v["difference"], shown.diff_unit,
                         None if math.isnan(v["low"]) else v["low"],
                         None if math.isnan(v["high"]) else v["high"]])
    base = runs[0].context.scenario_label(lang)
    diff_sheet = Sheet(t("compare_differences"), t("compare_diff_title", base=base),
                       [t("compare_rounding")], [
        Column(t("scenario"), "text"), Column(t("compare_indicator"), "text"),
        Column(t("area"), "text"), Column(t("year"), "year"), Column(t("compare_unit"), "text"),
        Column(base, "number"), Column(t("compare_other"), "number"),
        Column(t("compare_difference"), "number"), Column(t("compare_diff_unit"), "text"),
        Column(t("compare_low"), "number"), Column(t("compare_high"), "number")], rows, 4)
    wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
    for i, sheet in enumerate((runs_sheet, diff_sheet)):
        write_sheet(wb, sheet, money, i)
    wb.close()
    return path


def compare_runs(run_dirs: list[Path], out_dir: Path | None = None, lang: str = "en",
                 force: bool = False, money: str = "wan", svg: bool = False) -> list[Path]:
    """Write ``comparison.html``, ``.md``, ``.xlsx`` and their charts; return the paths.

    The first run is the base that differences are taken from. ``out_dir`` must
    be new or empty (default: `comparison_folder` of the scenario names). Raises
    `CompareError` when a folder is not a run folder, the runs do not share areas,
    or (without ``force``) years or scale, or ``out_dir`` holds files.
    """
    labels.check_lang(lang)
    unit = MONEY_UNITS[money]
    runs, warnings = _load(run_dirs, force, lang)
    out_dir = Path(out_dir) if out_dir is not None else comparison_folder(
        [r.context.scenario for r in runs])
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CompareError(f"{out_dir}: folder already holds files; give a new --out "
                           "folder (reports are never overwritten)")
    for run in runs[1:]:
        if min(runs[0].context.replicates, run.context.replicates) < 2:
            warnings.append(labels.text("compare_no_interval", lang, base=runs[0].name,
                                        other=run.name))
        elif not paired(runs[0], run):
            warnings.append(labels.text("compare_unpaired", lang, base=runs[0].name,
                                        other=run.name))
    out_dir.mkdir(parents=True, exist_ok=True)
    diffs = {r.name: differences(runs[0], r, unit, lang) for r in runs[1:]}
    charts = _charts(runs, out_dir, lang, ("png", "svg") if svg else ("png",))
    pngs = [p for p in charts if p.suffix == ".png"]
    title = labels.text("compare_title", lang)
    intro = labels.text("compare_intro", lang, base=runs[0].name, unit=labels.text(
        unit.label_key, lang), year=PRICE_BASE_YEAR)

    md = [f"# {title}", "", intro, ""] + [f"**{w}**" for w in warnings] + [""]
    page = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(intro)}</p>",
            *(f'<p class="warn">{html.escape(w)}</p>' for w in warnings)]
    for s in _sections(runs, diffs, unit, lang):
        if s.rows:
            md += [f"## {s.heading}", "", _md_table(s.header, s.rows, s.numeric_from), ""]
            page += [f"<h2>{html.escape(s.heading)}</h2>",
                     _html_table(s.header, s.rows, s.numeric_from)]
    if pngs:
        md += [f"## {labels.text('compare_charts', lang)}", ""]
        page.append(f"<h2>{html.escape(labels.text('compare_charts', lang))}</h2>")
    for png in pngs:
        md += [f"![{png.stem}]({png.name})", ""]
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        page.append(f'<p><img alt="{png.stem}" src="data:image/png;base64,{data}"></p>')

    md_path, html_path = out_dir / "comparison.md", out_dir / "comparison.html"
    md_path.write_text("\n".join(md), encoding="utf-8")
    html_path.write_text(
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{CSS}</style>'
        f'</head><body>\n' + "\n".join(page) + "\n</body></html>\n", encoding="utf-8")
    xlsx = _workbook(runs, diffs, warnings, unit, lang, out_dir / "comparison.xlsx")
    return [html_path, md_path, xlsx, *charts]
