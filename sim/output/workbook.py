"""The budget workbook of a run (``budget.xlsx``) for the finance bureau.

Sheets: a city-level summary per year; public-service cost by area and service
and by area and payer; the incremental cost of citizenization by area and
service; transfers, incremental cost and fiscal gap by area (clause 十六);
settlements by area and channel; the resolved parameters with their sources;
and a note on the run. Numbers are stored as numbers (yuan, persons, fractions
shown as percentages), with the unit in every header. With several replicates
each cell holds the median over replicates, and the sheet says so.

Example
-------
>>> write_workbook(indicators, manifest, run_dir / "budget.xlsx")  # doctest: +SKIP
PosixPath('.../budget.xlsx')
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sim.areas import load_areas
from sim.output import labels
from sim.output.charts import area_order, category_order, gap_payers, seed_text, tidy

SUMMARY = ("resident_population", "registered_population", "resident_urbanization_rate",
           "registered_urbanization_rate", "settlements", "residence_permit_holders",
           "public_service_cost", "incremental_cost", "transfer_payment", "fiscal_gap")
FORMATS = {"people": "#,##0", "money": "#,##0", "rate": "0.00%"}
UNITS = {"people": "unit_persons", "money": "unit_yuan", "rate": "unit_percent"}
SHEETS: dict[str, tuple[str, str]] = {
    "summary": ("Summary", "汇总"),
    "cost_service": ("Cost by service", "分项目支出"),
    "cost_payer": ("Cost by payer", "分承担方支出"),
    "incremental": ("Incremental cost", "市民化新增支出"),
    "incremental_payer": ("Incremental cost by payer", "市民化新增支出按承担方"),
    "transfers": ("Transfers and gaps", "转移支付与缺口"),
    "settlements": ("Settlements", "落户"),
    "parameters": ("Parameters", "参数"),
    "about": ("About this run", "运行说明"),
}
SHEET_TITLES: dict[str, tuple[str, str]] = {
    "summary": ("City-level summary ({city})", "全市汇总（{city}）"),
    "cost_service": ("Public-service cost by area and service",
                     "分区县、分项目基本公共服务支出"),
    "cost_payer": ("Public-service cost by area and payer", "分区县、分承担方基本公共服务支出"),
    "incremental": ("Incremental cost of citizenization by area and service",
                    "分区县、分项目市民化新增支出"),
    "incremental_payer": ("Incremental cost of citizenization by area and payer",
                          "分区县、分承担方市民化新增支出"),
    "transfers": ("Transfer payments, incremental cost and fiscal gap by area (clause 十六)",
                  "分区县转移支付、市民化新增支出与财力缺口（第十六条）"),
    "settlements": ("Settlements by area and channel", "分区县、分渠道落户人数"),
    "parameters": ("Resolved parameters of the run and their sources",
                   "本次运行的参数取值及来源"),
}
PARAM_HEADERS = {"en": ("Parameter", "Value", "Unit", "Source", "Assumption", "Description"),
                 "zh": ("参数", "取值", "单位", "来源", "假设", "说明")}
NOTE_MEDIAN = ("Scenario “{scenario}”; each value is the median of {n} replicates.",
               "情景“{scenario}”；各数值为 {n} 次重复的中位数。")
NOTE_ONE = ("Scenario “{scenario}”, seed {seeds}.", "情景“{scenario}”，随机种子 {seeds}。")
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
HEADER_ROW = 3     # row 1: sheet title, row 2: scenario and replicates, row 3: headers


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[labels.LANGS.index(lang)]


def _header(name: str, kind: str, lang: str) -> str:
    """A column header with its unit: "Transfer payment (yuan)" / "转移支付（元）".

    Rates are stored as fractions and shown in percent format, hence "(%)".
    """
    unit = labels.text(UNITS[kind], lang)
    return f"{name}（{unit}）" if lang == "zh" else f"{name} ({unit})"


def _medians(df: pd.DataFrame, indicator: str, keys: Sequence[str]) -> pd.Series:
    """Per replicate: the value (categories kept if in ``keys``); then the median."""
    sub = df[df["indicator"] == indicator]
    per_rep = sub.groupby(["replicate", *keys])["value"].sum()
    return per_rep.groupby(list(keys)).median()


def _by_area_table(df: pd.DataFrame, indicator: str, lang: str,
                   total_label: str = "total") -> pd.DataFrame:
    """Rows year × area, one column per category (in label order) and a total.

    An indicator without categories gets one column, named after the indicator.
    """
    sub = df[df["indicator"] == indicator]
    cats = category_order(indicator, sub["category"].unique())
    kind = labels.kind(indicator)
    table = _medians(df, indicator, ["year", "area", "category"]).unstack("category")
    table = table.reindex(columns=[c for c in cats if c in table.columns])
    out = table.rename(columns=lambda c: _header(labels.category(indicator, c, lang), kind,
                                                 lang))
    name = labels.text(total_label, lang) if cats else labels.indicator(indicator, lang)
    out[_header(name, kind, lang)] = _medians(df, indicator, ["year", "area"])
    return out


def _fiscal_columns(df: pd.DataFrame, manifest: dict, lang: str) -> list[pd.DataFrame]:
    """Clause 十六 by year × area: transfers by mechanism and in total, the central
    reward, the incremental cost (all of it, and the part the fiscal gap counts) and
    the fiscal gap; whichever of them the run has."""
    present = set(df["indicator"])
    parts = ([_by_area_table(df, "transfer_payment", lang, "transfer_total")]
             if "transfer_payment" in present else [])

    def column(indicator: str, name: str, frame: pd.DataFrame = df) -> pd.DataFrame:
        return _medians(frame, indicator, ["year", "area"]).rename(
            _header(name, "money", lang)).to_frame()

    for indicator, name in (("citizenization_reward", labels.indicator(
                                "citizenization_reward", lang)),
                            ("incremental_cost", labels.text("incremental_total", lang))):
        if indicator in present:
            parts.append(column(indicator, name))
    payers = gap_payers(manifest)
    if payers and "incremental_cost_by_payer" in present:
        names = labels.text("and", lang).join(
            labels.category("incremental_cost_by_payer", p, lang) for p in payers)
        parts.append(column("incremental_cost_by_payer",
                            labels.text("incremental_borne", lang, payers=names),
                            df[df["category"].isin(payers)]))
    if "fiscal_gap" in present:
        parts.append(column("fiscal_gap", labels.text("gap_bar", lang)))
    return parts


def _with_area_names(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Year and area columns first (area id and name), rows in year, area order."""
    table = table.reset_index()
    order = {a: i for i, a in enumerate(area_order(table["area"].unique()))}
    table = table.sort_values(["year", "area"], key=lambda c: c.map(order)
                              if c.name == "area" else c).reset_index(drop=True)
    table.insert(2, labels.text("area", lang), [labels.area(a, lang) for a in table["area"]])
    return table.rename(columns={"year": labels.text("year", lang), "area": "area_id"})


def _write_table(ws: Worksheet, title: str, note: str, table: pd.DataFrame,
                 kinds: Sequence[str], key_columns: int) -> None:
    """Title in row 1, note in row 2, headers in row 3, data below; frozen, formatted, sized."""
    ws.append([title])
    ws.append([note])
    ws["A1"].font = Font(bold=True, size=12)
    ws["A2"].font = Font(italic=True, color="555555")
    ws.append([str(c) for c in table.columns])
    for cell in ws[HEADER_ROW]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in table.itertuples(index=False):
        ws.append([None if isinstance(v, float) and pd.isna(v) else
                   v.item() if hasattr(v, "item") else v for v in row])
    for j, kind in enumerate(kinds, start=1):
        fmt = FORMATS.get(kind)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=HEADER_ROW + 1, min_col=j, max_col=j):
                cell.number_format = fmt
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=key_columns + 1)
    _fit_columns(ws, table, kinds)


def _text_width(value: object) -> float:
    text = f"{value:,.0f}" if isinstance(value, float) else str(value)
    return sum(2.0 if unicodedata.east_asian_width(c) in "WF" else 1.0 for c in text)


def _fit_columns(ws: Worksheet, table: pd.DataFrame, kinds: Sequence[str]) -> None:
    """Column widths from the widest value (headers wrap onto up to four lines);
    numbers get 10–24 characters, text up to 60. The header row is made tall enough."""
    lines = 1
    for j, (column, kind) in enumerate(zip(table.columns, kinds, strict=True), start=1):
        values = table[column].head(200)
        widest = max((_text_width(v) for v in values), default=0.0)
        header = _text_width(column)
        low, high = (10.0, 24.0) if kind in FORMATS else (8.0, 60.0)
        width = max(low, min(high, max(widest, header / 4) + 2))
        ws.column_dimensions[get_column_letter(j)].width = width
        lines = max(lines, math.ceil(header / (width - 1)))
    ws.row_dimensions[HEADER_ROW].height = 15 * min(lines, 4)


def write_workbook(indicators: pd.DataFrame, manifest: dict, path: Path,
                   lang: str | None = None) -> Path:
    """Write the budget workbook of one run to ``path`` (``budget.xlsx``); return it.

    Sheets whose indicators the run lacks are left out. ``lang`` (``"en"`` or
    ``"zh"``) defaults to the manifest's ``lang``, else English.
    """
    lang = labels.check_lang(lang or manifest.get("lang", "en"))
    df = tidy(indicators)
    n_rep = int(df["replicate"].nunique())
    seeds = seed_text(manifest)
    scenario = manifest.get("scenario", "?")
    note = (_pick(NOTE_MEDIAN, lang).format(scenario=scenario, n=n_rep) if n_rep > 1 else
            _pick(NOTE_ONE, lang).format(scenario=scenario, seeds=seeds))
    present = set(df["indicator"])
    city_id = load_areas().city_id
    city = df["area"] == city_id

    wb = Workbook()
    wb.remove(wb.active)

    def sheet(key: str) -> Worksheet:
        return wb.create_sheet(_pick(SHEETS[key], lang))

    def title(key: str) -> str:
        return _pick(SHEET_TITLES[key], lang).format(city=labels.area(city_id, lang))

    summary_inds = [i for i in SUMMARY if i in set(df.loc[city, "indicator"])]
    if summary_inds:
        table = pd.DataFrame({
            _header(labels.indicator(i, lang), labels.kind(i), lang):
                _medians(df[city], i, ["year"]) for i in summary_inds})
        table.index.name = labels.text("year", lang)
        _write_table(sheet("summary"), title("summary"), note, table.reset_index(),
                     ["year", *(labels.kind(i) for i in summary_inds)], 1)

    for key, indicator in (("cost_service", "public_service_cost"),
                           ("cost_payer", "public_service_cost_by_payer"),
                           ("incremental", "incremental_cost"),
                           ("incremental_payer", "incremental_cost_by_payer"),
                           ("settlements", "settlements")):
        if indicator in present:
            table = _with_area_names(_by_area_table(df, indicator, lang), lang)
            kinds = ["year", "id", "name"] + [labels.kind(indicator)] * (table.shape[1] - 3)
            _write_table(sheet(key), title(key), note, table, kinds, 3)

    fiscal = _fiscal_columns(df, manifest, lang)
    if fiscal:
        table = _with_area_names(pd.concat(fiscal, axis=1), lang)
        _write_table(sheet("transfers"), title("transfers"), note, table,
                     ["year", "id", "name"] + ["money"] * (table.shape[1] - 3), 3)

    params = manifest.get("parameters", {})
    if params:
        rows = [(name, p.get("value") if isinstance(p, dict) else p,
                 *(p.get(k, "") if isinstance(p, dict) else "" for k in
                   ("unit", "source", "assumption", "doc")))
                for name, p in sorted(params.items())]
        table = pd.DataFrame(
            [(n, v if isinstance(v, int | float) and not isinstance(v, bool) else
              json.dumps(v, ensure_ascii=False), *rest) for n, v, *rest in rows],
            columns=PARAM_HEADERS[lang])
        _write_table(sheet("parameters"), title("parameters"), note, table,
                     ["name"] * table.shape[1], 1)

    about = sheet("about")
    for key, value in (("scenario", scenario),
                       ("description", manifest.get("description", "")),
                       ("seeds", seeds), ("replicates", n_rep),
                       ("version", manifest.get("version", ""))):
        about.append([labels.text(key, lang), value])
    about.append([labels.text("prices", lang)])
    about.column_dimensions["A"].width = 18
    about.column_dimensions["B"].width = 80

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
