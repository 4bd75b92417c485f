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

from sim.areas import load_areas

LANGS = ("en", "zh")

# indicator -> (English, Chinese)
INDICATORS: dict[str, tuple[str, str]] = {
    "resident_population": ("Resident population", "常住人口"),
    "registered_population": ("Registered population", "户籍人口"),
    "registered_urban_population": ("Registered urban population", "城镇户籍人口"),
    "registered_population_aged_60_plus": ("Registered population aged 60 and over",
                                           "60岁及以上户籍人口"),
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

# The shipped scenarios (scenarios/*.toml): names and, for Chinese, descriptions.
SCENARIOS: dict[str, tuple[str, str]] = {
    "reform_2015": ("Reform as written (2015)", "户籍改革（按53号文）"),
    "pre_reform": ("Rules before the reform", "改革前政策"),
    "strict_insurance": ("Strict insurance years", "严格社保年限"),
    "no_collective_household": ("No community collective households", "不设社区集体户"),
    "land_for_hukou": ("Land rights for hukou", "以退出土地权益换落户"),
    "generous_permit": ("Generous residence permit", "宽松居住证"),
    "full_opening": ("Full opening", "全面放开落户"),
}
SCENARIO_DESCRIPTIONS: dict[str, str] = {
    "reform_2015": "盘政发〔2015〕53号按文件实施，2016年起生效（默认情景）",
    "pre_reform": ("盘政发〔2015〕53号之前的规定：仅限自有住房，无社区集体户，有投资额门槛，"
                   "无居住证"),
    "strict_insurance": "城区落户要求缴纳城镇社会保险满3年（第五条取法定上限）",
    "no_collective_household": "改革但不设社区集体户（关闭第九条）",
    "land_for_hukou": "落户须退出农村土地权益（关闭原则二.2）",
    "generous_permit": "居住证一次性享有全部服务（无居住年限、社保年限要求）",
    "full_opening": "城镇和城区的常住人口均可落户（仅凭居住）",
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
    "transfer_total": ("Transfer payment (all kinds)", "转移支付（合计）"),
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
               "statistics).\nScenario “{scenario}”, {scale}; {runs}.",
               "来源：hukou-sim {version} 模拟结果（非官方统计）。\n"
               "情景“{scenario}”，{scale}；{runs}。"),
    "scale_is": ("scale {scale} (one agent stands for {persons} persons)",
                 "抽样比例 {scale}（每个主体代表 {persons} 人）"),
    "scale_unknown": ("scale not recorded", "抽样比例未记录"),
    "spawn_keys": ("{seed} (spawn keys {keys})", "{seed}（派生序号 {keys}）"),
    "runs_one": ("one run, seed {seeds}", "单次运行，随机种子 {seeds}"),
    "runs_many": ("{n} runs, seeds {seeds}; line = mean, band = {band}",
                  "{n} 次运行，随机种子 {seeds}；线为均值，阴影为{band}"),
    "runs_stacked": ("{n} runs, seeds {seeds}; bars stack the means",
                     "{n} 次运行，随机种子 {seeds}；柱为均值的堆叠"),
    "band_minmax": ("lowest to highest of {n} runs (too few runs for a 5–95% band)",
                    "{n} 次运行的最小值至最大值（运行次数太少，不足以给出 5%–95% 区间）"),
    "band_pct": ("5th–95th percentile of {n} runs", "{n} 次运行的 5%–95% 分位区间"),
    "band_low": ("lowest of {n} runs", "{n} 次运行最小值"),
    "band_high": ("highest of {n} runs", "{n} 次运行最大值"),
    "band_p5": ("5th percentile of {n} runs", "{n} 次运行 5% 分位数"),
    "band_p95": ("95th percentile of {n} runs", "{n} 次运行 95% 分位数"),
    "prices": ("Money in yuan at {year} prices.", "金额按 {year} 年价格计算。"),
    "reform_start": ("{year}: reform (盘政发〔2015〕53号) in force",
                     "{year}年：盘政发〔2015〕53号开始实施"),
    "small_scale_panel": ("scale {scale}: noisy", "比例 {scale}：波动大"),
    "observed": ("Observed (census, bulletins)", "实际统计值（普查、公报）"),
    "gap_legend": ("Fiscal gap = cost borne − linkage transfer (above 0: shortfall)",
                   "财力缺口 = 承担的新增支出 − 挂钩转移支付（大于 0 为缺口）"),
    # The budget workbook: sheet names (at most 31 characters), titles, notes, About.
    "sheet_about": ("About this run", "运行说明"),
    "sheet_summary": ("Summary (city)", "全市汇总"),
    "sheet_areas": ("{name} - areas", "{name}-分区县"),
    "sheet_city": ("{name} - city", "{name}-全市"),
    "sheet_ranges": ("Ranges across runs", "多次运行区间"),
    "sheet_parameters": ("Parameters", "参数"),
    "sheet_sources": ("Sources", "资料来源"),
    "family_cost_service": ("Cost by service", "分项目支出"),
    "family_cost_payer": ("Cost by payer", "分承担方支出"),
    "family_incremental": ("Incremental cost", "市民化新增支出"),
    "family_incremental_payer": ("Incremental by payer", "新增支出按承担方"),
    "family_transfers": ("Transfers and gap", "转移支付与缺口"),
    "family_settlements": ("Settlements", "落户"),
    "title_summary": ("Key figures of {city} by year", "{city}主要指标（分年度）"),
    "title_areas": ("{name} by district and county (the five areas add up to the city)",
                    "{name}（分区县，五个区县之和为全市）"),
    "title_city": ("{name}: {city} total by year", "{name}：{city}合计（分年度）"),
    "title_ranges": ("How far the runs spread: {band}", "各次运行的离散程度：{band}"),
    "title_parameters": ("Parameters of the run, with their sources",
                         "本次运行的参数及来源"),
    "title_sources": ("Sources cited by the parameters", "参数引用的资料来源"),
    "title_about": ("About this run", "运行说明"),
    "note_one": ("Scenario “{scenario}”, one run. {money}",
                 "情景“{scenario}”，单次运行。{money}"),
    "note_many": ("Scenario “{scenario}”: every value is the mean of {n} runs, so parts add "
                  "up to totals; the spread of the runs is in the sheet “{ranges}”. {money}",
                  "情景“{scenario}”：各数值为 {n} 次运行的均值，分项之和等于合计；各次运行的"
                  "离散程度见“{ranges}”表。{money}"),
    "note_money": ("Money in {unit} at {year} prices.", "金额单位：{unit}，按 {year} 年价格计算。"),
    "note_small_scale": ("Caution: scale {scale}: one agent stands for {persons} persons, so "
                         "a district's figures move in steps of {persons}; read small "
                         "changes as noise.",
                         "注意：抽样比例 {scale}，每个主体代表 {persons} 人，区县数字以 {persons} "
                         "人为单位跳动，小幅变化属随机波动。"),
    "note_parameters": ("Descriptions and sources are given as in the parameter files "
                        "(English); [keys] refer to the sheet “{sources}”.",
                        "说明与来源沿用参数文件原文（英文）；方括号中的代号见“{sources}”表。"),
    "col_parameter": ("Parameter", "参数"),
    "col_value": ("Value", "取值"),
    "col_unit": ("Unit", "单位"),
    "col_description": ("Description", "说明"),
    "col_source": ("Source", "来源"),
    "col_assumption": ("Assumption", "假设"),
    "col_key": ("Key", "代号"),
    "col_title": ("Title", "标题"),
    "col_publisher": ("Publisher", "发布者"),
    "col_address": ("Address", "网址或出处"),
    "col_item": ("Item", "项目"),
    "col_indicator": ("Indicator", "指标"),
    "col_mean": ("Mean", "均值"),
    "about_scenario": ("Scenario", "情景"),
    "about_description": ("Description", "情景说明"),
    "about_file": ("Scenario file", "情景文件"),
    "about_scale": ("Scale", "抽样比例"),
    "about_runs": ("Runs (replicates)", "运行次数"),
    "about_means": ("Values", "数值"),
    "about_means_one": ("The figures of one run; a rerun with another seed differs by chance.",
                        "单次运行的结果；换随机种子重新运行会有随机差异。"),
    "about_means_many": ("Means of {n} runs: parts add up to totals and areas to the city. "
                         "The sheet “{ranges}” gives {band}.",
                         "{n} 次运行的均值：分项之和等于合计，区县之和等于全市。"
                         "“{ranges}”表给出{band}。"),
    "about_seeds": ("Seeds", "随机种子"),
    "about_years": ("Years", "年份"),
    "about_prices": ("Prices", "价格基期"),
    "about_prices_text": ("Money in yuan at {year} prices, shown in {unit} (hukou-sim run "
                          "--money yuan|wan|yi).",
                          "金额按 {year} 年价格计算，以{unit}显示"
                          "（hukou-sim run --money yuan|wan|yi）。"),
    "about_city": ("City totals", "全市合计"),
    "about_city_text": ("Sheets “… - areas” hold the five districts and counties only (no city "
                        "row, so a column sum over a year gives the city); the city's totals "
                        "are in the sheets “… - city” and “{summary}”.",
                        "“…-分区县”表只含五个区县（不含全市行，按年度求和即为全市）；全市合计见"
                        "“…-全市”表和“{summary}”表。"),
    "about_gap": ("Fiscal gap", "财力缺口"),
    "about_gap_text": ("Incremental cost of citizenization borne by {payers}, minus the "
                       "citizenization-linkage transfer. Above zero: a shortfall the district or "
                       "county budget must fund; below zero: the transfer exceeds that cost.",
                       "由{payers}承担的市民化新增支出减去市民化挂钩转移支付。大于零：区县预算"
                       "需自筹的缺口；小于零：转移支付超过该项支出。"),
    "about_transfers": ("Transfer payments", "转移支付"),
    "about_transfers_text": ("Three kinds, clause 十六: the citizenization-linkage transfer "
                             "(市民化挂钩, follows settlers; the only one the fiscal gap "
                             "counts), the equalization transfer (均衡性) and the county basic "
                             "financial guarantee (县级基本财力保障). “Transfer payment (all "
                             "kinds)” is their sum, far larger than the linkage alone. The "
                             "central citizenization reward is reported apart.",
                             "第十六条规定的三类：市民化挂钩转移支付（随落户人口变化，财力缺口只计"
                             "此项）、均衡性转移支付和县级基本财力保障。“转移支付（合计）”为三者之和，"
                             "远大于挂钩转移支付本身。中央市民化奖励资金单列。"),
    "about_version": ("Model version", "模型版本"),
    "about_commit": ("Code commit", "代码提交编号"),
    "about_created": ("Run finished", "运行完成时间"),
    "about_nature": ("Nature of the figures", "数据性质"),
    "about_nature_text": ("A simulation of a scenario, not official statistics.",
                          "情景模拟结果，非官方统计数据。"),
    "unknown": ("not recorded", "未记录"),
    "compare_title": ("Scenario comparison", "情景比较"),
    "compare_intro": ("Each scenario against the first one ({base}): the city's key figures "
                      "in selected years, then the difference for every area and year. With "
                      "several runs values are means and a difference has a 90% confidence "
                      "interval in brackets. Differences are taken between the rounded "
                      "figures shown. Money in {unit} at {year} prices; rates in percent, "
                      "their differences in percentage points.",
                      "各情景与第一个情景（{base}）比较：先列选定年份的全市主要指标，再列各区县"
                      "各年度的差值。多次运行时取均值，方括号内为差值的 90% 置信区间。差值按显示的"
                      "四舍五入数计算。金额单位：{unit}，按 {year} 年价格计算；比率以百分比表示，"
                      "其差值以百分点表示。"),
    "compare_scenarios": ("Scenarios", "情景"),
    "compare_year": ("{year}", "{year}年"),
    "compare_charts": ("Charts", "图表"),
    "compare_run": ("run folder", "运行目录"),
    "compare_indicator": ("Indicator", "指标"),
    "scenario": ("Scenario", "情景"),
    "description": ("Description", "说明"),
    "seeds": ("Seeds", "随机种子"),
    "replicates": ("Replicates", "重复次数"),
    "version": ("Model version", "模型版本"),

    "compare_source": ("Source: hukou-sim {version} model output (a simulation, not official "
                       "statistics).\n{runs}.",
                       "来源：hukou-sim {version} 模拟结果（非官方统计）。\n{runs}。"),
    "compare_key": ("{other} vs {base}: key figures of {city}",
                    "{other} 与 {base}：{city}主要指标"),
    "compare_by_area": ("{indicator}: {other} − {base}, by area ({unit})",
                        "{indicator}：{other} − {base}，分区县（{unit}）"),
    "compare_difference": ("Difference", "差值"),
    "compare_interval": ("90% interval", "90% 置信区间"),
    "compare_differences": ("Differences", "差值"),
    "compare_diff_title": ("Differences from {base}, every area and year",
                           "与 {base} 的差值（各区县、各年度）"),
    "compare_rounding": ("Values are rounded as shown and differences are taken between the "
                         "rounded values; the interval is the 90% confidence interval of the "
                         "mean difference (empty with a single run).",
                         "数值按显示位数四舍五入，差值按四舍五入后的数计算；区间为平均差值的 90% "
                         "置信区间（单次运行时为空）。"),
    "compare_other": ("Scenario value", "比较情景数值"),
    "compare_diff_unit": ("Unit of difference", "差值单位"),
    "compare_low": ("Interval low", "区间下限"),
    "compare_high": ("Interval high", "区间上限"),
    "compare_no_interval": ("{other} vs {base}: one of the runs has a single replicate, so the "
                            "differences have no interval and may be chance; rerun both with "
                            "--replicates 5 or more.",
                            "{other} 与 {base}：其中一次运行只有单次重复，差值没有置信区间，可能"
                            "只是随机差异；请用 --replicates 5 以上重新运行两者。"),
    "compare_unpaired": ("{other} vs {base}: the runs used different seeds or numbers of "
                         "replicates, so the intervals are Welch intervals (not paired by seed) "
                         "and wider.",
                         "{other} 与 {base}：两次运行的随机种子或重复次数不同，区间按 Welch 方法"
                         "计算（未按种子配对），较宽。"),
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


def pick(pair: tuple[str, str], lang: str) -> str:
    """The ``lang`` half of an (English, Chinese) pair.

    >>> pick(("Total", "合计"), "zh")
    '合计'
    """
    return pair[LANGS.index(check_lang(lang))]


def indicator(name: str, lang: str = "en") -> str:
    """Label of an indicator; an unknown indicator keeps its name."""
    return pick(INDICATORS[name], lang) if name in INDICATORS else name


def kind(name: str) -> str:
    """What an indicator measures: ``"people"``, ``"rate"`` or ``"money"``."""
    return KINDS.get(name, "people")


def category(indicator_name: str, value: str, lang: str = "en") -> str:
    """Label of a breakdown (channel, service, payer, mechanism) of an indicator."""
    table = CATEGORY_TABLES.get(indicator_name, {})
    return pick(table[value], lang) if value in table else value


def area(area_id: str, lang: str = "en") -> str:
    """Name of an area or of the city, from ``sim/data/areas.toml``."""
    areas = load_areas()
    if area_id == areas.city_id:
        return pick((areas.city_name_en, areas.city_name_zh), lang)
    if area_id in areas.ids:
        i = areas.index(area_id)
        return pick((areas.name_en[i], areas.name_zh[i]), lang)
    return area_id


def scenario(name: str, lang: str = "en") -> str:
    """Name of a shipped scenario in the language; any other scenario keeps its name."""
    return pick(SCENARIOS[name], lang) if name in SCENARIOS else name


def description(name: str, text: str, lang: str = "en") -> str:
    """A scenario's description: the file's own, or for a shipped scenario in Chinese
    its translation."""
    return pick((text, SCENARIO_DESCRIPTIONS[name]), lang) if name in \
        SCENARIO_DESCRIPTIONS else text


def text(key: str, lang: str = "en", **fields: object) -> str:
    """A chart title or phrase, with ``{field}`` placeholders filled in.

    >>> text("compare_year", "zh", year=2020)
    '2020年'
    """
    return pick(TEXT[key], lang).format(**fields)
