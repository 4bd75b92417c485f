"""The budget workbook holds the numbers of indicators.csv, with units and frozen headers."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from output_fixtures import GAP_PAYERS, MECHANISMS, SERVICES, read_run, write_run

from sim.output import labels
from sim.output.workbook import HEADER_ROW, write_workbook


def _sheet_frame(ws: openpyxl.worksheet.worksheet.Worksheet) -> pd.DataFrame:
    rows = list(ws.iter_rows(min_row=HEADER_ROW, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def _csv_value(df: pd.DataFrame, indicator: str, year: int, area: str,
               category: str | None = None) -> float:
    sub = df[(df["indicator"] == indicator) & (df["year"] == year) & (df["area"] == area)]
    if category is not None:
        sub = sub[sub["category"] == category]
    return float(sub.groupby("replicate")["value"].sum().median())


@pytest.fixture(scope="module")
def one_run(tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[pd.DataFrame, openpyxl.Workbook, Path]:
    folder = write_run(tmp_path_factory.mktemp("wb") / "run", years=range(2015, 2019))
    df, manifest = read_run(folder)
    path = write_workbook(df, manifest, folder / "budget.xlsx")
    return df, openpyxl.load_workbook(path), path


def test_workbook_has_every_sheet(one_run: tuple) -> None:
    _, wb, path = one_run
    assert path.name == "budget.xlsx"
    assert wb.sheetnames == ["Summary", "Cost by service", "Cost by payer", "Incremental cost",
                             "Incremental cost by payer", "Settlements", "Transfers and gaps",
                             "Parameters", "About this run"]


def test_summary_matches_csv(one_run: tuple) -> None:
    df, wb, _ = one_run
    sheet = _sheet_frame(wb["Summary"])
    assert list(sheet["Year"]) == [2015, 2016, 2017, 2018]
    for _, row in sheet.iterrows():
        year = row["Year"]
        assert row["Resident population (persons)"] == _csv_value(
            df, "resident_population", year, "panjin")
        assert row["Urbanization rate of the registered population (%)"] == pytest.approx(
            _csv_value(df, "registered_urbanization_rate", year, "panjin"))
        assert row["Settlements (persons)"] == _csv_value(df, "settlements", year, "panjin")
        assert row["Fiscal gap (yuan)"] == pytest.approx(
            _csv_value(df, "fiscal_gap", year, "panjin"))


def test_cost_sheet_matches_csv_per_area_and_service(one_run: tuple) -> None:
    df, wb, _ = one_run
    sheet = _sheet_frame(wb["Cost by service"])
    assert len(sheet) == 4 * 6          # years × (5 areas + city)
    for _, row in sheet.iterrows():
        for service in SERVICES:
            header = f"{labels.category('public_service_cost', service, 'en')} (yuan)"
            assert row[header] == pytest.approx(_csv_value(
                df, "public_service_cost", row["Year"], row["area_id"], service))
        assert row["Total (yuan)"] == pytest.approx(
            _csv_value(df, "public_service_cost", row["Year"], row["area_id"]))


def test_transfer_sheet_matches_csv(one_run: tuple) -> None:
    df, wb, _ = one_run
    sheet = _sheet_frame(wb["Transfers and gaps"])
    borne = ("Incremental cost borne by "
             + " and ".join(labels.category("incremental_cost_by_payer", p, "en")
                            for p in GAP_PAYERS) + " (yuan)")
    for _, row in sheet.iterrows():
        year, area = row["Year"], row["area_id"]
        for mechanism in MECHANISMS:
            header = f"{labels.category('transfer_payment', mechanism, 'en')} (yuan)"
            assert row[header] == pytest.approx(
                _csv_value(df, "transfer_payment", year, area, mechanism))
        gap = _csv_value(df, "fiscal_gap", year, area)
        assert row["Fiscal gap (yuan)"] == pytest.approx(gap)
        linkage = row["Citizenization linkage (yuan)"]
        assert row[borne] - linkage == pytest.approx(gap, rel=1e-6)


def test_settlement_sheet_matches_csv(one_run: tuple) -> None:
    df, wb, _ = one_run
    sheet = _sheet_frame(wb["Settlements"])
    row = sheet[(sheet["Year"] == 2016) & (sheet["area_id"] == "dawa")].iloc[0]
    assert row["Area"] == "Dawa"
    assert row["Talent (clause 六) (persons)"] == _csv_value(
        df, "settlements", 2016, "dawa", "talent")


def test_sheets_are_numbers_with_frozen_headers_and_widths(one_run: tuple) -> None:
    _, wb, _ = one_run
    ws = wb["Cost by service"]
    assert ws.freeze_panes == "D4"
    cell = ws.cell(row=HEADER_ROW + 1, column=4)
    assert isinstance(cell.value, int | float) and cell.number_format == "#,##0"
    assert ws.column_dimensions["D"].width >= 10
    rate = wb["Summary"].cell(row=HEADER_ROW + 1, column=4)
    assert rate.number_format == "0.00%" and 0 < rate.value < 1


def test_parameters_keep_their_sources(one_run: tuple) -> None:
    _, wb, _ = one_run
    sheet = _sheet_frame(wb["Parameters"]).set_index("Parameter")
    row = sheet.loc["policy.urban_district.insurance_years"]
    assert row["Value"] == 0 and "居住证暂行条例" in row["Source"]
    assert sheet.loc["fiscal.linkage.share", "Assumption"] == "test fixture value"


def test_replicates_become_medians(tmp_path: Path) -> None:
    df, manifest = read_run(write_run(tmp_path / "run", replicates=3, years=range(2015, 2017)))
    wb = openpyxl.load_workbook(write_workbook(df, manifest, tmp_path / "budget.xlsx"))
    sheet = _sheet_frame(wb["Summary"])
    for _, row in sheet.iterrows():
        assert row["Resident population (persons)"] == _csv_value(
            df, "resident_population", row["Year"], "panjin")
    assert "median of 3 replicates" in wb["Summary"]["A2"].value


def test_run_without_money_leaves_money_sheets_out(tmp_path: Path) -> None:
    df, manifest = read_run(write_run(tmp_path / "run", money=False, years=range(2015, 2017)))
    wb = openpyxl.load_workbook(write_workbook(df, manifest, tmp_path / "budget.xlsx",
                                               lang="zh"))
    assert wb.sheetnames == ["汇总", "落户", "参数", "运行说明"]
    assert "常住人口（人）" in _sheet_frame(wb["汇总"]).columns
