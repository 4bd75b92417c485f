"""The explorer's panels: Solara components that read an `ExplorerModel`.

SolaraViz re-renders each panel after every step. The two city time series are Mesa's own
`make_plot_component` over the model's reporters; the other panels are Solara components
drawing with matplotlib (PNG, so the page needs no script from outside) in the style and units
of the run folder's charts (`sim.output.charts`). Indicator, channel and area names come from
`sim.output.labels`; the page's own phrases are in `PAGE_TEXT`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import solara
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator
from mesa.visualization import make_plot_component
from mesa.visualization.utils import update_counter

from sim.explore.levers import LEVERS_BY_ARG, plain_text
from sim.explore.model import FIGURES, ExplorerModel
from sim.output import labels
from sim.output.common import category_order
from sim.output.plotting import GroupedFormatter, Scale, chart_style, colors, scale_for

# The page's own phrases, (English, Chinese) like the tables of `sim.output.labels`.
PAGE_TEXT: dict[str, tuple[str, str]] = {
    "page_title": ("Panjin hukou reform explorer", "盘锦户籍改革情景模拟"),
    "scenario": ("Scenario", "情景"),
    "scenario_hint": ("Choosing a scenario resets the levers to its values. Move levers, "
                      "press Reset to rebuild the city with them, then Step or ▶.",
                      "选择情景会把各项杠杆重置为该情景的取值。调整杠杆后按 Reset 重建城市，"
                      "再按 Step 或 ▶ 逐年模拟。"),
    "year": ("Year", "年份"),
    "base_year": ("base year: stocks only", "基年：仅存量"),
    "levers_moved": ("Levers moved from the scenario", "相对情景调整的杠杆"),
    "none_moved": ("none: the scenario as written", "无：按情景原样"),
    "problems": ("Not applied", "未采用"),
    "step_time": ("Last simulated year took {seconds:.2f} s ({agents:,} agents, scale {scale:g})",
                  "上一模拟年用时 {seconds:.2f} 秒（{agents:,} 个主体，规模 {scale:g}）"),
    "agents": ("{agents:,} agents at scale {scale:g}; each stands for {weight:g} persons",
               "规模 {scale:g} 下共 {agents:,} 个主体，每个代表 {weight:g} 人"),
    "save": ("Save as scenario", "保存为情景文件"),
    "save_hint": ("Writes the levers of the city shown as a scenario file for "
                  "`hukou-sim run`.",
                  "把当前所示城市的杠杆写成情景文件，可用 hukou-sim run 运行。"),
    "saved": ("Saved: {path}", "已保存：{path}"),
    "save_failed": ("Could not save: {error}", "保存失败：{error}"),
    "figures_title": ("Figures of {year}", "{year}年主要指标"),
    "map_title": ("Areas coloured by", "各区县着色指标"),
    "map_note": ("Schematic layout, not to scale", "示意布局，不按比例"),
    "sea": ("Liaodong Bay", "辽东湾"),
    "no_data": ("no value this year", "本年无数据"),
    "household_title": ("A sampled household, {year}", "抽样家庭，{year}年"),
    "household_intro": ("Head of a migrant household living in Panjin (person {pid}, "
                        "{size} in the household), followed from year to year.",
                        "在盘锦居住的外来家庭户主（编号 {pid}，家庭 {size} 人），逐年跟踪。"),
    "household_resampled": ("The household followed before left the city; a new one was "
                            "drawn.", "此前跟踪的家庭已离开，重新抽取了一户。"),
    "lives": ("Lives in {area} ({place}, {years} years there); hukou: {hukou}",
              "居住在{area}（{place}，已居住{years}年）；户籍：{hukou}"),
    "hukou_outside": ("outside Panjin, {kind}, from {origin}", "盘锦市外，{kind}，来自{origin}"),
    "hukou_here": ("{area}, {kind}", "{area}，{kind}"),
    "settled": ("settled in {year} through {channel}", "{year}年经{channel}落户"),
    "urban": ("urban", "城镇户口"),
    "rural": ("rural", "农业户口"),
    "passes": ("passes", "符合"),
    "fails": ("fails", "不符合"),
    "permit": ("Residence permit (十一)", "居住证（十一）"),
    "permit_holds": ("holds one, {years} years", "持有，{years}年"),
    "permit_none": ("holds none", "未持有"),
    "behaviour": ("Chance of intending to settle {intention:.0%} (this household {intends}); "
                  "aware of the reform: {aware}; once eligible, intending and aware it acts "
                  "with a yearly chance of {act:.0%}",
                  "落户意愿概率 {intention:.0%}（本户{intends}）；知晓改革：{aware}；符合条件、"
                  "有意愿且知晓时每年申请概率 {act:.0%}"),
    "intends": ("intends", "有意愿"),
    "does_not_intend": ("does not intend", "无意愿"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "reasons_lang": ("", "（条件说明为英文，来自 hukou-sim explain）"),
    "cost_title": ("Public-service cost and incremental cost", "基本公共服务支出与市民化新增支出"),
    "finance_title": ("Linkage transfer and fiscal gap by area, {year}",
                      "{year}年分区县挂钩转移支付与财力缺口"),
    "scale_small": ("Scale: share of the city simulated; larger is slower",
                    "规模：模拟的城市比例，越大越慢"),
}


def text(key: str, lang: str, **fields: Any) -> str:
    """A page phrase in ``lang``; ``{field}`` placeholders filled in."""
    return PAGE_TEXT[key][labels.LANGS.index(labels.check_lang(lang))].format(**fields)


def figure_label(name: str, lang: str) -> str:
    """Label of a figure of `FIGURES` (the linkage transfer is part of `transfer_payment`)."""
    if name == "linkage_transfer":
        return labels.category("transfer_payment", "linkage", lang)
    return labels.indicator(name, lang)


def figure_kind(name: str) -> str:
    """``people``, ``rate`` or ``money``."""
    return "money" if name == "linkage_transfer" else labels.kind(name)


def format_value(value: float, scale: Scale, lang: str, unit: bool = True) -> str:
    """A value in a scale's unit, e.g. ``141.6 万人``, ``75.8%``, ``2.74 亿元``; ``–`` for
    no value."""
    if value is None or not math.isfinite(value):
        return "–"
    digits = 1 if scale.unit_key in ("unit_percent", "unit_10k_persons") else (
        2 if scale.unit_key == "unit_100m_yuan" else 0)
    shown = f"{value / scale.factor:,.{digits}f}"
    if not unit:
        return shown
    name = scale.unit(lang)
    return f"{shown}{'' if name == '%' else ' '}{name}"


# ------------------------------------------------------------------ Mesa plot components

def city_plot_components(lang: str, base_year: int) -> list[tuple[Callable, int]]:
    """Mesa's `make_plot_component` for the city's population and urbanization rates: the
    model's reporters are drawn against the step number, which these post-processors turn
    into years (step 0 is ``base_year``) and labelled axes."""
    def finish(title_key: str, kind: str) -> Callable:
        def post_process(ax: Any) -> None:
            ax.figure.set_size_inches(*FIGSIZE)  # Mesa's default is taller than a panel
            for line in ax.get_lines():
                line.set_label(labels.indicator(line.get_label(), lang))
            ax.legend(loc="best", fontsize=8)
            ax.set_title(labels.text(title_key, lang), loc="left", fontsize=10)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{base_year + x:.0f}"))
            ax.xaxis.label.set_visible(False)  # Mesa labels it "Step"; the ticks are years
            if kind == "rate":
                ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{100 * y:.0f}%"))
                ax.set_ylabel("%")
            else:
                ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y / 1e4:,.0f}"))
                ax.set_ylabel(labels.text("unit_10k_persons", lang))
        return post_process

    return [
        make_plot_component(["resident_population", "registered_population"],
                            post_process=finish("title_population", "people")),
        make_plot_component(["resident_urbanization_rate", "registered_urbanization_rate"],
                            post_process=finish("title_urbanization", "rate")),
    ]


# ------------------------------------------------------------------ matplotlib helpers

FIGSIZE = (6.0, 3.5)  # inches at 100 dpi: fits a SolaraViz panel


def _figure(height: float = FIGSIZE[1], **margins: float) -> Figure:
    """A panel's figure with fixed margins: a layout engine would measure every text again
    at each of the page's redraws (a third of the drawing time)."""
    fig = Figure(figsize=(FIGSIZE[0], height), dpi=100)
    fig.subplots_adjust(**{"left": 0.12, "right": 0.97, "bottom": 0.1, "top": 0.9} | margins)
    return fig


def _show(fig: Figure) -> None:
    solara.FigureMatplotlib(fig, format="png")


def _year_axis(ax: Any) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))


# ------------------------------------------------------------------ panels

@solara.component
def ScenarioPanel(model: ExplorerModel) -> None:
    """The scenario, the levers moved, lever values not applied, the year, the time the
    last year took, and the Save button."""
    update_counter.get()  # re-render after every step (Mesa's signal)
    lang = model.lang
    saved, set_saved = solara.use_state("")
    run = model.scenario.run
    persons = len(model.city.state.persons)

    def save() -> None:
        try:
            set_saved(text("saved", lang, path=model.save()))
        except OSError as e:
            set_saved(text("save_failed", lang, error=e))

    moved = [f"<li>{_esc(LEVERS_BY_NAME[name].text(lang))}: <b>{_esc(plain_text(value))}</b>"
             "</li>" for name, value in model.moved.items()]
    base_note = (f" ({text('base_year', lang)})" if model.year == model.base_year else "")
    timing = (text("agents", lang, agents=persons, scale=run.scale, weight=1 / run.scale)
              if model.step_seconds is None else
              text("step_time", lang, seconds=model.step_seconds, agents=persons,
                   scale=run.scale))
    with solara.Card(f"{text('scenario', lang)}: {model.base.name}"):
        solara.HTML(tag="div", unsafe_innerHTML=(
            f'<p><b>{text("year", lang)}: <span class="hukou-year">{model.year}</span></b>'
            f"{_esc(base_note)}<br>{_esc(model.base.description)}</p>"
            f"<p><b>{_esc(text('levers_moved', lang))}</b></p>"
            f'<ul class="hukou-moved">{"".join(moved) or "<li>" + _esc(text("none_moved", lang))}'
            f'</ul><p class="hukou-step-time">{_esc(timing)}</p>'))
        if model.problems:
            solara.Warning(f"{text('problems', lang)}: " + "; ".join(model.problems))
        with solara.Row():
            solara.Button(text("save", lang), color="primary", on_click=save,
                          classes=["hukou-save"])
            solara.Text(text("save_hint", lang))
        if saved:
            solara.HTML(tag="div", classes=["hukou-saved"], unsafe_innerHTML=_esc(saved))


def _esc(s: object) -> str:
    return html.escape(str(s))


LEVERS_BY_NAME = {lever.name: lever for lever in LEVERS_BY_ARG.values()}


@solara.component
def FiguresTable(model: ExplorerModel) -> None:
    """This year's figures: one row per figure, one column per area and the city. Each cell
    carries its exact value (``data-value``) for tests and copying."""
    update_counter.get()
    lang = model.lang
    table = model.current
    head = "".join(f'<th{" class=hukou-city" if a == model.areas.city_id else ""}>'
                   f"{_esc(labels.area(a, lang))}</th>" for a in table.index)
    rows = []
    for f in FIGURES:
        scale = _scale_of(model, f)
        cells = "".join(
            f'<td data-area="{a}" data-value="{_raw(table.at[a, f])}"'
            f'{" class=hukou-city" if a == model.areas.city_id else ""}>'
            f"{_esc(format_value(table.at[a, f], scale, lang, unit=False))}</td>"
            for a in table.index)
        rows.append(f'<tr data-figure="{f}"><th>{_esc(figure_label(f, lang))} '
                    f"<small>({_esc(scale.unit(lang))})</small></th>{cells}</tr>")
    with solara.Card(text("figures_title", lang, year=model.year)):
        solara.HTML(tag="div", unsafe_innerHTML=(
            f'<table class="hukou-figures"><tr><th></th>{head}</tr>{"".join(rows)}</table>'))


def _scale_of(model: ExplorerModel, figure: str) -> Scale:
    """One unit per figure for all areas: the one that suits the city's value."""
    return scale_for(figure_kind(figure), model.history.loc[
        model.history["figure"] == figure, "value"].to_numpy())


def _raw(value: float) -> str:
    return "" if pd.isna(value) else repr(float(value))


@solara.component
def SettlementsChart(model: ExplorerModel) -> None:
    """Settlements per year by channel (clauses 四–七, 十五), stacked, for the city."""
    update_counter.get()
    lang = model.lang
    data = model.series("settlements", by_category=True)
    with chart_style(lang):
        fig = _figure(right=0.6)
        ax = fig.subplots()
        if not data.empty:
            wide = data.pivot(index="year", columns="category", values="value").fillna(0)
            order = category_order("settlements", list(wide.columns))
            scale = scale_for("people", wide.sum(axis=1).to_numpy())
            bottom = np.zeros(len(wide))
            for channel, color in zip(order, colors(len(order)), strict=True):
                values = wide[channel].to_numpy() / scale.factor
                ax.bar(wide.index, values, bottom=bottom, color=color,
                       label=labels.category("settlements", channel, lang))
                bottom += values
            ax.set_ylabel(scale.unit(lang))
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
        ax.set_title(labels.text("title_settlements", lang), loc="left")
        _year_axis(ax)
        ax.yaxis.set_major_formatter(GroupedFormatter())
    _show(fig)


@solara.component
def CostChart(model: ExplorerModel) -> None:
    """The city's public-service cost and the incremental cost of citizenization per year,
    side by side (their sizes differ by an order of magnitude)."""
    update_counter.get()
    lang = model.lang
    with chart_style(lang):
        fig = _figure(top=0.8, wspace=0.45)
        axes = fig.subplots(1, 2)
        for ax, name, color in zip(axes, ("public_service_cost", "incremental_cost"),
                                   colors(2), strict=True):
            data = model.series(name).dropna()
            scale = scale_for("money", data["value"].to_numpy())
            ax.plot(data["year"], data["value"] / scale.factor, marker="o", ms=3, color=color)
            ax.set_title(labels.indicator(name, lang), loc="left", fontsize=9)
            ax.set_ylabel(scale.unit(lang))
            _year_axis(ax)
            ax.yaxis.set_major_formatter(GroupedFormatter())
        fig.suptitle(text("cost_title", lang), x=0.01, ha="left", fontsize=10)
    _show(fig)


@solara.component
def AreaFinanceChart(model: ExplorerModel) -> None:
    """This year's linkage transfer (clause 十六) and fiscal gap of each area, side by side."""
    update_counter.get()
    lang = model.lang
    table = model.current.loc[list(model.areas.ids), ["linkage_transfer", "fiscal_gap"]]
    with chart_style(lang):
        fig = _figure(left=0.31, bottom=0.15)
        ax = fig.subplots()
        scale = scale_for("money", table.fillna(0).to_numpy().ravel())
        y = np.arange(len(table))
        for k, (name, color) in enumerate(zip(table.columns, colors(2), strict=True)):
            ax.barh(y + (k - 0.5) * 0.38, table[name].fillna(0) / scale.factor, height=0.38,
                    color=color, label=figure_label(name, lang))
        ax.set_yticks(y, [labels.area(a, lang) for a in table.index])
        ax.invert_yaxis()
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlabel(scale.unit(lang))
        ax.xaxis.set_major_formatter(GroupedFormatter())
        ax.grid(axis="x", alpha=0.35)
        ax.legend(loc="lower right", fontsize=7)
        ax.set_title(text("finance_title", lang, year=model.year), loc="left")
    _show(fig)


# Schematic places of the areas, (x, y, width, height) with north up; not to scale. An area
# of areas.toml missing here is drawn in a row below, so adding an area needs no code.
MAP_LAYOUT: dict[str, tuple[float, float, float, float]] = {
    "panshan": (0.0, 1.5, 2.4, 2.5),       # Panshan County: the north and west
    "shuangtaizi": (2.4, 2.9, 1.6, 1.1),   # the old town, north of the centre
    "xinglongtai": (2.4, 1.5, 1.6, 1.4),   # the oil city's centre
    "dawa": (4.0, 1.5, 2.0, 2.5),          # Dawa District: the east
    "liaodongwan": (2.0, 0.6, 4.0, 0.9),   # Liaodong Bay New Area: the coast, inside Dawa
}
map_figure = solara.reactive("resident_urbanization_rate")  # one per browser session


@solara.component
def AreaMap(model: ExplorerModel) -> None:
    """The five areas as a schematic map, coloured by a chosen figure of the year. The
    values are those of the district and county governments, the model's Mesa agents."""
    update_counter.get()
    lang = model.lang
    values = {g.area_id: g.figures.get(map_figure.value, math.nan) for g in model.agents}
    finite = np.array([v for v in values.values() if math.isfinite(v)])
    scale = scale_for(figure_kind(map_figure.value), finite)
    with solara.Card():
        names = {figure_label(f, lang): f for f in FIGURES}
        solara.Select(text("map_title", lang), value=figure_label(map_figure.value, lang),
                      values=list(names), on_value=lambda label: map_figure.set(names[label]))
        with chart_style(lang):
            fig = _figure(3.0, left=0.01, right=0.99, bottom=0.02, top=0.92)
            ax = fig.subplots()
            diverging = len(finite) and finite.min() < 0 < finite.max()
            top = float(np.abs(finite).max()) if len(finite) else 1.0
            norm = (Normalize(-top, top) if diverging else
                    Normalize(float(finite.min()) if len(finite) else 0.0, top or 1.0))
            cmap = colormaps["RdBu_r" if diverging else "YlGnBu"]
            ax.add_patch(Rectangle((0, 0), 6.0, 0.6, color="#dcebf5", lw=0))
            ax.text(0.1, 0.3, text("sea", lang), va="center", fontsize=8, color="#4a6f8a",
                    style="italic")
            spare = 0.0
            for area in model.areas.ids:
                x, y, w, h = MAP_LAYOUT.get(area, (spare, -1.0, 1.5, 0.9))
                spare += 0 if area in MAP_LAYOUT else 1.5
                v = values.get(area, math.nan)
                face = cmap(norm(v)) if math.isfinite(v) else (0.9, 0.9, 0.9, 1.0)
                ax.add_patch(Rectangle((x, y), w, h, facecolor=face, edgecolor="white",
                                       lw=2))
                dark = math.isfinite(v) and sum(face[:3]) < 1.5
                shown = format_value(v, scale, lang) if math.isfinite(v) else text("no_data", lang)
                ax.text(x + w / 2, y + h / 2, f"{labels.area(area, lang)}\n{shown}",
                        ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
            ax.set_xlim(0, 6.0)
            ax.set_ylim(min(-1.0 if spare else 0.0, 0.0), 4.0)
            ax.set_aspect("equal")
            ax.axis("off")
            bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.8)
            bar.ax.yaxis.set_major_formatter(FuncFormatter(
                lambda v, _: f"{v / scale.factor:,.{1 if scale.factor != 1 else 0}f}"))
            bar.set_label(scale.unit(lang))
            ax.set_title(f"{figure_label(map_figure.value, lang)}, {model.year}", loc="left",
                         fontsize=9)
            ax.text(5.9, 0.3, text("map_note", lang), ha="right", va="center", fontsize=7,
                    color="0.4")
        _show(fig)


@solara.component
def HouseholdPanel(model: ExplorerModel) -> None:
    """One sampled migrant household's head: `sim.explanation.explain` for the year, in the
    page's language (the conditions' wording is explain's, in English)."""
    update_counter.get()
    lang = model.lang
    d = model.explanation()
    h, lives = d["hukou"], d["lives"]
    kind = text("urban" if h["urban"] else "rural", lang)
    if h["area"] == "outside":
        hukou = text("hukou_outside", lang, kind=kind, origin=h["origin"])
    else:
        hukou = text("hukou_here", lang, area=labels.area(h["area"], lang), kind=kind)
    if h["settled_channel"]:
        hukou += "; " + text("settled", lang, year=h["settled_year"],
                             channel=labels.category("settlements", h["settled_channel"],
                                                     lang))
    area = labels.area(lives["area"], lang) if lives["area"] != "outside" else lives["area"]
    intro = text("household_intro", lang, pid=d["person_id"], size=d["household_size"])
    where = text("lives", lang, area=area, place=lives["place"],
                 years=lives["residence_years"], hukou=hukou)
    out = [f"<p>{_esc(intro)}<br>{_esc(where)}</p>"]
    if len(model.followed) > 1:
        out.append(f"<p><i>{_esc(text('household_resampled', lang))}</i></p>")

    def item(passed: bool, title: str, verdict: str, failed: list[dict]) -> str:
        reasons = "".join(f"<li>{_esc(f['reason'])}</li>" for f in failed)
        return (f'<li class="{"hukou-pass" if passed else "hukou-fail"}">'
                f"{'✔' if passed else '✘'} <b>{_esc(title)}</b>: {_esc(verdict)}"
                + (f"<ul>{reasons}</ul>" if reasons else "") + "</li>")

    items = [item(c["passed"], labels.category("settlements", name, lang),
                  text("passes" if c["passed"] else "fails", lang), c["failed"])
             for name, c in d["channels"].items()]
    rp = d["residence_permit"]
    items.append(item(rp["may_hold"], text("permit", lang),
                      text("permit_holds", lang, years=rp["years"]) if rp["holds"]
                      else text("permit_none", lang), rp["failed"]))
    out.append(f'<ul class="hukou-explain">{"".join(items)}</ul>')
    b = d["behaviour"]
    behaviour = text("behaviour", lang, intention=b["intention"],
                     intends=text("intends" if b["intends"] else "does_not_intend", lang),
                     aware=text("yes" if b["aware"] else "no", lang), act=b["chance_to_act"])
    out.append(f"<p>{_esc(behaviour)}</p>")
    if text("reasons_lang", lang):
        out.append(f"<p><i>{_esc(text('reasons_lang', lang))}</i></p>")
    with solara.Card(text("household_title", lang, year=model.year)):
        solara.HTML(tag="div", unsafe_innerHTML="".join(out))


def panels(lang: str, base_year: int) -> list[Any]:
    """Every panel of the page, in the order they are laid out (two per row)."""
    return [ScenarioPanel, FiguresTable, *city_plot_components(lang, base_year),
            SettlementsChart, CostChart, AreaFinanceChart, AreaMap, HouseholdPanel]
