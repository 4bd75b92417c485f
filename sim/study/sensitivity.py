"""Global sensitivity analysis with SALib: Morris screening and Sobol' indices.

Designs are drawn by SALib in the unit hypercube and mapped to parameter values
by the sweep file's ranges (`sim.study.design.Parameter.value`); each design
point runs the sweep's replicates (common random numbers) and the indices are
computed on the mean over replicates. Confidence intervals are SALib's bootstrap
intervals (95%).

Designs SALib would compute wrongly are refused before anything runs:

- Morris: an odd number of levels (the jump Δ = p / (2 (p − 1)) then does not
  sample the grid's levels with equal probability; Morris 1991, Saltelli et al.
  2008 §3.3), fewer than 4 trajectories (the bootstrap interval of μ* resamples
  trajectories);
- Sobol': a base sample size that is not a power of 2 (the Sobol' sequence's
  balance properties and the estimators' convergence hold only then; SALib only
  warns), or below 16;
- outputs that do not vary across the design (the indices are 0/0) are reported
  as such rather than as zero sensitivity.

Example (the Ishigami function, whose total-order ranking is x1 > x2 > x3)
-------
>>> from SALib.test_functions import Ishigami
>>> problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[0, 1]] * 3}
>>> unit = design("sobol", problem, 512, seed=1)
>>> x = -np.pi + 2 * np.pi * unit
>>> t = analyze("sobol", problem, unit, Ishigami.evaluate(x), seed=1)
>>> t.sort_values("ST", ascending=False).parameter.tolist()
['x1', 'x2', 'x3']
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sim.study import StudyError

METHODS = ("morris", "sobol")
CONF_LEVEL = 0.95
RESAMPLES = 1000


def check_design(method: str, size: int, levels: int = 4) -> None:
    """Refuse sample sizes and levels for which SALib's indices are not valid."""
    if method == "morris":
        if levels < 2 or levels % 2:
            raise StudyError(f"--levels {levels}: Morris needs an even number of levels "
                             "(4, 6, 8 ...) so that every level is sampled equally")
        if size < 4:
            raise StudyError(f"--trajectories {size}: at least 4 are needed for a bootstrap "
                             "confidence interval of mu*")
    elif method == "sobol":
        if size < 16 or size & (size - 1):
            raise StudyError(f"--samples {size}: Sobol' indices need a base sample size that "
                             "is a power of 2 and at least 16 (16, 32, 64, ...)")
    else:
        raise StudyError(f"--method {method!r}: allowed: {', '.join(METHODS)}")


def problem_of(names: list[str]) -> dict:
    """SALib's problem on the unit hypercube (parameters are mapped by their ranges)."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def runs_needed(method: str, parameters: int, size: int) -> int:
    """Design points of a method: Morris T (d + 1), Sobol' (first and total order) N (d + 2)."""
    return size * (parameters + 1) if method == "morris" else size * (parameters + 2)


def design(method: str, problem: dict, size: int, levels: int = 4, seed: int = 0
           ) -> np.ndarray:
    """The design points (rows) in the unit hypercube."""
    check_design(method, size, levels)
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, size, num_levels=levels, seed=seed)
    from SALib.sample import sobol

    return sobol.sample(problem, size, calc_second_order=False, seed=seed)


def analyze(method: str, problem: dict, unit: np.ndarray, y: np.ndarray, levels: int = 4,
            seed: int = 0) -> pd.DataFrame:
    """Indices of one output with their confidence intervals, one row per parameter.

    Morris: ``mu``, ``mu_star``, ``mu_star_conf``, ``sigma`` (effects per unit of the
    parameter's normalized range); Sobol': ``S1``, ``S1_conf``, ``ST``, ``ST_conf``.
    """
    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).all():
        raise StudyError("the output is not finite in every run (a rate with a zero "
                         "denominator?); choose another output")
    if np.ptp(y) == 0:
        return pd.DataFrame({"parameter": problem["names"], "constant_output": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "morris":
            from SALib.analyze import morris

            r = morris.analyze(problem, unit, y, num_resamples=RESAMPLES,
                               conf_level=CONF_LEVEL, num_levels=levels, seed=seed)
            keys = ["mu", "mu_star", "mu_star_conf", "sigma"]
        else:
            from SALib.analyze import sobol

            r = sobol.analyze(problem, y, calc_second_order=False, num_resamples=RESAMPLES,
                              conf_level=CONF_LEVEL, seed=seed)
            keys = ["S1", "S1_conf", "ST", "ST_conf"]
    return pd.DataFrame({"parameter": problem["names"],
                         **{k: np.asarray(r[k], dtype=float) for k in keys},
                         "constant_output": False})


def ranked(indices: pd.DataFrame, method: str) -> pd.DataFrame:
    """Parameters by importance: μ* (Morris) or total-order index (Sobol'), largest first."""
    key = "mu_star" if method == "morris" else "ST"
    if key not in indices:
        return indices
    return indices.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)


def chart(indices: pd.DataFrame, method: str, path_stem: str) -> list[str]:
    """One horizontal bar panel per output: μ* or S1/ST with their confidence intervals;
    written as PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs = [o for o in dict.fromkeys(indices.output) if
               not indices[indices.output == o].constant_output.all()]
    if not outputs:
        return []
    names = list(dict.fromkeys(indices.parameter))
    fig, axes = plt.subplots(1, len(outputs), figsize=(5.5 * len(outputs), 0.45 * len(names)
                                                       + 1.6), squeeze=False)
    ypos = np.arange(len(names))
    for ax, out in zip(axes[0], outputs, strict=True):
        t = indices[indices.output == out].set_index("parameter").loc[names]
        if method == "morris":
            ax.barh(ypos, t.mu_star, xerr=t.mu_star_conf, color="#4c72b0", capsize=3)
            ax.set_xlabel("μ* (mean |elementary effect| over the parameter's range)")
        else:
            ax.barh(ypos - 0.2, t.ST, 0.4, xerr=t.ST_conf, label="total order ST",
                    color="#4c72b0", capsize=3)
            ax.barh(ypos + 0.2, t.S1, 0.4, xerr=t.S1_conf, label="first order S1",
                    color="#dd8452", capsize=3)
            ax.legend(fontsize=8)
            ax.set_xlabel("Sobol' index")
        ax.set_yticks(ypos, [n.replace("behaviour.", "b.").replace("policy.", "p.")
                             for n in names], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(out, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{'Morris screening' if method == 'morris' else 'Sobol indices'} "
                 f"(bars: {CONF_LEVEL:.0%} bootstrap intervals)", fontsize=10)
    fig.tight_layout()
    paths = []
    for ext in ("png", "svg"):
        fig.savefig(f"{path_stem}.{ext}", dpi=150)
        paths.append(f"{path_stem}.{ext}")
    plt.close(fig)
    return paths
