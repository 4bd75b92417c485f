"""Chart primitives shared by the run's charts and the comparison report.

Figures are built with matplotlib's object API (`Figure`, no pyplot state), so
they can be drawn in worker processes. A figure has a title, small-multiple
panels, one legend outside the panels and a wrapped source note under them.
Chinese text uses Noto Sans SC, shipped on PyPI by ``pylopdf-fonts-zh-cn`` (a
project dependency) and registered with matplotlib's font manager by
`register_cjk_font`.

Example
-------
>>> with chart_style("en"):
...     fig, axes = frame(2, "Title", "Source: …", "en")
>>> len(axes)
2
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator, Sequence
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
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

from sim.output import labels

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
           "#F0E442", "#999999"]
WARNING_COLOR = "#B03A00"
PANEL_W, PANEL_H = 4.0, 2.9      # inches per small-multiple panel
DPI = 150
SOURCE_FONTSIZE = 7.5


def colors(n: int) -> list[str]:
    """``n`` distinct colours: Okabe–Ito up to 8, matplotlib's tab20 up to 20, then cycled."""
    base = PALETTE if n <= len(PALETTE) else [matplotlib.colors.to_hex(c) for c in
                                              matplotlib.colormaps["tab20"].colors]
    return [base[i % len(base)] for i in range(n)]


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
    # y given: matplotlib then skips placing the title above top ticks, a tight box of
    # every axis at each draw (a fifth of the charts' Python calls, counted with cProfile);
    # ours has no top ticks.
    ax.set_title(title, loc="left", fontsize=10, y=1.0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(GroupedFormatter())
    if ylabel:
        ax.set_ylabel(scale.unit(lang))


def add_legend(fig: Figure, axes: Sequence[Axes], reverse: bool = False,
               last: str | None = None) -> None:
    """One legend for the figure, outside the panels on the right, without duplicates.

    ``reverse`` lists the entries bottom-up, to match the order of stacked bars; the
    entry labelled ``last`` comes last. A single line needs no legend: the title names it.
    """
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    if last in seen:
        seen[last] = seen.pop(last)
    if len(seen) > 1 or (seen and reverse):
        order = list(seen)[::-1] if reverse else list(seen)
        fig.legend([seen[k] for k in order], order, loc="outside right upper")


def save(fig: Figure, out_dir: Path, stem: str,
         formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write ``stem.png`` (150 dpi) and, if asked, ``stem.svg`` (fixed metadata, so
    reproducible); return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        if fmt == "png":    # light compression: a third of the time, files ~20% larger
            fig.savefig(path, dpi=DPI, metadata={"Software": None},
                        pil_kwargs={"compress_level": 1})
        else:
            fig.savefig(path, metadata={"Date": None, "Creator": None})
        paths.append(path)
    return paths


def plot_band(ax: Axes, stats: pd.DataFrame, scale: Scale, label: str, color: str,
              linestyle: str = "-") -> None:
    """A mean line with its band over replicates (drawn only when replicates differ);
    ``stats`` has the columns of `sim.output.common.summarize`."""
    x = stats["year"].to_numpy()
    ax.plot(x, stats["mean"] / scale.factor, color=color, lw=1.8, ls=linestyle,
            label=label)
    if (stats["hi"] > stats["lo"]).any():
        ax.fill_between(x, stats["lo"] / scale.factor, stats["hi"] / scale.factor,
                        color=color, alpha=0.18, lw=0)


def mark_year(ax: Axes, year: float, label: str) -> None:
    """A dotted vertical line at ``year`` (the reform's start), named in the legend."""
    ax.axvline(year, color="0.45", lw=0.9, ls=":", label=label, zorder=0)


def warn_panel(ax: Axes, text: str) -> None:
    """A short warning in the panel's top-right corner, in a warning colour."""
    ax.set_title(text, loc="right", fontsize=7, color=WARNING_COLOR, y=1.0)


def stacked_bar(ax: Axes, x: np.ndarray, heights: np.ndarray, bottom: np.ndarray,
                color: str, label: str, width: float = 0.75,
                alpha: float | None = None) -> PolyCollection:
    """One layer of a stacked bar chart as a single collection of rectangles; returned.

    Drawn as one `PolyCollection` rather than with ``Axes.bar``, which makes a patch
    per bar: a run's cost chart has thousands of bars, and patches made the charts
    slower to draw than the simulation took to run.
    """
    left, right = x - width / 2, x + width / 2
    top = bottom + heights
    boxes = np.stack([np.column_stack([left, bottom]), np.column_stack([left, top]),
                      np.column_stack([right, top]), np.column_stack([right, bottom])], axis=1)
    layer = PolyCollection(boxes, facecolors=color, edgecolors="none", label=label,
                           alpha=alpha)
    ax.add_collection(layer)
    ax.update_datalim(np.column_stack([np.r_[left, right], np.r_[bottom, top]]))
    ax.autoscale_view()
    return layer
