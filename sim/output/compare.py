"""Comparison report of finished runs: ``comparison.html`` and ``comparison.md``.

The report puts the scenarios side by side: key city-level indicators in
selected years (2020, 2025, 2030, 2035 where the runs have them), each
scenario's difference from the first one, and charts with one line per
scenario. The HTML file is self-contained (charts embedded as base64 PNG); the
Markdown file links the PNG files written beside it.

Example
-------
>>> compare_runs([Path("results/reform_2015/run1"), Path("results/strict/run1")],
...              Path("results/compare"), lang="zh")  # doctest: +SKIP
[PosixPath('results/compare/comparison.html'), PosixPath('results/compare/comparison.md'), ...]
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.areas import load_areas
from sim.output import labels
from sim.output.charts import (
    PALETTE,
    add_legend,
    area_order,
    chart_style,
    finish_axis,
    frame,
    plot_band,
    save,
    scale_for,
    seed_text,
    summarize,
    tidy,
)

KEY_INDICATORS = ("resident_population", "registered_population",
                  "resident_urbanization_rate", "registered_urbanization_rate",
                  "settlements", "residence_permit_holders", "public_service_cost",
                  "incremental_cost", "transfer_payment", "fiscal_gap")
PREFERRED_YEARS = (2020, 2025, 2030, 2035)
RUN_FILES = ("indicators.csv", "manifest.json")
LINESTYLES = ("-", "--", ":", "-.")     # scenarios that coincide stay visible


class CompareError(Exception):
    """Runs that cannot be compared, or a folder that is not a run folder."""


@dataclass(frozen=True)
class _Run:
    folder: Path
    name: str
    manifest: dict
    data: pd.DataFrame


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


def _load(run_dirs: Sequence[Path]) -> list[_Run]:
    """Read the runs, check that they share years and areas, name them uniquely."""
    if len(run_dirs) < 2:
        raise CompareError(f"compare needs at least two run folders, got {len(run_dirs)}")
    loaded = [(Path(d), *read_run(Path(d))) for d in run_dirs]
    first_dir, first, _ = loaded[0]
    for what, column, show in (("years", "year", _span), ("areas", "area", _listing)):
        expected = set(first[column])
        for folder, data, _ in loaded[1:]:
            if set(data[column]) != expected:
                raise CompareError(
                    f"runs do not share the same {what}: {first_dir} has "
                    f"{show(expected)}, {folder} has {show(set(data[column]))}")
    names = [str(m.get("scenario") or d.name) for d, _, m in loaded]
    return [_Run(d, f"{n} ({d.name})" if names.count(n) > 1 else n, m, data)
            for (d, data, m), n in zip(loaded, names, strict=True)]


def _span(years: set[int]) -> str:
    ordered = sorted(years)
    contiguous = ordered == list(range(ordered[0], ordered[-1] + 1)) if ordered else True
    if contiguous and ordered:
        return f"{ordered[0]}–{ordered[-1]}"
    return ", ".join(map(str, ordered)) or "no years"


def _listing(areas: set[str]) -> str:
    return ", ".join(sorted(areas)) or "no areas"


def selected_years(years: Sequence[int]) -> list[int]:
    """2020, 2025, 2030, 2035 where present; else the first, middle and last year.

    >>> selected_years(range(2015, 2031))
    [2020, 2025, 2030]
    >>> selected_years([2016, 2017, 2018, 2019])
    [2016, 2018, 2019]
    """
    ordered = sorted(set(years))
    chosen = [y for y in PREFERRED_YEARS if y in ordered]
    if chosen:
        return chosen
    return sorted({ordered[0], ordered[len(ordered) // 2], ordered[-1]})


def _city_value(run: _Run, indicator: str, year: int) -> float | None:
    """Median over replicates of the city total of an indicator in a year."""
    stats = summarize(run.data[run.data["year"] == year], indicator, load_areas().city_id)
    return float(stats["median"].iloc[0]) if not stats.empty else None


def _fmt(value: float | None, factor: float, decimals: int, sign: str = "",
         suffix: str = "") -> str:
    """A table cell: the value divided by ``factor``, grouped; a dash when missing;
    no sign on a value that rounds to zero."""
    if value is None:
        return "–"
    shown = round(value / factor, decimals) + 0.0     # + 0.0 turns -0.0 into 0.0
    return f"{shown:{sign if shown else ''},.{decimals}f}" + suffix


def _year_tables(runs: list[_Run], lang: str) -> dict[int, list[list[str]]]:
    """Per selected year, one row per key indicator: its unit, each scenario's value
    (city level, median over replicates) and each scenario's difference from the
    first. Rates are in percent, their differences in percentage points."""
    years = selected_years(runs[0].data["year"].unique())
    tables: dict[int, list[list[str]]] = {y: [] for y in years}
    for indicator in KEY_INDICATORS:
        raw = {(r.name, y): _city_value(r, indicator, y) for r in runs for y in years}
        if all(v is None for v in raw.values()):
            continue
        kind = labels.kind(indicator)
        scale = scale_for(kind, [abs(v) for v in raw.values() if v is not None])
        decimals = 2 if scale.factor >= 1e8 else 1 if kind == "rate" or scale.factor > 1 else 0
        pp = " " + labels.text("compare_pp", lang) if kind == "rate" else ""
        for y in years:
            base = raw[(runs[0].name, y)]
            values = [_fmt(raw[(r.name, y)], scale.factor, decimals) for r in runs]
            diffs = [_fmt(None if base is None or raw[(r.name, y)] is None
                          else raw[(r.name, y)] - base, scale.factor, decimals, "+", pp)
                     for r in runs[1:]]
            tables[y].append([labels.indicator(indicator, lang), scale.unit(lang),
                              *values, *diffs])
    return {y: rows for y, rows in tables.items() if rows}


def _charts(runs: list[_Run], out_dir: Path, lang: str) -> list[Path]:
    """City indicators (one panel each) and fiscal gap by area, a line per scenario."""
    city = load_areas().city_id
    version = runs[0].manifest.get("version", "?")
    run_list = "; ".join(
        f"{r.name} ({labels.text('seeds', lang).lower()} {seed_text(r.manifest)})"
        for r in runs)
    source = labels.text("compare_source", lang, version=version, runs=run_list)
    paths: list[Path] = []
    present = [i for i in KEY_INDICATORS
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
            paths += save(fig, out_dir, stem)
    return paths


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


CSS = ("body{font-family:'Noto Sans SC','Microsoft YaHei',sans-serif;margin:2em;max-width:80em}"
       "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;"
       "padding:.25em .6em}th{background:#dce6f1}td.num{text-align:right;"
       "font-variant-numeric:tabular-nums}img{max-width:100%}")


def compare_runs(run_dirs: list[Path], out_dir: Path, lang: str = "en") -> list[Path]:
    """Write ``comparison.html``, ``comparison.md`` and their charts; return the paths.

    The first run is the base that differences are taken from. Raises
    `CompareError` when a folder is not a run folder or the runs do not share
    years or areas.
    """
    labels.check_lang(lang)
    runs = _load(run_dirs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = _year_tables(runs, lang)
    charts = _charts(runs, out_dir, lang)
    pngs = [p for p in charts if p.suffix == ".png"]
    base = runs[0].name
    header = [labels.text("compare_indicator", lang), labels.text("compare_unit", lang),
              *(r.name for r in runs), *(f"{r.name} − {base}" for r in runs[1:])]
    meta_header = [labels.text("scenario", lang), labels.text("description", lang),
                   labels.text("compare_run", lang), labels.text("seeds", lang),
                   labels.text("replicates", lang), labels.text("version", lang)]
    meta = [[r.name, str(r.manifest.get("description", "")), str(r.folder),
             seed_text(r.manifest),
             str(r.manifest.get("replicates", r.data["replicate"].nunique())),
             str(r.manifest.get("version", ""))] for r in runs]
    sections = [
        (labels.text("compare_scenarios", lang), meta_header, meta, len(meta_header)),
        *((labels.text("compare_year", lang, year=y), header, rows, 2)
          for y, rows in tables.items()),
    ]
    title = labels.text("compare_title", lang)
    intro = labels.text("compare_intro", lang, base=base)
    none = [] if tables else [labels.text("compare_none", lang)]

    md = [f"# {title}", "", intro, "", *none]
    page = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(intro)}</p>",
            *(f"<p>{html.escape(n)}</p>" for n in none)]
    for heading, header, rows, numeric_from in sections:
        if rows:
            md += [f"## {heading}", "", _md_table(header, rows, numeric_from), ""]
            page += [f"<h2>{html.escape(heading)}</h2>",
                     _html_table(header, rows, numeric_from)]
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
    return [html_path, md_path, *charts]
