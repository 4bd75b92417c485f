"""The budget workbook: the numbers of indicators.csv as means that cross-foot, in Excel
Tables with print setup, in the money unit asked for, fully translated."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from output_fixtures import GAP_PAYERS, MECHANISMS, SERVICES, read_run, write_run

from sim.areas import load_areas
from sim.output import labels
from sim.output.workbook import HEADER_ROW, write_workbook

AREAS = [labels.area(a, "en") for a in load_areas().ids]
CITY = load_areas().city_id


def _sheet_frame(ws: openpyxl.worksheet.worksheet.Worksheet) -> pd.DataFrame:
    rows = list(ws.iter_rows(min_row=HEADER_ROW, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def _csv_mean(df: pd.DataFrame, indicator: str, year: int, area: str,
              category: str | None = None) -> float:
    """Mean over replicates of the per-replicate sum (categories summed)."""
    sub = df[(df["indicator"] == indicator) & (df["year"] == year) & (df["area"] == area)]
    if category is not None:
        sub = sub[sub["category"] == category]
    return float(sub.groupby("replicate")["value"].sum().sum() / df["replicate"].nunique())


def _area_id(name: str) -> str:
    return load_areas().ids[AREAS.index(name)]


@pytest.fixture(scope="module", params=[1, 3], ids=["single", "replicates"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> tuple[pd.DataFrame, openpyxl.Workbook, Path]:
    folder = write_run(tmp_path_factory.mktemp("wb") / "run", replicates=request.param,
                       years=range(2015, 2019))
    df, manifest = read_run(folder)
    path = write_workbook(df, manifest, folder / "budget.xlsx")
    return df, openpyxl.load_workbook(path), path


def test_sheets_in_order(run: tuple) -> None:
    df, wb, path = run
    families = ["Cost by service", "Cost by payer", "Incremental cost", "Incremental by payer",
                "Transfers and gap", "Settlements"]
    expected = ["About this run", "Summary (city)",
                *(f"{f} - {level}" for f in families for level in ("areas", "city")),
                *(["Ranges across runs"] if df["replicate"].nunique() > 1 else []),
                "Parameters"]
    assert path.name == "budget.xlsx" and wb.sheetnames == expected


def test_every_numeric_column_cross_foots(run: tuple) -> None:
    """In every '- areas' sheet the parts add up to the total in each row, and the
    areas of a year add up to the row of the '- city' sheet, in every numeric column."""
    _, wb, _ = run
    checked = 0
    for name in wb.sheetnames:
        if not name.endswith(" - areas"):
            continue
        areas = _sheet_frame(wb[name])
        city = _sheet_frame(wb[name.replace(" - areas", " - city")]).set_index("Year")
        assert set(areas["Area"]) == set(AREAS) and "Panjin" not in set(areas["Area"])
        numeric = [c for c in areas.columns if c not in ("Year", "Area")]
        summed = areas.groupby("Year")[numeric].sum()
        pd.testing.assert_frame_equal(summed, city[numeric], check_exact=False, rtol=1e-9,
                                      check_names=False)
        total = [c for c in numeric if c.startswith(("Total", "Transfer payment (all"))]
        if total:
            start = 0
            parts = numeric[start:numeric.index(total[0])]
            for frame in (areas, city):
                assert frame[parts].sum(axis=1).to_numpy() == pytest.approx(
                    frame[total[0]].to_numpy(), rel=1e-9)
        checked += 1
    assert checked == 6


def test_values_are_means_of_the_csv_in_10k_yuan(run: tuple) -> None:
    df, wb, _ = run
    sheet = _sheet_frame(wb["Cost by service - areas"])
    for _, row in sheet.iterrows():
        area = _area_id(row["Area"])
        for service in SERVICES:
            header = f"{labels.category('public_service_cost', service, 'en')} (10,000 yuan)"
            assert row[header] == pytest.approx(_csv_mean(
                df, "public_service_cost", row["Year"], area, service) / 1e4)
    summary = _sheet_frame(wb["Summary (city)"])
    assert list(summary["Year"]) == [2015, 2016, 2017, 2018]
    for _, row in summary.iterrows():
        year = row["Year"]
        assert row["Resident population (persons)"] == pytest.approx(
            _csv_mean(df, "resident_population", year, CITY))
        assert row["Urbanization rate of the registered population (%)"] == pytest.approx(
            _csv_mean(df, "registered_urbanization_rate", year, CITY))
        assert row["Fiscal gap (10,000 yuan)"] == pytest.approx(
            _csv_mean(df, "fiscal_gap", year, CITY) / 1e4)


def test_transfer_sheet_and_the_gap(run: tuple) -> None:
    df, wb, _ = run
    sheet = _sheet_frame(wb["Transfers and gap - areas"])
    borne = ("Incremental cost borne by "
             + " and ".join(labels.category("incremental_cost_by_payer", p, "en")
                            for p in GAP_PAYERS) + " (10,000 yuan)")
    for _, row in sheet.iterrows():
        year, area = row["Year"], _area_id(row["Area"])
        for mechanism in MECHANISMS:
            header = f"{labels.category('transfer_payment', mechanism, 'en')} (10,000 yuan)"
            assert row[header] == pytest.approx(
                _csv_mean(df, "transfer_payment", year, area, mechanism) / 1e4)
        gap = row["Fiscal gap (10,000 yuan)"]
        assert gap == pytest.approx(_csv_mean(df, "fiscal_gap", year, area) / 1e4)
        assert row[borne] - row["Citizenization linkage (10,000 yuan)"] == pytest.approx(
            gap, rel=1e-6)


def test_no_internal_ids_are_shown(run: tuple) -> None:
    _, wb, _ = run
    ids = set(load_areas().ids) | {CITY, "public_service_cost", "fiscal_gap", "settlements"}
    for name in wb.sheetnames:
        if name == "Parameters":      # parameter names are what a scenario file writes
            continue
        for row in wb[name].iter_rows(values_only=True):
            assert not ids & {v for v in row if isinstance(v, str)}, (name, row)


def test_tables_print_setup_and_formats(run: tuple) -> None:
    _, wb, path = run
    for ws in wb.worksheets:
        assert len(ws.tables) == 1, ws.title
        table = next(iter(ws.tables.values()))
        assert table.ref.startswith(f"A{HEADER_ROW}:") and table.autoFilter is not None
        assert ws.freeze_panes is not None and int(ws.freeze_panes[1:]) == HEADER_ROW + 1
        assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
        assert ws.page_setup.orientation == "landscape"
        # one page wide (1 is the default width, so the file may leave it out), any height
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
    ws = wb["Cost by service - areas"]
    assert ws.freeze_panes == f"C{HEADER_ROW + 1}"
    assert ws.cell(row=HEADER_ROW + 1, column=3).number_format == "#,##0.00"
    rate = wb["Summary (city)"].cell(row=HEADER_ROW + 1, column=4)
    assert rate.number_format == "0.0%" and 0 < rate.value < 1


def test_about_sheet_explains_the_run(run: tuple) -> None:
    df, wb, _ = run
    about = dict(_sheet_frame(wb["About this run"]).itertuples(index=False))
    assert about["Prices"].startswith("Money in yuan at 2015 prices, shown in 10,000 yuan")
    assert "Above zero: a shortfall" in about["Fiscal gap"]
    assert "equalization" in about["Transfer payments"]
    assert about["Runs (replicates)"] == str(df["replicate"].nunique())
    for key in ("Scenario", "Scale", "Seeds", "Years", "Model version", "Code commit"):
        assert about[key], key


def test_ranges_say_min_max_below_twenty_runs(tmp_path: Path) -> None:
    df, manifest = read_run(write_run(tmp_path / "run", replicates=3, years=range(2018, 2021)))
    wb = openpyxl.load_workbook(write_workbook(df, manifest, tmp_path / "budget.xlsx"))
    ws = wb["Ranges across runs"]
    ranges = _sheet_frame(ws)
    assert list(ranges.columns[-3:]) == ["2020 Mean", "2020 lowest of 3 runs",
                                         "2020 highest of 3 runs"]
    i = ranges.index[(ranges["Area"] == "Panjin") & (ranges["Indicator"] == "Settlements")][0]
    row = ranges.loc[i]
    sub = df[(df["indicator"] == "settlements") & (df["area"] == CITY) & (df["year"] == 2020)]
    per_rep = sub.groupby("replicate")["value"].sum()
    assert (row["2020 lowest of 3 runs"], row["2020 highest of 3 runs"]) == (per_rep.min(),
                                                                            per_rep.max())
    assert row["2020 Mean"] == pytest.approx(per_rep.mean())
    # each row in its own unit: persons whole, rates in percent
    assert ws.cell(row=HEADER_ROW + 1 + i, column=4).number_format == "#,##0"
    j = ranges.index[ranges["Indicator"] == "Urbanization rate of the resident population"][0]
    assert ws.cell(row=HEADER_ROW + 1 + j, column=4).number_format == "0.0%"
    assert "mean of 3 runs" in wb["Summary (city)"]["A2"].value


def test_base_year_flows_are_blank_not_zero(tmp_path: Path) -> None:
    """The base year has populations but no flows: empty cells, not zeros."""
    df, manifest = read_run(write_run(tmp_path / "run", years=range(2015, 2017)))
    df = df[~((df["year"] == 2015) & (df["indicator"] == "settlements"))]
    wb = openpyxl.load_workbook(write_workbook(df, manifest, tmp_path / "b.xlsx"))
    summary = _sheet_frame(wb["Summary (city)"]).set_index("Year")
    assert summary.loc[2015, "Resident population (persons)"] > 0
    assert summary.loc[2016, "Settlements (persons)"] > 0
    assert pd.isna(summary.loc[2015, "Settlements (persons)"])


@pytest.mark.parametrize("money, factor, header", [("yuan", 1, "yuan"), ("yi", 1e8,
                                                   "100 million yuan")])
def test_money_unit(tmp_path: Path, money: str, factor: float, header: str) -> None:
    df, manifest = read_run(write_run(tmp_path / "run", years=range(2015, 2017)))
    wb = openpyxl.load_workbook(write_workbook(df, manifest, tmp_path / "b.xlsx", money=money))
    sheet = _sheet_frame(wb["Summary (city)"])
    assert sheet[f"Fiscal gap ({header})"].iloc[0] == pytest.approx(
        _csv_mean(df, "fiscal_gap", 2015, CITY) / factor)
    with pytest.raises(ValueError, match="unknown money unit"):
        write_workbook(df, manifest, tmp_path / "c.xlsx", money="dollars")


def test_parameters_keep_their_sources(run: tuple) -> None:
    _, wb, _ = run
    sheet = _sheet_frame(wb["Parameters"]).set_index("Parameter")
    row = sheet.loc["policy.urban_district.insurance_years"]
    assert row["Value"] == 0 and "居住证暂行条例" in row["Source"]
    assert sheet.loc["fiscal.linkage.share", "Assumption"] == "test fixture value"


def test_sources_sheet_resolves_cited_keys(tmp_path: Path) -> None:
    df, manifest = read_run(write_run(tmp_path / "run", years=range(2015, 2017)))
    manifest["parameters"]["x.y"] = {"value": 1, "source": "bulletin [dawa-bulletin-2021]"}
    wb = openpyxl.load_workbook(write_workbook(df, manifest, tmp_path / "b.xlsx"))
    sources = _sheet_frame(wb["Sources"])
    assert list(sources["Key"]) == ["dawa-bulletin-2021"]
    assert "hongheiku.com" in sources["Address"].iloc[0]


def test_chinese_workbook_has_no_english_label(tmp_path: Path) -> None:
    """Every title, note, header and text cell is Chinese, except the parameter sheets
    (which quote the parameter files), names a scenario file writes, and numbers."""
    df, manifest = read_run(write_run(tmp_path / "run", scenario="reform_2015", replicates=2,
                                      years=range(2015, 2017)))
    manifest["scale"] = 0.05
    manifest["seeds"] = [{"entropy": 7, "spawn_key": [0]}, {"entropy": 7, "spawn_key": [1]}]
    wb = openpyxl.load_workbook(write_workbook(df, manifest, tmp_path / "b.xlsx", lang="zh"))
    allowed = re.compile(r"hukou-sim run --money yuan\|wan\|yi|hukou-sim|reform_2015"
                         r"|TEST FIXTURE.*|\S*-fixture|community_clinic_pilot")
    for ws in wb.worksheets:
        if ws.title in ("参数", "资料来源"):
            continue
        for row in ws.iter_rows(values_only=True):
            for v in row:
                if isinstance(v, str):
                    rest = allowed.sub("", v)
                    assert not re.search(r"[A-Za-z]{3,}", rest), (ws.title, v)
    assert "全市汇总" in wb.sheetnames


def test_run_without_money_leaves_money_sheets_out(tmp_path: Path) -> None:
    df, manifest = read_run(write_run(tmp_path / "run", money=False, years=range(2015, 2017)))
    wb = openpyxl.load_workbook(write_workbook(df, manifest, tmp_path / "budget.xlsx",
                                               lang="zh"))
    assert wb.sheetnames == ["运行说明", "全市汇总", "落户-分区县", "落户-全市", "参数"]
    assert "常住人口（人）" in _sheet_frame(wb["全市汇总"]).columns
