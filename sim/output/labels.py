"""English and Chinese labels for indicators, breakdowns, areas and chart text.

The Chinese labels use the wording of the policy (盘政发〔2015〕53号) and of the
State Council's residence-permit regulation: 落户, 居住证, 户籍人口, 常住人口,
市民化, 转移支付 …  Area names come from ``sim/data/areas.toml``; breakdown names
(channels, services, payers, mechanisms) are open-ended, so an unknown name is
shown as it is.

Example
-------
>>> indicator("registered_population", "zh")
'户籍人口'
>>> category("settlements", "talent", "en")
'Talent (clause 六)'
>>> category("public_service_cost", "space_travel", "en")
'space_travel'
>>> area("panshan", "zh")
'盘山县'
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from sim.areas import load_areas

LANGS = ("en", "zh")

# indicator -> (English, Chinese)
INDICATORS: dict[str, tuple[str, str]] = {
    "resident_population": ("Resident population", "常住人口"),
    "registered_population": ("Registered population", "户籍人口"),
    "registered_urban_population": ("Registered urban population", "城镇户籍人口"),
    "resident_urban_population": ("Resident urban population", "城镇常住人口"),
    "resident_urbanization_rate": ("Urbanization rate of the resident population",
                                   "常住人口城镇化率"),
    "registered_urbanization_rate": ("Urbanization rate of the registered population",
                                     "户籍人口城镇化率"),
    "settlements": ("Settlements", "落户人数"),
    "residence_permit_holders": ("Residence-permit holders", "居住证持有人数"),
    "service_users": ("Public-service users", "基本公共服务享受人数"),
    "public_service_cost": ("Public-service cost", "基本公共服务支出"),
    "public_service_cost_by_payer": ("Public-service cost by payer",
                                     "基本公共服务支出（按承担方）"),
    "incremental_cost": ("Incremental cost of citizenization", "市民化新增支出"),
    "transfer_payment": ("Transfer payment", "转移支付"),
    "incremental_cost_by_payer": ("Incremental cost of citizenization by payer",
                                  "市民化新增支出（按承担方）"),
    "citizenization_reward": ("Central citizenization reward", "农业转移人口市民化奖励资金"),
    "fiscal_gap": ("Fiscal gap", "财力缺口"),
    "births": ("Births", "出生人数"),
    "deaths": ("Deaths", "死亡人数"),
    "arrivals": ("Arrivals", "迁入人数"),
    "departures": ("Departures", "迁出人数"),
    "hukou_moves_in": ("Hukou moves in", "户口迁入人数"),
    "hukou_moves_out": ("Hukou moves out", "户口迁出人数"),
}

# What an indicator counts: "people", "rate" (a fraction 0–1) or "money" (yuan).
KINDS: dict[str, str] = {
    "resident_urbanization_rate": "rate",
    "registered_urbanization_rate": "rate",
    "public_service_cost": "money",
    "public_service_cost_by_payer": "money",
    "incremental_cost": "money",
    "incremental_cost_by_payer": "money",
    "citizenization_reward": "money",
    "transfer_payment": "money",
    "fiscal_gap": "money",
}

CHANNELS: dict[str, tuple[str, str]] = {
    "town": ("Designated towns (clause 四)", "建制镇落户（四）"),
    "urban_district": ("Urban districts (clause 五)", "城区落户（五）"),
    "talent": ("Talent (clause 六)", "人才落户（六）"),
    "investment": ("Investment (clause 七)", "投资落户（七）"),
    "urban_village": ("Urban-village conversion (clause 十五)", "城中村改造（十五）"),
}

# The services of `sim.pipeline.services.SERVICES` (clauses 十一–十三).
SERVICES: dict[str, tuple[str, str]] = {
    "compulsory_education": ("Compulsory education", "义务教育"),
    "senior_secondary": ("Senior-secondary schooling (local 中考/高考)",
                         "高中阶段教育（就地中考、高考）"),
    "vocational_training": ("Vocational training", "职业培训"),
    "employment_services": ("Employment services", "就业服务"),
    "medical_insurance": ("Medical insurance", "医疗保险"),
    "basic_public_health": ("Basic public health", "基本公共卫生服务"),
    "residents_pension": ("Residents' pension insurance", "城乡居民养老保险"),
    "minimum_living_allowance": ("Minimum living allowance", "最低生活保障"),
    "medical_assistance": ("Medical assistance", "医疗救助"),
    "housing_security": ("Housing security", "住房保障"),
    "elderly_services": ("Elderly services", "养老服务"),
    "public_culture": ("Public culture", "公共文化服务"),
    "urban_infrastructure": ("Urban infrastructure (one-time, per settler)",
                             "城镇基础设施(一次性)"),
}

PAYERS: dict[str, tuple[str, str]] = {
    "central": ("Central government", "中央财政"),
    "province": ("Province", "省级财政"),
    "city": ("City", "市级财政"),
    "county": ("District / county", "区县财政"),
}

# Transfer mechanisms of clause 十六 (`sim.pipeline.fiscal`).
MECHANISMS: dict[str, tuple[str, str]] = {
    "linkage": ("Citizenization linkage", "市民化挂钩转移支付"),
    "equalization": ("Equalization transfer", "均衡性转移支付"),
    "county_guarantee": ("County basic financial guarantee", "县级基本财力保障"),
}

# Which breakdown table labels the `category` of each indicator.
CATEGORY_TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "settlements": CHANNELS,
    "service_users": SERVICES,
    "public_service_cost": SERVICES,
    "incremental_cost": SERVICES,
    "public_service_cost_by_payer": PAYERS,
    "incremental_cost_by_payer": PAYERS,
    "transfer_payment": MECHANISMS,
}

# Chart titles, axis units and running text; `{name}` fields are filled by `text`.
TEXT: dict[str, tuple[str, str]] = {
    "title_population": ("Registered and resident population", "户籍人口与常住人口"),
    "title_urbanization": ("Urbanization rates", "城镇化率"),
    "title_settlements": ("Settlements per year by channel", "分渠道年度落户人数"),
    "title_permits": ("Residence-permit holders", "居住证持有人数"),
    "title_cost_service": ("Public-service cost by service", "分项目基本公共服务支出"),
    "title_cost_payer": ("Public-service cost by payer", "分承担方基本公共服务支出"),
    "title_fiscal_gap": ("Transfer payment vs incremental cost of citizenization, by area",
                         "分区县转移支付与市民化新增支出"),
    "rate_resident": ("Resident population", "常住人口城镇化率"),
    "rate_registered": ("Registered population", "户籍人口城镇化率"),
    "transfer_total": ("Transfer payment (all mechanisms)", "转移支付（合计）"),
    "transfer_linkage": ("Citizenization-linkage transfer", "市民化挂钩转移支付"),
    "incremental_borne": ("Incremental cost borne by {payers}", "市民化新增支出（{payers}承担）"),
    "and": (" and ", "、"),
    "incremental_total": ("Incremental cost of citizenization", "市民化新增支出"),
    "gap_bar": ("Fiscal gap", "财力缺口"),
    "total": ("Total", "合计"),
    "year": ("Year", "年份"),
    "area": ("Area", "区域"),
    "unit_persons": ("persons", "人"),
    "unit_10k_persons": ("10,000 persons", "万人"),
    "unit_yuan": ("yuan", "元"),
    "unit_10k_yuan": ("10,000 yuan", "万元"),
    "unit_100m_yuan": ("100 million yuan", "亿元"),
    "unit_percent": ("%", "%"),
    "source": ("Source: hukou-sim {version} model output (a simulation, not official "
               "statistics).\nScenario “{scenario}”, {seeds}.",
               "来源：hukou-sim {version} 模拟结果（非官方统计）。\n情景“{scenario}”，{seeds}。"),
    "seed_one": ("seed {seeds}", "随机种子 {seeds}"),
    "seed_many": ("seeds {seeds}; line = median of {n} replicates, band = 5th–95th percentile",
                  "随机种子 {seeds}；线为 {n} 次重复的中位数，阴影为 5%–95% 分位区间"),
    "stack_median": ("seeds {seeds}; bars stack the medians of {n} replicates",
                     "随机种子 {seeds}；柱为 {n} 次重复中位数的堆叠"),
    "prices": ("Money at base-year prices.", "金额按基年价格计。"),
    "compare_title": ("Scenario comparison", "情景比较"),
    "compare_intro": ("Key city-level indicators of each scenario in selected years, side "
                      "by side, and each scenario's difference from the first one ({base}). "
                      "With several replicates, values are medians.",
                      "各情景在选定年份的全市主要指标并列比较，以及各情景与第一个情景（{base}）"
                      "之差。多次重复时取中位数。"),
    "compare_scenarios": ("Scenarios", "情景"),
    "compare_year": ("{year}", "{year}年"),
    "compare_charts": ("Charts", "图表"),
    "compare_run": ("run folder", "运行目录"),
    "compare_indicator": ("Indicator", "指标"),
    "compare_none": ("No indicator is shared by these runs.", "这些运行没有共同指标。"),
    "scenario": ("Scenario", "情景"),
    "description": ("Description", "说明"),
    "seeds": ("Seeds", "随机种子"),
    "replicates": ("Replicates", "重复次数"),
    "version": ("Model version", "模型版本"),

    "compare_source": ("Source: hukou-sim {version} model output (a simulation, not official "
               "statistics).\nScenarios: {runs}. Lines are medians over replicates; bands "
               "span the 5th–95th percentile.",
               "来源：hukou-sim {version} 模拟结果（非官方统计）。\n情景：{runs}。"
               "线为各次重复的中位数，阴影为 5%–95% 分位区间。"),
    "compare_title_city": ("Key indicators by scenario — {area}", "各情景主要指标 — {area}"),
    "compare_title_gap": ("Fiscal gap by area and scenario", "各情景分区县财力缺口"),
    "compare_unit": ("Unit", "单位"),
    "compare_pp": ("percentage points", "个百分点"),
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is a supported language, else raise ``ValueError``."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of: {', '.join(LANGS)}")
    return lang


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[LANGS.index(check_lang(lang))]


def indicator(name: str, lang: str = "en") -> str:
    """Label of an indicator; an unknown indicator keeps its name."""
    return _pick(INDICATORS[name], lang) if name in INDICATORS else name


def kind(name: str) -> str:
    """What an indicator measures: ``"people"``, ``"rate"`` or ``"money"``."""
    return KINDS.get(name, "people")


def category(indicator_name: str, value: str, lang: str = "en") -> str:
    """Label of a breakdown (channel, service, payer, mechanism) of an indicator."""
    table = CATEGORY_TABLES.get(indicator_name, {})
    return _pick(table[value], lang) if value in table else value


@cache
def _city_name_en() -> str:
    # `sim.areas.Areas` carries the city's Chinese name only; read the English one.
    data = tomllib.loads(resources.files("sim.data").joinpath("areas.toml")
                         .read_text(encoding="utf-8"))
    return data["city"].get("name_en", data["city"]["id"])


def area(area_id: str, lang: str = "en") -> str:
    """Name of an area or of the city, from ``sim/data/areas.toml``."""
    areas = load_areas()
    if area_id == areas.city_id:
        return _pick((_city_name_en(), areas.city_name_zh), lang)
    if area_id in areas.ids:
        i = areas.index(area_id)
        return _pick((areas.name_en[i], areas.name_zh[i]), lang)
    return area_id


def text(key: str, lang: str = "en", **fields: object) -> str:
    """A chart title or phrase, with ``{field}`` placeholders filled in.

    >>> text("compare_year", "zh", year=2020)
    '2020年'
    """
    return _pick(TEXT[key], lang).format(**fields)
