"""Step 10: the transfer-payment linkage and the fiscal gap (clause 十六).

Clause 十六 asks the city to size its transfers to districts and counties
(市对下转移支付) by the whole population, registered and floating, and by the
extra public-service spending it brings; to keep improving the linkage of those
transfers to citizenization (市对下转移支付与农业转移人口市民化挂钩机制); to grow
the equalization transfer (均衡性转移支付) every year; and to improve the county
basic financial guarantee (县级基本财力保障机制). Each is a configurable mechanism
here (``fiscal.*`` parameters). The linkage formula is not published, so its
defaults follow the principles of the central reward fund's rules, 财预〔2022〕60号:
actual settlers as the core factor, separate rates by origin, earlier years'
settlers phased down (退坡), migrant children in compulsory education (随迁子女)
rewarded, a tilt toward fiscally weak areas.

Money in yuan at 2015 prices; arrays have one value per area (`sim.areas`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.areas import load_areas
from sim.pipeline import Flows, per_area, per_area_by
from sim.pipeline.services import PAYERS, age_band
from sim.population import LIAONING, NONE, OTHER_PROVINCE, OUTSIDE, PANJIN, State

if TYPE_CHECKING:
    from sim.scenario import YearParameters

MECHANISMS = ("linkage", "equalization", "county_guarantee")
POOL_RULES = ("fixed", "growing", "per_settler", "reward")
# Columns of the linkage factor matrix, in order.
LINKAGE_FACTORS = ("settlers_within_city", "settlers_within_province",
                   "settlers_cross_province", "permit_holders", "migrant_pupils")
SETTLER_ORIGINS = (PANJIN, LIAONING, OTHER_PROVINCE)  # ORIGINS order: city, province, other



@dataclass(frozen=True)
class FiscalBase:
    """Base-year general budget revenue of each area (yuan, 2015 prices)."""

    year: int
    revenue: np.ndarray


@cache
def load_fiscal_base() -> FiscalBase:
    """``sim/data/fiscal_base.toml``: city revenue less the city level's own, split by
    each area's share of district/county revenue (areas in `sim.areas` order)."""
    text = resources.files("sim.data").joinpath("fiscal_base.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    areas = load_areas()
    raw = data["area_revenue_jan_apr_2025"]
    missing = set(areas.ids) - set(raw)
    if missing:
        raise ValueError(f"fiscal_base.toml: no revenue share for {sorted(missing)}")
    shares = np.array([raw[a] for a in areas.ids], dtype=float)
    city = data["city"]
    local = city["general_budget_revenue"] * (1.0 - city["city_level_share"])
    return FiscalBase(year=int(data["year"]), revenue=local * shares / shares.sum())


def allocate(pool: float, factors: np.ndarray, weights: Sequence[float] | np.ndarray
             ) -> np.ndarray:
    """Split ``pool`` over areas in proportion to the weighted sum of their factors.

    ``factors`` is areas × factors (or one column), ``weights`` one per factor, both
    non-negative. Largest remainder in units of the pool's last binary digit
    (``np.spacing(pool)``): every amount is a whole number of units, so the amounts add
    up to ``pool`` exactly (``math.fsum``), an area with no factor mass gets nothing, and
    an area's amount never falls when its own factors rise (up to one unit). With no
    factor mass anywhere the pool is split equally.

    >>> allocate(100.0, np.array([[1.0], [3.0]]), [1.0]).tolist()
    [25.0, 75.0]
    """
    f = np.asarray(factors, dtype=float)
    f = f[:, None] if f.ndim == 1 else f
    w = np.asarray(weights, dtype=float)
    if f.shape[1] != len(w):
        raise ValueError(f"allocate: {f.shape[1]} factors but {len(w)} weights")
    if (f < 0).any() or (w < 0).any() or not pool >= 0 or not math.isfinite(pool):
        raise ValueError("allocate: pool, factors and weights must be finite, non-negative")
    score = f @ w
    total = score.sum()
    share = score / total if total > 0 else np.full(len(f), 1.0 / len(f))
    if pool == 0:
        return np.zeros(len(f))
    quantum = float(np.spacing(pool))  # a power of two: units * quantum is exact
    units = round(pool / quantum)
    raw = share * units
    whole = np.floor(raw).astype(np.int64)
    left = units - int(whole.sum())
    if left >= 0:  # one unit each to the largest remainders, any float excess to the largest
        order = np.argsort(-np.where(share > 0, raw - whole, -1.0), kind="stable")
        extra = min(left, int((share > 0).sum()))
        whole[order[:extra]] += 1
        whole[np.argmax(whole)] += left - extra
    else:
        whole[np.argmax(whole)] += left
    return whole.astype(float) * quantum


def phase_down(years_since: np.ndarray, factors: Sequence[float]) -> np.ndarray:
    """Weight of a settler by years since settling (退坡): ``factors[k]`` in year k after
    settling (k = 0 the year of settling), zero once the list runs out."""
    f = np.append(np.asarray(factors, dtype=float), 0.0)  # last slot: no longer counted
    k = np.asarray(years_since)
    return f[np.where((k >= 0) & (k < len(f) - 1), k, len(f) - 1)]


def settlers_by_origin(state: State, factors: Sequence[float], n_areas: int) -> np.ndarray:
    """Phase-weighted settlers per area of their new hukou, areas × origin (city,
    province, other provinces): "how many each district/county citizenized"."""
    t = state.persons
    rows = np.flatnonzero((t.settled_year != NONE) & (t.area != OUTSIDE))  # the few settlers
    weight = t.weight[rows] * phase_down(state.year - t.settled_year[rows].astype(int), factors)
    return per_area_by(t.origin[rows], len(SETTLER_ORIGINS), t.hukou_area[rows], n_areas,
                       weight).T


def migrant_pupils(state: State, p: YearParameters, n_areas: int) -> np.ndarray:
    """Non-local children of compulsory-school age living in each area (随迁子女)."""
    t = state.persons
    pupil = (t.hukou_area == OUTSIDE) & (age_band(t.age, p.services.compulsory_education.ages)
                                         >= 0)
    return per_area(pupil, t.area, n_areas, t.weight)


def residents(state: State, n_areas: int) -> np.ndarray:
    """Resident population per area (registered and floating alike, clause 十六)."""
    t = state.persons
    return per_area(t.area != OUTSIDE, t.area, n_areas, t.weight)


def grown(base: float | np.ndarray, rate: float, years: int) -> Any:
    """``base`` after ``years`` of real growth at ``rate``."""
    return base * (1.0 + rate) ** years


def capacity_tilt(revenue: np.ndarray, population: np.ndarray, exponent: float) -> np.ndarray:
    """Multiplier favouring fiscally weak areas: (city revenue per resident / the area's)
    to the power ``exponent`` (0 = no tilt). Areas without residents get 1."""
    per_head = np.divide(revenue, population, out=np.zeros_like(revenue),
                         where=population > 0)
    mean = revenue.sum() / max(population.sum(), 1e-12)
    ratio = np.divide(mean, per_head, out=np.ones_like(per_head), where=per_head > 0)
    return ratio ** exponent


def citizenization_reward(state: State, p: YearParameters, n_areas: int,
                          pupils: np.ndarray | None = None) -> np.ndarray:
    """Estimated central reward (市民化奖励资金, 财预〔2022〕60号) plus the province's
    matching share, attributed to the area whose settlers and migrant pupils earned it.
    ``pupils``: `migrant_pupils`, if counted already (`step` counts them once for both
    the reward and the linkage)."""
    r = p.fiscal.reward
    rates = np.array([r.rate_within_city, r.rate_within_province, r.rate_cross_province])
    central = (settlers_by_origin(state, r.phase_down, n_areas) @ rates
               + r.pupil_rate * (migrant_pupils(state, p, n_areas) if pupils is None
                                 else pupils))
    return central * (1.0 + r.provincial_match)


def linkage_factors(state: State, p: YearParameters, n_areas: int,
                    pupils: np.ndarray | None = None) -> np.ndarray:
    """Areas × `LINKAGE_FACTORS`: phase-weighted settlers by origin, permit holders,
    migrant pupils (``pupils``, if counted already)."""
    t = state.persons
    permits = per_area(t.permit & (t.hukou_area == OUTSIDE), t.area, n_areas, t.weight)
    return np.column_stack([settlers_by_origin(state, p.fiscal.linkage.phase_down, n_areas),
                            permits, migrant_pupils(state, p, n_areas) if pupils is None
                            else pupils])


def linkage_weights(p: YearParameters) -> np.ndarray:
    """Weights of `LINKAGE_FACTORS` (reward rates relative to a within-city settler)."""
    lk = p.fiscal.linkage
    return np.array([lk.rate_within_city, lk.rate_within_province, lk.rate_cross_province,
                     lk.weight_permit_holder, lk.weight_migrant_pupil])


def linkage_pool(p: YearParameters, years: int, settlers: float, reward: float) -> float:
    """The linkage pool by ``fiscal.linkage.pool_rule``: a fixed sum, a sum growing
    yearly, an amount per phase-weighted settler, or a share of the reward received."""
    lk = p.fiscal.linkage
    rule = lk.pool_rule
    if rule == "fixed":
        return float(lk.pool_amount)
    if rule == "growing":
        return float(grown(lk.pool_amount, lk.pool_growth, years))
    if rule == "per_settler":
        return float(lk.pool_per_settler * settlers)
    if rule == "reward":
        return float(lk.reward_passthrough * reward)
    raise ValueError(f"fiscal.linkage.pool_rule: unknown rule {rule!r}; "
                     f"valid: {', '.join(POOL_RULES)}")


def local_incremental_cost(costs: Flows, payers: Sequence[str], n_areas: int) -> np.ndarray:
    """Incremental service cost (step 9) borne by the given payers."""
    bad = [x for x in payers if x not in PAYERS]
    if bad:
        raise ValueError(f"fiscal.gap_payers: unknown payer(s) {bad}; valid: {PAYERS}")
    return sum((costs.get(("incremental_cost_by_payer", x), np.zeros(n_areas)) for x in payers),
               np.zeros(n_areas))


def step(state: State, p: YearParameters, rng: np.random.Generator | None, costs: Flows) -> Flows:
    """Transfers by mechanism, the citizenization reward and the fiscal gap per area.

    ``costs`` are the flows of `sim.pipeline.services.step` for the same year.
    """
    f = p.fiscal
    n = len(load_areas())
    base = load_fiscal_base()
    years = state.year - base.year
    revenue = grown(base.revenue, f.revenue_growth, years)
    people = residents(state, n)
    extra = local_incremental_cost(costs, f.gap_payers, n)

    pupils = migrant_pupils(state, p, n)
    reward = citizenization_reward(state, p, n, pupils)
    factors = linkage_factors(state, p, n, pupils)
    settlers = factors[:, :len(SETTLER_ORIGINS)].sum()
    pool = linkage_pool(p, years, settlers, reward.sum())
    tilt = capacity_tilt(revenue, people, f.linkage.capacity_tilt)
    linkage = allocate(pool, factors * tilt[:, None], linkage_weights(p))

    standard = (grown(f.standard_spending_per_resident, f.standard_spending_growth, years)
                * people + extra)  # clause 十六: whole population plus the extra spending
    eq_pool = grown(f.equalization.pool, f.equalization.growth, years)
    equalization = allocate(eq_pool, np.maximum(standard - revenue, 0.0), [1.0])

    available = revenue + linkage + equalization
    guarantee = (np.maximum(f.county_guarantee.level * standard - available, 0.0)
                 if f.county_guarantee.enabled else np.zeros(n))
    return {
        ("transfer_payment", "linkage"): linkage,
        ("transfer_payment", "equalization"): equalization,
        ("transfer_payment", "county_guarantee"): guarantee,
        ("citizenization_reward", ""): reward,
        ("fiscal_gap", ""): extra - linkage,
    }

