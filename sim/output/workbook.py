"""The budget workbook of a run (``budget.xlsx``), for a finance bureau to use as it is.

Written with XlsxWriter, which has Excel Tables, print setup and number formats
built in. Sheets: About this run (scenario, scale, runs, seeds, years, price
base, version, what the fiscal gap's sign means, the kinds of transfer); the
city's key figures by year; for public-service cost by service and by payer,
incremental cost by service and by payer, transfers and gap, and settlements a
sheet of the five districts and counties (no city row: a column sum over a
year's areas is the city) and a sheet of the city's totals; with several runs
the spread of the runs; the parameters with their sources; and the sources.

Every sheet is an Excel Table (filters, banded rows) under a title and a note,
with frozen headers, the header row repeated on every printed page, landscape
A4 fitted to the page width. Money is in 万元 by default (``money="yuan"``,
``"wan"``, ``"yi"``) at 2015 prices. With several runs every value is the mean
over runs — means add up, so parts equal totals and areas the city — and the
spread is in its own sheet, labelled honestly (lowest–highest below 20 runs).

Example
-------
>>> write_workbook(indicators, manifest, run_dir / "budget.xlsx", money="yi")  # doctest: +SKIP
PosixPath('.../budget.xlsx')
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.workbook import Workbook

from sim.areas import load_areas
from sim.output import labels
from sim.output.common import (
    MONEY_UNITS,
    PRICE_BASE_YEAR,
    SUMMARY_INDICATORS,
    MoneyUnit,
    RunContext,
    area_order,
    band_quantiles,
    band_text,
    category_order,
    gap_payers,
    selected_years,
    tidy,
)
from sim.sources import cited_keys, load_sources

HEADER_ROW = 4          # 1-based, as openpyxl counts: title, note, caution, header
FORMATS = {"people": "#,##0", "rate": "0.0%", "year": "0", "number": "#,##0.00"}
UNIT_KEYS = {"people": "unit_persons", "rate": "unit_percent"}
# Sheets of one indicator each: key of the family label, indicator.
FAMILIES = (("family_cost_service", "public_service_cost"),
            ("family_cost_payer", "public_service_cost_by_payer"),
            ("family_incremental", "incremental_cost"),
            ("family_incremental_payer", "incremental_cost_by_payer"),
            ("family_settlements", "settlements"))
TABLE_STYLE = "Table Style Light 9"


@dataclass(frozen=True)
class Column:
    """A column of a sheet: its header and what it holds (``kind``: "people", "rate",
    "money", "year" or "text"), and whether it is the total of the columns before it
    back to the last key column."""

    header: str
    kind: str
    total: bool = False


@dataclass
class Sheet:
    """A table to write: title, notes, columns and rows, and how many key columns."""

    name: str
    title: str
    notes: list[str]
    columns: list[Column]
    rows: list[list[object]]
    key_columns: int = 1
    warning: str = ""
    row_kinds: list[str] | None = None     # the kind of the "number" columns, per row


# ------------------------------------------------------------------------ data

class _Data:
    """The run's table with means over replicates (missing rows count as zero)."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.runs = int(df["replicate"].nunique())
        self.city = load_areas().city_id

    def means(self, indicator: str, keys: Sequence[str], rows: pd.Series | None = None
              ) -> pd.Series:
        """Per replicate the sum over the rows (categories summed unless in ``keys``),
        then the mean over all runs."""
        sub = self.df[self.df["indicator"] == indicator]
        if rows is not None:
            sub = sub[rows.loc[sub.index]]
        return sub.groupby(list(keys))["value"].sum() / self.runs

    def spread(self, indicator: str, keys: Sequence[str]) -> pd.DataFrame:
        """Band over runs of the per-replicate totals: columns ``lo``, ``hi``."""
        sub = self.df[self.df["indicator"] == indicator]
        per_rep = sub.groupby(["replicate", *keys])["value"].sum().unstack(
            "replicate", fill_value=0.0)
        lo, hi = band_quantiles(self.runs)
        return pd.DataFrame({"lo": per_rep.quantile(lo, axis=1),
                             "hi": per_rep.quantile(hi, axis=1)})

    def has(self, indicator: str) -> bool:
        return bool((self.df["indicator"] == indicator).any())


def _header(name: str, kind: str, lang: str, money: MoneyUnit) -> str:
    """A column header with its unit: "Transfer payment (万元)" / "转移支付（万元）"."""
    if kind in ("year", "text"):
        return name
    unit = labels.text(money.label_key if kind == "money" else UNIT_KEYS[kind], lang)
    return f"{name}（{unit}）" if lang == "zh" else f"{name} ({unit})"


def _value(v: object, kind: str, money: MoneyUnit) -> object:
    """A cell value: money divided into the unit, NaN as an empty cell."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
    return v / money.factor if kind == "money" and isinstance(v, int | float) else v


# ------------------------------------------------------------------ sheet contents

class _Builder:
    """Builds the sheets of one run's workbook."""

    def __init__(self, df: pd.DataFrame, manifest: dict, lang: str, money: MoneyUnit):
        self.data = _Data(df)
        self.manifest = manifest
        self.lang = lang
        self.money = money
        self.context = RunContext.of(manifest, self.data.runs, lang)
        self.city_name = labels.area(self.data.city, lang)

    def t(self, key: str, **fields: object) -> str:
        return labels.text(key, self.lang, **fields)

    def notes(self) -> list[str]:
        """The note under each title: scenario, means over runs, money unit."""
        money = self.t("note_money", unit=self.t(self.money.label_key), year=PRICE_BASE_YEAR)
        scenario = self.context.scenario_label(self.lang)
        if self.data.runs == 1:
            return [self.t("note_one", scenario=scenario, money=money)]
        return [self.t("note_many", scenario=scenario, n=self.data.runs,
                       ranges=self.t("sheet_ranges"), money=money)]

    def warning(self) -> str:
        c = self.context
        return self.t("note_small_scale", scale=f"{c.scale:g}",
                      persons=f"{1 / c.scale:,.0f}") if c.small_scale() else ""

    def table(self, name: str, title: str, parts: list[tuple[str, str, pd.Series, bool]],
              by_area: bool) -> Sheet:
        """A sheet of rows year (× area): ``parts`` are (header, kind, means, is_total)."""
        keys: list[tuple] = sorted(set().union(*(s.index for _, _, s, _ in parts)))
        if by_area:
            order = {a: i for i, a in enumerate(area_order({a for _, a in keys}))}
            keys.sort(key=lambda ya: (ya[0], order[ya[1]]))
        columns = [Column(self.t("year"), "year")]
        if by_area:
            columns.append(Column(self.t("area"), "text"))
        columns += [Column(_header(h, k, self.lang, self.money), k, tot)
                    for h, k, _, tot in parts]
        rows = []
        for key in keys:
            row: list[object] = [key[0]] if by_area else [key]
            if by_area:
                row.append(labels.area(key[1], self.lang))
            row += [_value(float(s.get(key, math.nan)), k, self.money) for _, k, s, _ in parts]
            rows.append(row)
        return Sheet(name, title, self.notes(), columns, rows, len(columns) - len(parts),
                     self.warning())

    def family_parts(self, indicator: str, level: str) -> list[tuple[str, str, pd.Series, bool]]:
        """Columns of one indicator: a column per category and their total (or one
        column when the indicator has no categories), for the areas or the city."""
        d = self.data
        sub = d.df[d.df["indicator"] == indicator]
        rows = (d.df["area"] == d.city) if level == "city" else (d.df["area"] != d.city)
        keys = ["year"] if level == "city" else ["year", "area"]
        cats = category_order(indicator, sub["category"].unique())
        kind = labels.kind(indicator)
        if not cats:
            return [(labels.indicator(indicator, self.lang), kind,
                     d.means(indicator, keys, rows), False)]
        wide = d.means(indicator, [*keys, "category"], rows).unstack("category",
                                                                     fill_value=0.0)
        parts = [(labels.category(indicator, c, self.lang), kind,
                  wide[c] if c in wide else pd.Series(dtype=float), False) for c in cats]
        total = sum(s for _, _, s, _ in parts)
        return [*parts, (self.t("total"), kind, total, True)]

    def transfer_parts(self, level: str) -> list[tuple[str, str, pd.Series, bool]]:
        """Clause 十六: transfers by kind and in total, the central reward, the
        incremental cost (all of it, and the part the fiscal gap counts), the gap."""
        d = self.data
        rows = (d.df["area"] == d.city) if level == "city" else (d.df["area"] != d.city)
        keys = ["year"] if level == "city" else ["year", "area"]
        parts: list[tuple[str, str, pd.Series, bool]] = []
        if d.has("transfer_payment"):
            parts = self.family_parts("transfer_payment", level)
            header, kind, total, _ = parts[-1]
            parts[-1] = (self.t("transfer_total"), kind, total, True)
        for indicator, name in (("citizenization_reward",
                                 labels.indicator("citizenization_reward", self.lang)),
                                ("incremental_cost", self.t("incremental_total"))):
            if d.has(indicator):
                parts.append((name, "money", d.means(indicator, keys, rows), False))
        payers = gap_payers(self.manifest)
        if payers and d.has("incremental_cost_by_payer"):
            names = self.t("and").join(labels.category("incremental_cost_by_payer", p,
                                                       self.lang) for p in payers)
            borne = rows & d.df["category"].isin(payers)
            parts.append((self.t("incremental_borne", payers=names), "money",
                          d.means("incremental_cost_by_payer", keys, borne), False))
        if d.has("fiscal_gap"):
            parts.append((self.t("gap_bar"), "money", d.means("fiscal_gap", keys, rows), False))
        return parts

    def summary(self) -> Sheet | None:
        d = self.data
        present = [i for i in SUMMARY_INDICATORS if d.has(i)]
        if not present:
            return None
        city = d.df["area"] == d.city
        parts = [(labels.indicator(i, self.lang), labels.kind(i),
                  d.means(i, ["year"], city), False) for i in present]
        return self.table(self.t("sheet_summary"), self.t("title_summary",
                                                          city=self.city_name), parts, False)

    def families(self) -> list[Sheet]:
        sheets = []
        families = [(k, i) for k, i in FAMILIES if self.data.has(i)]
        transfers = any(self.data.has(i) for i in ("transfer_payment", "fiscal_gap"))
        if transfers:
            families.insert(4, ("family_transfers", None))
        for key, indicator in families:
            name = self.t(key)
            for level, sheet_key, title_key in (("area", "sheet_areas", "title_areas"),
                                                ("city", "sheet_city", "title_city")):
                parts = (self.transfer_parts(level) if indicator is None
                         else self.family_parts(indicator, level))
                sheets.append(self.table(self.t(sheet_key, name=name),
                                         self.t(title_key, name=name, city=self.city_name),
                                         parts, level == "area"))
        return sheets

    def ranges(self) -> Sheet | None:
        """The spread of the runs: the key indicators of every area and the city in the
        planning years (2020, 2025, 2030, 2035 where present), mean, low and high."""
        d = self.data
        if d.runs == 1:
            return None
        lo_key, hi_key = (("band_low", "band_high") if band_quantiles(d.runs) == (0.0, 1.0)
                          else ("band_p5", "band_p95"))
        years = selected_years(d.df["year"].unique())
        rows, kinds = [], []
        for indicator in (i for i in SUMMARY_INDICATORS if d.has(i)):
            kind = labels.kind(indicator)
            unit = self.t(self.money.label_key if kind == "money" else UNIT_KEYS[kind])
            means = d.means(indicator, ["year", "area"])
            spread = d.spread(indicator, ["year", "area"])
            for area in area_order(means.index.get_level_values("area").unique()):
                row: list[object] = [labels.indicator(indicator, self.lang),
                                     labels.area(area, self.lang), unit]
                for year in years:
                    values = ((means.get((year, area), math.nan),
                               *spread.loc[(year, area)]) if (year, area) in spread.index
                              else (math.nan,) * 3)
                    row += [_value(float(v), kind, self.money) for v in values]
                rows.append(row)
                kinds.append(kind)
        columns = [Column(self.t("col_indicator"), "text"), Column(self.t("area"), "text"),
                   Column(self.t("col_unit"), "text")]
        for year in years:
            columns += [Column(f"{year} {self.t('col_mean')}", "number"),
                        Column(f"{year} {self.t(lo_key, n=d.runs)}", "number"),
                        Column(f"{year} {self.t(hi_key, n=d.runs)}", "number")]
        return Sheet(self.t("sheet_ranges"), self.t("title_ranges",
                                                     band=band_text(d.runs, self.lang)),
                     self.notes(), columns, rows, 2, self.warning(), kinds)

    def parameters(self) -> Sheet | None:
        params = self.manifest.get("parameters", {})
        if not params:
            return None
        rows = []
        for name, p in sorted(params.items()):
            p = p if isinstance(p, dict) else {"value": p}
            v = p.get("value")
            shown = v if isinstance(v, int | float) and not isinstance(v, bool) else \
                json.dumps(v, ensure_ascii=False)
            rows.append([name, shown, *(str(p.get(k, "")) for k in
                                        ("unit", "doc", "source", "assumption"))])
        columns = [Column(self.t(k), "text") for k in
                   ("col_parameter", "col_value", "col_unit", "col_description",
                    "col_source", "col_assumption")]
        columns[1] = Column(columns[1].header, "value")
        return Sheet(self.t("sheet_parameters"), self.t("title_parameters"),
                     [self.t("note_parameters", sources=self.t("sheet_sources"))],
                     columns, rows, 1)

    def sources(self) -> Sheet | None:
        texts = [str(p.get(k, "")) for p in self.manifest.get("parameters", {}).values()
                 if isinstance(p, dict) for k in ("source", "assumption")]
        known = load_sources()
        keys = sorted({k for text in texts for k in cited_keys(text) if k in known})
        if not keys:
            return None
        rows = [[k, known[k].title, known[k].publisher, known[k].year, known[k].address]
                for k in keys]
        columns = [Column(self.t(k), "text") for k in
                   ("col_key", "col_title", "col_publisher", "year", "col_address")]
        columns[3] = Column(columns[3].header, "year")
        return Sheet(self.t("sheet_sources"), self.t("title_sources"), [], columns, rows, 1)

    def about(self) -> Sheet:
        c, m = self.context, self.manifest
        payers = gap_payers(m) or ["city", "county"]
        payer_names = self.t("and").join(labels.category("incremental_cost_by_payer", p,
                                                         self.lang) for p in payers)
        years = (f"{c.start_year}–{c.end_year}" if c.start_year is not None
                 else self.t("unknown"))
        values = self.t("about_means_one") if self.data.runs == 1 else self.t(
            "about_means_many", n=self.data.runs, ranges=self.t("sheet_ranges"),
            band=band_text(self.data.runs, self.lang))
        scale = c.scale_text(self.lang) + (" " + self.warning() if c.small_scale() else "")
        items = [
            ("about_scenario", f"{c.scenario_label(self.lang)} ({c.scenario})"),
            ("about_description", labels.description(c.scenario, c.description, self.lang)),
            ("about_file", m.get("scenario_file") or self.t("unknown")),
            ("about_nature", self.t("about_nature_text")),
            ("about_scale", scale),
            ("about_runs", str(self.data.runs)),
            ("about_means", values),
            ("about_seeds", c.seeds),
            ("about_years", years),
            ("about_prices", self.t("about_prices_text", year=PRICE_BASE_YEAR,
                                    unit=self.t(self.money.label_key))),
            ("about_city", self.t("about_city_text", summary=self.t("sheet_summary"))),
            ("about_gap", self.t("about_gap_text", payers=payer_names)),
            ("about_transfers", self.t("about_transfers_text")),
            ("about_version", c.version),
            ("about_commit", c.commit or self.t("unknown")),
            ("about_created", m.get("finished") or self.t("unknown")),
        ]
        return Sheet(self.t("sheet_about"), self.t("title_about"), [],
                     [Column(self.t("col_item"), "text"), Column(self.t("col_value"), "text")],
                     [[self.t(k), v] for k, v in items], 1)


# ------------------------------------------------------------------------ writing

def _text_width(value: object) -> float:
    text = f"{value:,.2f}" if isinstance(value, float) else str(value)
    return sum(2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.0 for ch in text)


def write_sheet(wb: Workbook, sheet: Sheet, money: MoneyUnit, index: int) -> None:
    """Write one `Sheet` as an Excel Table under its title, note and caution lines;
    frozen header, header repeated on printed pages, landscape, fitted to the width."""
    ws = wb.add_worksheet(sheet.name)
    bold = wb.add_format({"bold": True, "font_size": 13})
    note = wb.add_format({"italic": True, "font_color": "#555555"})
    warn = wb.add_format({"bold": True, "font_color": "#B03A00"})
    head = wb.add_format({"bold": True, "text_wrap": True, "valign": "top",
                          "bg_color": "#DCE6F1", "font_color": "#000000", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    formats = {kind: wb.add_format({"num_format": fmt}) for kind, fmt in FORMATS.items()}
    formats["year"] = wb.add_format({"num_format": "0", "align": "center"})
    formats["money"] = wb.add_format({"num_format": money.number_format})
    formats["text"] = wrap
    total = wb.add_format({"num_format": money.number_format, "bold": True})
    total_people = wb.add_format({"num_format": FORMATS["people"], "bold": True})

    ws.write(0, 0, sheet.title, bold)
    ws.write(1, 0, " ".join(sheet.notes), note)
    if sheet.warning:
        ws.write(2, 0, sheet.warning, warn)
    first = HEADER_ROW - 1
    columns = []
    for col in sheet.columns:
        fmt = (total if col.kind == "money" else total_people) if col.total else \
            formats.get(col.kind)
        spec: dict[str, object] = {"header": col.header, "header_format": head}
        if fmt is not None:
            spec["format"] = fmt
        columns.append(spec)
    rows = sheet.rows or [[None] * len(sheet.columns)]
    ws.add_table(first, 0, first + len(rows), len(columns) - 1,
                 {"columns": columns, "style": TABLE_STYLE, "name": f"Table_{index + 1}",
                  "autofilter": True})
    # Cells written one by one with their format (a "number" column takes the row's
    # kind), so that every application shows the formats, wrapping included.
    col_formats = [spec.get("format") for spec in columns]
    for i, row in enumerate(rows):
        kind = sheet.row_kinds[i] if sheet.row_kinds else None
        for j, value in enumerate(row):
            fmt = formats[kind] if kind and sheet.columns[j].kind == "number" else \
                col_formats[j]
            if value is None:
                ws.write_blank(first + 1 + i, j, None, fmt)
            else:
                ws.write(first + 1 + i, j, value, fmt)
    # Widths from the widest value, with room for wider fonts than Calibri (headers wrap
    # onto up to four lines).
    lines, widths = 1, []
    for j, col in enumerate(sheet.columns):
        widest = max((_text_width(r[j]) for r in rows[:300] if r[j] is not None), default=0)
        header = _text_width(col.header)
        text_high = 90.0 if len(sheet.columns) <= 2 else 45.0    # the About sheet: wide
        low, high = ((8.0, text_high) if col.kind == "text" else (8.0, 24.0)
                     if col.kind == "value" else (8.0, 22.0))
        width = 1.15 * max(low, min(high, max(widest + 2, header / 3 + 2)))
        ws.set_column(j, j, width)
        widths.append(width)
        lines = max(lines, math.ceil(header / (width - 1)))
    ws.set_row(first, 15 * min(lines, 4))
    # Rows with wrapped text get their height here: not every application fits it.
    for i, row in enumerate(rows):
        tall = max((math.ceil(_text_width(v) / max(widths[j] - 1, 1)) for j, v in
                    enumerate(row) if isinstance(v, str) and sheet.columns[j].kind in
                    ("text", "value")), default=1)
        if tall > 1:
            ws.set_row(first + 1 + i, 15 * tall)
    ws.freeze_panes(first + 1, sheet.key_columns)
    ws.repeat_rows(first)
    ws.set_landscape()
    ws.set_paper(9)                   # A4
    ws.fit_to_pages(1, 0)             # one page wide, as many tall as needed
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&L&A&R&P / &N")


def write_workbook(indicators: pd.DataFrame, manifest: dict, path: Path,
                   lang: str | None = None, money: str = "wan") -> Path:
    """Write the budget workbook of one run to ``path`` (``budget.xlsx``); return it.

    Sheets whose indicators the run lacks are left out. ``lang`` (``"en"`` or
    ``"zh"``) defaults to the manifest's ``lang``, else English; ``money`` is the
    unit of money columns: ``"yuan"``, ``"wan"`` (万元, default) or ``"yi"`` (亿元).
    """
    lang = labels.check_lang(lang or manifest.get("lang", "en"))
    if money not in MONEY_UNITS:
        raise ValueError(f"unknown money unit {money!r}; use one of: {', '.join(MONEY_UNITS)}")
    unit = MONEY_UNITS[money]
    build = _Builder(tidy(indicators), manifest, lang, unit)
    sheets = [build.about(), build.summary(), *build.families(), build.ranges(),
              build.parameters(), build.sources()]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
    wb.set_properties({"title": build.t("title_about"), "author": "hukou-sim",
                       "comments": labels.text("about_nature_text", lang)})
    for i, sheet in enumerate(s for s in sheets if s is not None):
        write_sheet(wb, sheet, unit, i)
    wb.close()
    return path
