"""The explorer page: a scenario picker and Mesa's SolaraViz over `ExplorerModel`.

Solara loads this module (``sim.explore.app:Page``) in the server that ``hukou-sim explore``
starts; the page's settings come from the environment (`server.ExploreConfig`). Choosing a
scenario rebuilds the SolaraViz below it, so every lever shows that scenario's value; the
levers themselves are SolaraViz model parameters (its "Model Parameters" card), applied when
the planner presses Reset.
"""

from __future__ import annotations

from pathlib import Path

import solara
from mesa.visualization import SolaraViz

from sim.explore.components import panels, text
from sim.explore.levers import model_params
from sim.explore.model import ExplorerModel
from sim.explore.server import ExploreConfig
from sim.scenario import ScenarioError, load_scenario

CONFIG = ExploreConfig.from_env()

# Chinese text in any browser: the Noto Sans SC file of the charts (package
# pylopdf-fonts-zh-cn), served by `server.serve` under /static/assets/. Mesa's lever sliders:
# the label above the track and the value always shown (Vuetify hides it until dragged).
CSS = """
@font-face { font-family: "Noto Sans SC"; font-display: swap;
  src: url("/static/assets/NotoSansSC-Regular.otf") format("opentype"); }
.v-application, .v-application .title, .v-application [class*="text-"],
.v-application .v-card__title { font-family: Roboto, "Noto Sans SC", sans-serif !important; }
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 1 0 100%; max-width: 100%; height: auto;
  white-space: normal; line-height: 1.3; margin-bottom: 30px; }
.v-input__slider .v-slider__thumb-label-container { display: block !important; }
.v-navigation-drawer .v-text-field .v-label, .v-navigation-drawer .v-select .v-label {
  white-space: normal; overflow: visible; height: auto; line-height: 1.25;
  max-width: 133% !important; }
.v-navigation-drawer .v-text-field .v-label--active {
  transform: translateY(-100%) scale(.75) !important; }
.v-navigation-drawer .v-text-field.v-input { margin-top: 22px; }
.vue-grid-item > div { height: 100%; overflow: auto; }
.hukou-figures { border-collapse: collapse; font-size: 12px; }
.hukou-figures th, .hukou-figures td { padding: 2px 6px; border-bottom: 1px solid #ddd; }
.hukou-figures td { text-align: right; } .hukou-figures th { text-align: left; }
.hukou-figures .hukou-city { font-weight: bold; }
.hukou-explain { font-size: 13px; } .hukou-explain ul { color: #555; }
.hukou-explain .hukou-pass { color: #1b7a3a; }
"""


def scenario_files(config: ExploreConfig) -> list[str]:
    """The scenario files the picker offers: the TOML files beside the starting scenario and
    in the save folder, those that load (a broken file is left out, with a line on the
    server's console)."""
    start = Path(config.scenario)
    candidates = [start, *sorted(start.parent.glob("*.toml")),
                  *sorted(Path(config.save_dir).glob("*.toml"))]
    files: list[str] = []
    for path in candidates:
        if str(path) in files:
            continue
        try:
            load_scenario(path)
        except ScenarioError as e:
            print(f"hukou-sim explore: not offered: {e}", flush=True)
            continue
        files.append(str(path))
    return files


@solara.component
def Page() -> None:
    """The whole page."""
    lang = CONFIG.lang
    chosen = solara.use_reactive(CONFIG.scenario)
    files = solara.use_memo(lambda: scenario_files(CONFIG), [])
    base = solara.use_memo(lambda: load_scenario(chosen.value), [chosen.value])
    seed = base.run.seed if CONFIG.seed is None else CONFIG.seed
    fixed = {"scenario_file": chosen.value, "lang": lang, "save_dir": CONFIG.save_dir}
    model = solara.use_memo(
        lambda: ExplorerModel(**fixed, scale=CONFIG.scale, seed=seed), [chosen.value])
    params = model_params(base, chosen.value, lang, CONFIG.scale, seed) | fixed
    solara.Title(text("page_title", lang))
    solara.Style(CSS)
    with solara.Sidebar(), solara.Card(text("scenario", lang)):
        solara.Select(text("scenario", lang), value=chosen, values=files,
                      classes=["hukou-scenario"])
        solara.Text(text("scenario_hint", lang))
    SolaraViz(model, components=panels(lang, model.base_year), model_params=params,
              name=text("page_title", lang)).key(chosen.value)
