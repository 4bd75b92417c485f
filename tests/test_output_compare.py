"""Comparison reports: both scenarios and their figures; mismatched runs refused."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from output_fixtures import read_run, write_run

from sim.output.compare import CompareError, compare_runs, selected_years

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
    assert names[:2] == ["comparison.html", "comparison.md"]
    assert "comparison_city.png" in names and "comparison_fiscal_gap.png" in names
    assert all(p.stat().st_size > 0 for p in report)


def test_report_holds_both_scenarios_and_their_figures(
        report: list[Path], two_runs: tuple[Path, Path, Path]) -> None:
    _, base, strict = two_runs
    html, md = (p.read_text(encoding="utf-8") for p in report[:2])
    for text in (html, md):
        assert "reform_2015" in text and "strict_insurance" in text
        assert "strict_insurance − reform_2015" in text
        for folder in (base, strict):
            assert _settlements_2020(folder) in text
    assert "## 2025" in md
    assert re.search(r"\| Settlements \| persons \| [\d,]+ \| [\d,]+ \| -[\d,]+ \|", md)


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
    assert "# 情景比较" in md and "户籍人口城镇化率" in md


def test_selected_years_prefer_five_year_marks() -> None:
    assert selected_years(range(2015, 2036)) == [2020, 2025, 2030, 2035]
    assert selected_years([2016, 2017, 2018]) == [2016, 2017, 2018]
