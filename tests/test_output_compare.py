"""Comparison reports: both scenarios and their figures; mismatched runs refused."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from output_fixtures import read_run, write_run

from sim import cli
from sim.output.common import MONEY_UNITS
from sim.output.compare import (
    CompareError,
    _load,
    compare_runs,
    differences,
    interval,
    selected_years,
    shown_as,
)
from sim.output.workbook import HEADER_ROW

YEARS = range(2018, 2026)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("cmp")
    base = write_run(root / "base", scenario="reform_2015", years=YEARS)
    strict = write_run(root / "strict", scenario="strict_insurance", years=YEARS,
                       settle_boost=0.5)
    return root, base, strict


@pytest.fixture(scope="module")
def report(two_runs: tuple[Path, Path, Path]) -> list[Path]:
    root, base, strict = two_runs
    return compare_runs([base, strict], root / "out")


def _settlements_2020(folder: Path) -> str:
    df, _ = read_run(folder)
    sub = df[(df["indicator"] == "settlements") & (df["area"] == "panjin")
             & (df["year"] == 2020)]
    return f"{sub['value'].sum():,.0f}"


def test_report_files_are_written(report: list[Path]) -> None:
    names = [p.name for p in report]
    assert names[:3] == ["comparison.html", "comparison.md", "comparison.xlsx"]
    assert "comparison_city.png" in names and "comparison_fiscal_gap.png" in names
    assert all(p.stat().st_size > 0 for p in report)


def test_report_holds_both_scenarios_and_their_figures(
        report: list[Path], two_runs: tuple[Path, Path, Path]) -> None:
    _, base, strict = two_runs
    html, md = (p.read_text(encoding="utf-8") for p in report[:2])
    for text in (html, md):
        assert "Reform as written (2015)" in text and "Strict insurance years" in text
        assert "Strict insurance years − Reform as written (2015)" in text
        for folder in (base, strict):
            assert _settlements_2020(folder) in text
    assert re.search(r"\| Settlements \| 2020 \| persons \| [\d,]+ \| [\d,]+ \| -[\d,]+ \| – \|",
                     md)
    # one run each: no interval, and the report says why
    assert "single replicate" in md


def test_every_area_and_year_is_in_the_workbook(report: list[Path]) -> None:
    wb = openpyxl.load_workbook(report[2])
    ws = wb["Differences"]
    rows = list(ws.iter_rows(min_row=HEADER_ROW, values_only=True))
    table = pd.DataFrame(rows[1:], columns=rows[0])
    settled = table[table["Indicator"] == "Settlements"]
    assert len(settled) == len(YEARS) * 6        # five areas and the city, every year
    assert (settled["Difference"] == settled["Scenario value"]
            - settled["Reform as written (2015)"]).all()


def test_differences_are_of_the_rounded_figures_and_have_intervals(tmp_path: Path) -> None:
    """76.66 vs 76.84 shows as 76.7 vs 76.8, so the difference is +0.1 (not +0.2);
    with replicates on both sides (same seeds) a paired 90% interval is given."""
    base = write_run(tmp_path / "a", scenario="reform_2015", replicates=4, years=YEARS)
    other = write_run(tmp_path / "b", scenario="pre_reform", replicates=4, years=YEARS,
                      settle_boost=0.5)
    runs, _ = _load([base, other], force=False, lang="en")
    diffs = differences(runs[0], runs[1], MONEY_UNITS["wan"], "en")
    rates = diffs[diffs["indicator"] == "registered_urbanization_rate"]
    assert ((rates["other"] - rates["base"]).round(1) == rates["difference"]).all()
    assert rates["low"].notna().all() and (rates["low"] <= rates["high"]).all()
    assert shown_as("registered_urbanization_rate", MONEY_UNITS["wan"], "en").round(
        0.7684) - shown_as("registered_urbanization_rate", MONEY_UNITS["wan"], "en").round(
        0.7666) == pytest.approx(0.1)


def test_interval_paired_and_unpaired() -> None:
    a, b = np.array([10.0, 12, 14, 16]), np.array([11.0, 13, 15, 17])
    assert interval(a, b, True) == pytest.approx((1.0, 1.0))     # identical shifts
    lo, hi = interval(a, b, False)
    assert lo < 1.0 < hi                                         # Welch is wider
    assert interval(a[:1], b, False) is None


def test_runs_of_different_scale_are_refused_unless_forced(
        two_runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    root, base, _ = two_runs
    other = write_run(tmp_path / "small", scenario="strict_insurance", years=YEARS)
    manifest = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
    manifest["scale"] = 0.01
    (other / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CompareError, match="same scale.*--force"):
        compare_runs([base, other], tmp_path / "x")
    paths = compare_runs([base, other], tmp_path / "y", force=True)
    assert "compared with --force" in paths[1].read_text(encoding="utf-8")


def test_never_overwrites_and_names_folder_after_scenarios(
        two_runs: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    root, base, strict = two_runs
    with pytest.raises(CompareError, match="already holds files"):
        compare_runs([base, strict], root / "out")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["compare", str(base), str(strict)]) == 0
    assert cli.main(["compare", str(base), str(strict)]) == 0
    folders = sorted(p.name for p in (tmp_path / "results" / "comparisons").iterdir())
    assert folders == ["reform_2015-vs-strict_insurance", "reform_2015-vs-strict_insurance-2"]


def test_cli_refuses_mismatched_runs(two_runs: tuple[Path, Path, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    root, base, _ = two_runs
    short = write_run(tmp_path / "short", scenario="short", years=range(2018, 2022))
    assert cli.main(["compare", str(base), str(short), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "same years" in err and "--force" in err


def test_html_is_self_contained(report: list[Path]) -> None:
    html = report[0].read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 2
    assert "<link" not in html and 'src="http' not in html


def test_markdown_links_existing_charts(report: list[Path]) -> None:
    md = report[1].read_text(encoding="utf-8")
    for name in re.findall(r"!\[[^]]*\]\(([^)]+)\)", md):
        assert (report[1].parent / name).is_file()


def test_runs_with_different_years_are_refused(two_runs: tuple[Path, Path, Path]) -> None:
    root, base, _ = two_runs
    short = write_run(root / "short", scenario="short", years=range(2018, 2022))
    with pytest.raises(CompareError, match="same years") as err:
        compare_runs([base, short], root / "x")
    message = str(err.value)
    assert "\n" not in message and str(base) in message and str(short) in message
    assert "2018–2025" in message and "2018–2021" in message


def test_runs_with_different_areas_are_refused(two_runs: tuple[Path, Path, Path]) -> None:
    root, base, _ = two_runs
    fewer = write_run(root / "fewer", years=YEARS, area_ids=["dawa", "panshan"])
    with pytest.raises(CompareError, match="same areas"):
        compare_runs([base, fewer], root / "x")


def test_folder_that_is_not_a_run_is_named(two_runs: tuple[Path, Path, Path]) -> None:
    root, base, _ = two_runs
    (root / "half").mkdir()
    (root / "half" / "indicators.csv").write_text("scenario\n", encoding="utf-8")
    with pytest.raises(CompareError, match=r"half: not a run folder \(missing manifest.json\)"):
        compare_runs([base, root / "half"], root / "x")
    with pytest.raises(CompareError, match="no such run folder"):
        compare_runs([base, root / "nowhere"], root / "x")
    with pytest.raises(CompareError, match="at least two"):
        compare_runs([base], root / "x")


def test_chinese_report_without_missing_glyphs(two_runs: tuple[Path, Path, Path]) -> None:
    root, base, strict = two_runs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = compare_runs([base, strict], root / "zh", lang="zh")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    md = paths[1].read_text(encoding="utf-8")
    assert "# 情景比较" in md and "户籍人口城镇化率" in md and "严格社保年限" in md


def test_selected_years_prefer_five_year_marks() -> None:
    assert selected_years(range(2015, 2036)) == [2020, 2025, 2030, 2035]
    assert selected_years([2016, 2017, 2018]) == [2016, 2017, 2018]
