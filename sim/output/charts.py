"""Budget-planning charts of a run: PNG for slides, SVG for print.

`write_charts` draws every chart whose indicators the run holds and skips the
others. Each chart stands on its own: a title, units on the value axis, a legend
outside the plotting area and a source line naming the scenario and seeds. With
several replicates a line is the median and the shaded band spans the 5th to
95th percentile (a 90% band); stacked bars stack the medians.

Chinese charts (``lang="zh"``) use Noto Sans SC, shipped on PyPI by the
``pylopdf-fonts-zh-cn`` package (a project dependency) and registered with
matplotlib's font manager by `register_cjk_font`.

Example
-------
>>> from sim.output.charts import write_charts
>>> paths = write_charts(indicators, manifest, run_dir / "charts", lang="zh")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

from sim.areas import load_areas
from sim.output import labels

COLUMNS = ["scenario", "replicate", "year", "area", "indicator", "category", "value"]
# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
           "#F0E442", "#999999"]
PANEL_W, PANEL_H = 4.0, 2.9      # inches per small-multiple panel
DPI = 150
SOURCE_FONTSIZE = 7.5


# ---------------------------------------------------------------- data helpers

def tidy(indicators: pd.DataFrame) -> pd.DataFrame:
    """The indicator table with an empty-string `category` and integer years.

    Raises ``ValueError`` naming the missing columns if it is not an indicator table.
    """
    missing = [c for c in COLUMNS if c not in indicators.columns]
    if missing:
        raise ValueError(f"indicator table lacks column(s): {', '.join(missing)}")
    df = indicators[COLUMNS].copy()
    df["category"] = df["category"].fillna("").astype(str)
    df["year"] = df["year"].astype(int)
    df["replicate"] = df["replicate"].astype(int)
    df["value"] = df["value"].astype(float)
    return df


def area_order(area_ids: Sequence[str]) -> list[str]:
    """The areas present, city first, then in the order of ``areas.toml``."""
    areas = load_areas()
    known = [a for a in (areas.city_id, *areas.ids) if a in set(area_ids)]
    return known + sorted(set(area_ids) - set(known))


def colors(n: int) -> list[str]:
    """``n`` distinct colours: Okabe–Ito up to 8, matplotlib's tab20 up to 20, then cycled."""
    base = PALETTE if n <= len(PALETTE) else [matplotlib.colors.to_hex(c) for c in
                                              matplotlib.colormaps["tab20"].colors]
    return [base[i % len(base)] for i in range(n)]


def gap_payers(manifest: dict) -> list[str] | None:
    """The payers whose incremental cost the model's fiscal gap counts, if the manifest
    gives a plain list for ``fiscal.gap_payers``; else None."""
    value = manifest.get("parameters", {}).get("fiscal.gap_payers")
    value = value.get("value") if isinstance(value, dict) else value
    return [str(v) for v in value] if isinstance(value, list) and value else None


def category_order(indicator: str, present: Sequence[str]) -> list[str]:
    """The categories present, labelled ones in label-table order, then the rest."""
    table = labels.CATEGORY_TABLES.get(indicator, {})
    known = [c for c in table if c in set(present)]
    return known + sorted(set(present) - set(known) - {""})


def summarize(df: pd.DataFrame, indicator: str, area: str,
              by_category: bool = False) -> pd.DataFrame:
    """Median and 5th/95th percentiles over replicates, per year (and category).

    Categories are summed within a replicate unless ``by_category``. The result
    has columns ``year`` (, ``category``), ``median``, ``lo``, ``hi``; it is
    empty when the run lacks the indicator for that area.
    """
    sub = df[(df["indicator"] == indicator) & (df["area"] == area)]
    keys = ["year", "category"] if by_category else ["year"]
    per_rep = sub.groupby(["replicate", *keys], as_index=False)["value"].sum()
    grouped = per_rep.groupby(keys)["value"]
    out = pd.DataFrame({"median": grouped.median(), "lo": grouped.quantile(0.05),
                        "hi": grouped.quantile(0.95)})
    return out.reset_index()


@dataclass(frozen=True)
class Scale:
    """How values are shown: divide by `factor`, label with the unit text `unit_key`."""

    factor: float
    unit_key: str

    def unit(self, lang: str) -> str:
        return labels.text(self.unit_key, lang)

    def titled(self, title: str, lang: str) -> str:
        """``title`` with the unit appended: "Title (unit)" or "标题（单位）"."""
        unit = self.unit(lang)
        return f"{title}（{unit}）" if lang == "zh" else f"{title} ({unit})"


class GroupedFormatter(Formatter):
    """Tick labels with thousands separators and just enough decimals for the step."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:,.0f}"

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        step = float(np.min(np.diff(values))) if len(values) > 1 else 1.0
        decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if 0 < step < 1 else 0
        return [f"{v:,.{decimals}f}" for v in values]


def scale_for(kind: str, values: Sequence[float] | np.ndarray) -> Scale:
    """A readable unit for values of this kind: 万人, 万元 or 亿元, percent.

    >>> scale_for("money", [3.2e8]).unit_key
    'unit_100m_yuan'
    """
    top = float(np.nanmax(np.abs(values))) if len(values) else 0.0
    if kind == "rate":
        return Scale(0.01, "unit_percent")
    if kind == "money":
        factor, key = ((1e8, "unit_100m_yuan") if top >= 1e8 else
                       (1e4, "unit_10k_yuan") if top >= 1e4 else (1.0, "unit_yuan"))
    else:
        factor, key = (1e4, "unit_10k_persons") if top >= 1e5 else (1.0, "unit_persons")
    return Scale(factor, key)


def seed_text(manifest: dict) -> str:
    """The run's seeds, short: plain seeds listed (at most four shown), or the common
    SeedSequence entropy with the replicates' spawn keys, as the runner records them.

    >>> seed_text({"seeds": [{"entropy": 7, "spawn_key": [0]}, {"entropy": 7, "spawn_key": [1]}]})
    '7 (spawn keys 0–1)'
    >>> seed_text({"seeds": [1, 2, 3, 4, 5]})
    '1, 2 … 5'
    """
    seeds = manifest.get("seeds") or ([manifest["seed"]] if "seed" in manifest else ["?"])
    if all(isinstance(s, dict) for s in seeds):
        entropies = {str(s.get("entropy", "?")) for s in seeds}
        keys = [".".join(map(str, s.get("spawn_key") or [])) for s in seeds]
        if len(entropies) == 1 and all(keys):
            spans = keys[0] if len(keys) == 1 else f"{keys[0]}–{keys[-1]}"
            return f"{entropies.pop()} (spawn key{'s' if len(keys) > 1 else ''} {spans})"
        seeds = [f"{s.get('entropy', '?')}/{k}" if k else str(s.get("entropy", "?"))
                 for s, k in zip(seeds, keys, strict=True)]
    shown = [str(s) for s in seeds]
    return ", ".join(shown) if len(shown) <= 4 else f"{shown[0]}, {shown[1]} … {shown[-1]}"


def source_line(manifest: dict, lang: str, replicates: int, stacked: bool = False,
                money: bool = False) -> str:
    """The source note under a chart: model version, scenario, seeds, what bands mean.

    Two lines: where the numbers come from, then the scenario, seeds and how
    replicates are summarized (lines with bands, or stacked medians).
    """
    shown = seed_text(manifest)
    key = "seed_one" if replicates == 1 else "stack_median" if stacked else "seed_many"
    text = labels.text("source", lang, version=manifest.get("version", "?"),
                       scenario=manifest.get("scenario", "?"),
                       seeds=labels.text(key, lang, seeds=shown, n=replicates))
    return text + (" " + labels.text("prices", lang) if money else "")


# ------------------------------------------------------------------ fonts, frame

@cache
def register_cjk_font() -> str:
    """Register Noto Sans SC with matplotlib's font manager; return its family name.

    The font file ships in the ``pylopdf-fonts-zh-cn`` package (SIL OFL 1.1), so a
    fresh ``pip install`` of the project is enough for Chinese charts.
    """
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        raise ImportError("Chinese charts need the font package pylopdf-fonts-zh-cn, a "
                          "dependency of hukou-sim: pip install pylopdf-fonts-zh-cn") from None
    path = str(pylopdf_fonts_zh_cn.sans_path())
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


@contextmanager
def chart_style(lang: str) -> Iterator[None]:
    """Matplotlib settings for our charts, with Noto Sans SC first for ``lang="zh"``."""
    rc = {"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
          "axes.spines.right": False, "axes.grid": True, "axes.grid.axis": "y",
          "grid.alpha": 0.35, "legend.frameon": False, "svg.hashsalt": "hukou-sim",
          "svg.fonttype": "path"}
    # Chinese first for zh; for en the CJK font is only a fallback, for the clause
    # numerals in channel names and for Chinese scenario or category names. (Per-glyph
    # fallback needs the families themselves, not the generic "sans-serif".)
    if labels.check_lang(lang) == "zh":
        rc["font.family"] = [register_cjk_font(), "DejaVu Sans"]
    else:
        try:
            rc["font.family"] = ["DejaVu Sans", register_cjk_font()]
        except ImportError:     # English charts still work; clause numerals show as boxes
            rc["font.family"] = ["DejaVu Sans"]
    with matplotlib.rc_context(rc):
        yield


def frame(n_panels: int, title: str, source: str, lang: str,
          ncols: int = 3) -> tuple[Figure, list[Axes]]:
    """A figure with a title, ``n_panels`` panels in a grid and a wrapped source line.

    Unused grid cells are hidden. Call inside `chart_style`.
    """
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    width = max(7.5, PANEL_W * ncols + 2.2)      # room for a legend on the right
    fig = Figure(figsize=(width, PANEL_H * nrows + 1.0), layout="constrained", dpi=DPI)
    FigureCanvasAgg(fig)
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    # Not bold: Noto Sans SC (also the fallback for en) ships a single weight.
    fig.suptitle(title, x=0.01, ha="left", fontsize=13)
    fig.supxlabel(_wrap(source, width * 72 * 0.97 / SOURCE_FONTSIZE), x=0.01, ha="left",
                  fontsize=SOURCE_FONTSIZE, color="0.35")
    return fig, axes[:n_panels]


def _wrap(text: str, em_per_line: float) -> str:
    """Wrap each line of ``text`` to about ``em_per_line`` ems (CJK 1 em, Latin ~0.55)."""
    def ems(chunk: str) -> float:
        return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in chunk)

    out: list[str] = []
    for line in text.splitlines():
        while ems(line) > em_per_line:
            cut, used = 0, 0.0
            while used + ems(line[cut]) <= em_per_line:
                used += ems(line[cut])
                cut += 1
            space = line.rfind(" ", 0, cut)
            cut = space + 1 if space > cut // 2 else cut
            out.append(line[:cut].rstrip())
            line = line[cut:]
        out.append(line)
    return "\n".join(out)


def finish_axis(ax: Axes, scale: Scale, lang: str, title: str, ylabel: bool) -> None:
    """Panel title, integer year ticks, value format and (optionally) the unit label."""
    ax.set_title(title, loc="left")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(GroupedFormatter())
    if ylabel:
        ax.set_ylabel(scale.unit(lang))


def add_legend(fig: Figure, axes: Sequence[Axes], reverse: bool = False) -> None:
    """One legend for the figure, outside the panels on the right, without duplicates.

    ``reverse`` lists the entries bottom-up, to match the order of stacked bars. A
    single line needs no legend: the title names it.
    """
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    if len(seen) > 1 or (seen and reverse):
        order = list(seen)[::-1] if reverse else list(seen)
        fig.legend([seen[k] for k in order], order, loc="outside right upper")


def save(fig: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Write ``stem.png`` (150 dpi) and ``stem.svg`` (fixed metadata: reproducible)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
    fig.savefig(png, dpi=DPI, metadata={"Software": None})
    fig.savefig(svg, metadata={"Date": None, "Creator": None})
    return [png, svg]


def plot_band(ax: Axes, stats: pd.DataFrame, scale: Scale, label: str, color: str,
              linestyle: str = "-") -> None:
    """A median line with its 90% band (the band only when replicates differ)."""
    x = stats["year"].to_numpy()
    ax.plot(x, stats["median"] / scale.factor, color=color, lw=1.8, ls=linestyle,
            label=label)
    if (stats["hi"] > stats["lo"]).any():
        ax.fill_between(x, stats["lo"] / scale.factor, stats["hi"] / scale.factor,
                        color=color, alpha=0.18, lw=0)


# ------------------------------------------------------------------------ charts

@dataclass(frozen=True)
class Run:
    """What every chart of one run needs besides the data: manifest, language, replicates."""

    manifest: dict
    lang: str
    replicates: int

    def frame(self, n_panels: int, title: str, scale: Scale, kind: str,
              stacked: bool = False) -> tuple[Figure, list[Axes]]:
        """`frame` with the unit in the title and this run's source line."""
        source = source_line(self.manifest, self.lang, self.replicates, stacked,
                             money=kind == "money")
        return frame(n_panels, scale.titled(title, self.lang), source, self.lang)


@dataclass(frozen=True)
class _Series:
    indicator: str
    label: str
    color: str
    linestyle: str = "-"
    categories: tuple[str, ...] | None = None    # these breakdowns only; None: all

    def rows(self, df: pd.DataFrame) -> pd.DataFrame:
        return df if self.categories is None else df[df["category"].isin(self.categories)]


def _line_multiples(df: pd.DataFrame, run: Run, title: str, series: Sequence[_Series],
                    bars: _Series | None = None) -> Figure | None:
    """One panel per area (city first) with a line per series and optional bars."""
    drawn = [*series, *([bars] if bars else [])]
    sub = pd.concat([s.rows(df[df["indicator"] == s.indicator]) for s in drawn])
    if sub.empty:
        return None
    areas = area_order(sub["area"].unique())
    kind = labels.kind(drawn[0].indicator)
    per_rep = sub.groupby(["replicate", "year", "area", "indicator"])["value"].sum()
    scale = scale_for(kind, per_rep.to_numpy())
    fig, axes = run.frame(len(areas), title, scale, kind)
    for n, (ax, area) in enumerate(zip(axes, areas, strict=True)):
        if bars is not None:
            stats = summarize(bars.rows(sub), bars.indicator, area)
            ax.bar(stats["year"], stats["median"] / scale.factor, color=bars.color,
                   alpha=0.45, width=0.7, label=bars.label)
            ax.axhline(0, color="0.3", lw=0.6)
        for s in series:
            stats = summarize(s.rows(sub), s.indicator, area)
            if not stats.empty:
                plot_band(ax, stats, scale, s.label, s.color, s.linestyle)
        finish_axis(ax, scale, run.lang, labels.area(area, run.lang), ylabel=n % 3 == 0)
    add_legend(fig, axes)
    return fig


def _stacked_multiples(df: pd.DataFrame, run: Run, title: str,
                       indicator: str) -> Figure | None:
    """One panel per area (city first): yearly bars stacked by category (medians)."""
    sub = df[(df["indicator"] == indicator) & (df["category"] != "")]
    if sub.empty:
        return None
    areas = area_order(sub["area"].unique())
    cats = category_order(indicator, sub["category"].unique())
    kind = labels.kind(indicator)
    totals = sub.groupby(["replicate", "year", "area"])["value"].sum()
    scale = scale_for(kind, totals.to_numpy())
    fig, axes = run.frame(len(areas), title, scale, kind, stacked=True)
    for n, (ax, area) in enumerate(zip(axes, areas, strict=True)):
        stats = summarize(sub, indicator, area, by_category=True)
        table = stats.pivot(index="year", columns="category", values="median")
        table = table.reindex(columns=cats).fillna(0.0) / scale.factor
        bottom = np.zeros(len(table))
        for cat, color in zip(cats, colors(len(cats)), strict=True):
            ax.bar(table.index, table[cat], bottom=bottom, width=0.75, color=color,
                   label=labels.category(indicator, cat, run.lang))
            bottom += table[cat].to_numpy()
        # Zero-height segments on top of a stack would pin the axis to the tallest bar.
        if len(bottom) and bottom.max() > 0:
            ax.set_ylim(0, bottom.max() * 1.05)
        finish_axis(ax, scale, run.lang, labels.area(area, run.lang), ylabel=n % 3 == 0)
    add_legend(fig, axes, reverse=True)
    return fig


def _chart_builders(indicators: pd.DataFrame, manifest: dict, lang: str
                    ) -> dict[str, Callable[[], Figure | None]]:
    """Each chart of a run by name, as a function drawing it (None: no data)."""
    labels.check_lang(lang)
    df = tidy(indicators)
    run = Run(manifest, lang, int(df["replicate"].nunique()))

    def s(indicator: str, color: int, linestyle: str = "-", label: str = "",
          categories: tuple[str, ...] | None = None) -> _Series:
        return _Series(indicator, label or labels.indicator(indicator, lang), PALETTE[color],
                       linestyle, categories)

    def has(indicator: str, category: str = "") -> bool:
        return bool(((df["indicator"] == indicator)
                     & (df["category"] == category if category else True)).any())

    # Clause 十六: the model's fiscal gap is the incremental cost borne by the payers
    # of `fiscal.gap_payers` minus the linkage transfer; draw those two lines when the
    # run has them, so that the gap bars are the distance between the lines.
    transfer = (s("transfer_payment", 2, label=labels.text("transfer_linkage", lang),
                  categories=("linkage",)) if has("transfer_payment", "linkage")
                else s("transfer_payment", 2, label=labels.text("transfer_total", lang)))
    payers = gap_payers(manifest)
    incremental = (
        s("incremental_cost_by_payer", 5, categories=tuple(payers),
          label=labels.text("incremental_borne", lang, payers=labels.text("and", lang).join(
              labels.category("incremental_cost_by_payer", p, lang) for p in payers)))
        if payers and has("incremental_cost_by_payer")
        else s("incremental_cost", 5, label=labels.text("incremental_total", lang)))

    def title(key: str) -> str:
        return labels.text(key, lang)

    charts = {
        "population": lambda: _line_multiples(
            df, run, title("title_population"),
            [s("resident_population", 0), s("registered_population", 1),
             s("resident_urban_population", 0, "--"), s("registered_urban_population", 1, "--")]),
        "urbanization": lambda: _line_multiples(
            df, run, title("title_urbanization"),
            [s("resident_urbanization_rate", 0, label=title("rate_resident")),
             s("registered_urbanization_rate", 1, label=title("rate_registered"))]),
        "settlements": lambda: _stacked_multiples(
            df, run, title("title_settlements"), "settlements"),
        "residence_permits": lambda: _line_multiples(
            df, run, title("title_permits"), [s("residence_permit_holders", 2)]),
        "cost_by_service": lambda: _stacked_multiples(
            df, run, title("title_cost_service"), "public_service_cost"),
        "cost_by_payer": lambda: _stacked_multiples(
            df, run, title("title_cost_payer"), "public_service_cost_by_payer"),
        "fiscal_gap": lambda: _line_multiples(
            df, run, title("title_fiscal_gap"),
            [transfer, incremental], bars=s("fiscal_gap", 7, label=labels.text("gap_bar", lang))),
    }
    return charts


def draw_chart(indicators: pd.DataFrame, manifest: dict, name: str,
               lang: str = "en") -> Figure | None:
    """One chart of `write_charts` as a matplotlib figure (for notebooks); None when the
    run lacks its indicators. ``name`` is a chart's file stem: ``population``,
    ``urbanization``, ``settlements``, ``residence_permits``, ``cost_by_service``,
    ``cost_by_payer`` or ``fiscal_gap``."""
    builders = _chart_builders(indicators, manifest, lang)
    if name not in builders:
        raise ValueError(f"unknown chart {name!r}; charts: {', '.join(builders)}")
    with chart_style(lang):
        return builders[name]()


def write_charts(indicators: pd.DataFrame, manifest: dict, out_dir: Path,
                 lang: str = "en") -> list[Path]:
    """Write the budget-planning charts of one run as PNG and SVG; return the paths.

    Charts whose indicators the run lacks are skipped. ``lang`` is ``"en"`` or
    ``"zh"``.

    >>> write_charts(pd.read_csv(run / "indicators.csv"), manifest,
    ...              run / "charts")  # doctest: +SKIP
    [PosixPath('.../charts/population.png'), PosixPath('.../charts/population.svg'), ...]
    """
    charts = _chart_builders(indicators, manifest, lang)
    paths: list[Path] = []
    with chart_style(lang):
        for stem, draw in charts.items():
            fig = draw()
            if fig is not None:
                paths += save(fig, Path(out_dir), stem)
    return paths
