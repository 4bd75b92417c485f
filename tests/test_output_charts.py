"""Charts of a run: every file written, gaps skipped, Chinese without missing glyphs."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from output_fixtures import read_run, write_run

from sim.output import labels
from sim.output.charts import source_line, write_charts
from sim.output.common import RunContext, gap_payers, summarize, tidy
from sim.output.plotting import colors, register_cjk_font, scale_for

ALL_STEMS = {"population", "urbanization", "settlements", "residence_permits",
             "cost_by_service", "cost_by_payer", "fiscal_gap"}
MONEY_STEMS = {"cost_by_service", "cost_by_payer", "fiscal_gap"}


def _render(folder: Path, lang: str, formats: tuple[str, ...] = ("png",), workers: int = 1,
            **run: object) -> tuple[list[Path], list[str]]:
    df, manifest = read_run(write_run(folder / "run", **run))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write_charts(df, manifest, folder / "charts", lang=lang, formats=formats,
                             workers=workers)
    return paths, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[str]]:
    return _render(tmp_path_factory.mktemp("en"), "en", ("png", "svg"), 2, replicates=3,
                   years=range(2015, 2019))


@pytest.fixture(scope="module")
def chinese(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[str]]:
    return _render(tmp_path_factory.mktemp("zh"), "zh", years=range(2015, 2018))


def _stems(paths: list[Path], suffix: str) -> set[str]:
    return {p.stem for p in paths if p.suffix == suffix}


def test_every_chart_is_written_as_png_and_svg(english: tuple[list[Path], list[str]]) -> None:
    paths, _ = english
    assert _stems(paths, ".png") == ALL_STEMS
    assert _stems(paths, ".svg") == ALL_STEMS
    for path in paths:
        assert path.is_file() and path.stat().st_size > 1000, path
    png = next(p for p in paths if p.suffix == ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_only_by_default_and_progress_per_file(tmp_path: Path) -> None:
    df, manifest = read_run(write_run(tmp_path / "run", years=range(2015, 2017)))
    seen: list[Path] = []
    paths = write_charts(df, manifest, tmp_path / "charts", progress=seen.append, workers=1)
    assert {p.suffix for p in paths} == {".png"} and sorted(seen) == sorted(paths)


def test_small_scale_warning_and_reform_mark(tmp_path: Path) -> None:
    """Below scale 0.2 every area panel (not the city) carries the warning; the 2016
    start of the reform is drawn; observed figures are drawn as points."""
    import sim.output.charts as charts

    df, manifest = read_run(write_run(tmp_path / "run", years=range(2015, 2018)))
    manifest["scale"] = 0.05
    manifest["validation"] = [{"indicator": "resident_population", "area": "panjin",
                               "year": 2016, "observed": 1.0e6}]
    figures = []
    original = charts.save
    charts.save = lambda fig, *a: figures.append(fig) or []
    try:
        write_charts(df, manifest, tmp_path / "charts", workers=1)
    finally:
        charts.save = original
    population = figures[0]
    axes = [ax for ax in population.axes if ax.get_visible()]
    warnings = [ax.get_title(loc="right") for ax in axes]
    assert warnings[0] == "" and all(w == "scale 0.05: noisy" for w in warnings[1:])
    handles = {text.get_text() for text in population.legends[0].get_texts()}
    assert {"2016: reform (盘政发〔2015〕53号) in force", "Observed (census, bulletins)"} <= handles
    gap = figures[-1]
    assert any("above 0: shortfall" in t.get_text() for t in gap.legends[0].get_texts())


def test_fiscal_gap_bars_are_the_mean_gap_from_zero_named_last(tmp_path: Path) -> None:
    """The gap bars (one collection a panel) span 0 to each year's mean gap, keep 0 as the
    axis' edge as `Axes.bar` did, and are the legend's last entry."""
    from matplotlib.collections import PolyCollection

    from sim.output.charts import draw_chart

    df, manifest = read_run(write_run(tmp_path / "run", replicates=2,
                                      years=range(2015, 2019)))
    fig = draw_chart(df, manifest, "fiscal_gap")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "above 0: shortfall" in texts[-1] and len(texts) >= 3
    city = fig.axes[0]
    bars = [c for c in city.collections
            if isinstance(c, PolyCollection) and c.get_label() == texts[-1]]
    assert len(bars) == 1 and 0 in bars[0].sticky_edges.y
    stats = summarize(tidy(df), "fiscal_gap", "panjin")
    tops = [path.vertices[1, 1] for path in bars[0].get_paths()]
    units = [f for f in (1.0, 1e4, 1e8) if list(stats["mean"] / f) == pytest.approx(tops)]
    assert len(units) == 1 and any(tops)      # the mean gap in the chart's unit
    assert [path.vertices[0, 1] for path in bars[0].get_paths()] == [0.0] * len(tops)


def test_english_charts_have_no_missing_glyphs(english: tuple[list[Path], list[str]]) -> None:
    # Channel labels carry clause numerals (四, 五 …): the CJK font is the fallback.
    _, messages = english
    assert not [m for m in messages if "missing from font" in m]


def test_chinese_charts_have_no_missing_glyphs(chinese: tuple[list[Path], list[str]]) -> None:
    paths, messages = chinese
    assert _stems(paths, ".png") == ALL_STEMS
    assert not [m for m in messages if "missing from font" in m], messages


def test_cjk_font_comes_from_the_package() -> None:
    assert register_cjk_font() == "Noto Sans SC"


def test_run_without_money_skips_money_charts(tmp_path: Path) -> None:
    paths, _ = _render(tmp_path, "en", money=False, years=range(2015, 2017))
    assert _stems(paths, ".png") == ALL_STEMS - MONEY_STEMS


def test_empty_table_draws_nothing(tmp_path: Path) -> None:
    empty = pd.DataFrame(columns=["scenario", "replicate", "year", "area", "indicator",
                                  "category", "value"])
    assert write_charts(empty, {}, tmp_path) == []


def test_table_without_the_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        tidy(pd.DataFrame({"year": [2015]}))


def test_summarize_gives_mean_and_an_honest_band() -> None:
    """From 20 runs on the band is the 5th–95th percentile; below, the lowest and
    highest run (a 5–95% band of 3 runs would only interpolate between them)."""
    def row(values: list[float]) -> pd.Series:
        df = tidy(pd.DataFrame({
            "scenario": "s", "replicate": range(len(values)), "year": 2020, "area": "panjin",
            "indicator": "births", "category": None, "value": values}))
        return summarize(df, "births", "panjin").iloc[0]

    many = row([float(v) for v in range(21)])
    assert (many["mean"], many["lo"], many["hi"]) == (10.0, 1.0, 19.0)
    few = row([1.0, 2.0, 9.0])
    assert (few["mean"], few["lo"], few["hi"]) == (4.0, 1.0, 9.0)


def test_source_line_gives_scale_runs_and_prices() -> None:
    context = RunContext.of({"scenario": "reform_2015", "scale": 0.05, "version": "1.0",
                             "seeds": [7, 8, 9]}, 3)
    line = source_line(context, "en", money=True)
    assert "Reform as written (2015)" in line and "scale 0.05 (one agent stands for 20" in line
    assert "3 runs" in line and "lowest to highest of 3 runs" in line
    assert line.endswith("Money in yuan at 2015 prices.")
    assert "抽样比例 0.05" in source_line(context, "zh")


def test_scales_use_chinese_budget_units() -> None:
    assert scale_for("money", [3.2e8]).unit("zh") == "亿元"
    assert scale_for("money", [5.0e6]).unit("zh") == "万元"
    assert scale_for("people", [1.4e6]).unit("zh") == "万人"
    assert scale_for("people", [800.0]).unit("en") == "persons"
    assert scale_for("rate", [0.6]).factor == 0.01


def test_many_categories_get_distinct_colours() -> None:
    assert len(set(colors(13))) == 13
    assert len(set(colors(5))) == 5


def test_gap_payers_read_from_manifest() -> None:
    assert gap_payers({"parameters": {"fiscal.gap_payers": {"value": ["city"]}}}) == ["city"]
    assert gap_payers({}) is None


def test_labels_use_policy_wording_and_fall_back() -> None:
    assert labels.indicator("registered_urbanization_rate", "zh") == "户籍人口城镇化率"
    assert labels.indicator("residence_permit_holders", "zh") == "居住证持有人数"
    assert labels.category("settlements", "talent", "zh") == "人才落户（六）"
    assert labels.category("transfer_payment", "linkage", "zh") == "市民化挂钩转移支付"
    assert labels.category("public_service_cost", "new_service", "zh") == "new_service"
    assert labels.indicator("new_indicator", "en") == "new_indicator"
    assert labels.area("liaodongwan", "zh") == "辽东湾新区"
    assert labels.area("panjin", "en") == "Panjin"
    with pytest.raises(ValueError, match="unknown language"):
        labels.indicator("births", "fr")
