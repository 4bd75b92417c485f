"""Benchmark: what a compiled, fused kernel would gain over our numpy passes (a probe).

The years cost ~9.5× the memory floor (`floor.py`) because each stage makes several numpy
passes over the persons, each writing a temporary array. This probe times one typical
chain on the real state after a simulated year: the services' cell key of every person
(`services._Cells`: area, age, status, village, permit conditions, local schooling packed
into one integer) and the count of persons per cell (``np.bincount``), once as the model
computes it and once as a single loop compiled by numba, which reads each column once and
writes nothing temporary. Both must give identical keys and counts. It also prints
numba's import and first-call cost, paid once by every process (each ensemble worker, each
test process). numba is not a dependency of the package: install it to run this probe
(``pip install numba``).

Run:  python benchmarks/fusion_probe.py [--scale 1.0] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from sim.areas import load_areas
from sim.model import UrbanizationModel
from sim.pipeline import area_index, services
from sim.population import STATUSES, VILLAGE
from sim.scenario import load_defaults


def numpy_chain(state, p, status, conditions, index, n_areas):
    """The model's own code: the cells, then the persons per cell."""
    cells = services._Cells(state, p, status, conditions, index, n_areas)
    return cells.key, np.bincount(cells.key, minlength=cells.size)


def fused_kernel():
    """The same key and counts as one compiled loop over the persons."""
    import numba

    @numba.njit(cache=True)
    def key_and_count(index, age, status, village, conditions, schooled, n_ages, n_statuses,
                      size, bits):
        in_village, met, is_schooled, n_flags = bits  # `services._Cells`'s, not copies
        key = np.empty(index.size, np.int32)
        count = np.zeros(size, np.int64)
        for i in range(index.size):
            flags = (in_village if village[i] else 0) | (met if conditions[i] else 0) | (
                is_schooled if schooled[i] else 0)
            k = ((index[i] * n_ages + max(age[i], 0)) * n_statuses + status[i]) * n_flags \
                + flags
            key[i] = k
            count[k] += 1
        return key, count

    return key_and_count


def best_ms(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        function()
        times.append(time.process_time() - t0)
    return statistics.median(times) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=7, help="timings of each (median)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    try:
        import numba  # noqa: F401
    except ImportError:
        print("fusion_probe: numba is not installed (pip install numba); nothing measured",
              file=sys.stderr)
        return 2
    import_s = time.perf_counter() - t0
    scenario = load_defaults().with_overrides({"run.scale": args.scale, "run.end_year": 2016})
    model = UrbanizationModel(scenario)
    model.step()
    state, p, n = model.state, scenario.at(model.year), len(load_areas())
    t = state.persons
    status = services.status_of(state)
    conditions = services.permit_conditions_met(state, p)
    index = area_index(t.area, n)
    schooled = t.school_years_local >= p.policy.residence_permit.exam_schooling_years
    village = t.place == VILLAGE
    key, count = numpy_chain(state, p, status, conditions, index, n)
    n_ages = int(t.age.max(initial=0)) + 1
    kernel = fused_kernel()
    cells = services._Cells
    arguments = (index, t.age, status, village, conditions, schooled, n_ages, len(STATUSES),
                 count.size, (cells.IN_VILLAGE, cells.MET, cells.SCHOOLED, cells.FLAGS))
    t0 = time.perf_counter()
    fused_key, fused_count = kernel(*arguments)
    first_s = time.perf_counter() - t0
    if not (np.array_equal(key, fused_key) and np.array_equal(count, fused_count)):
        print("fusion_probe: the kernel's keys or counts differ from the model's", file=sys.stderr)
        return 1
    numpy_ms = best_ms(lambda: numpy_chain(state, p, status, conditions, index, n), args.repeat)
    fused_ms = best_ms(lambda: kernel(*arguments), args.repeat)
    print(f"state           {len(t):,} persons (scale {args.scale}), after {model.year}")
    print(f"numpy passes    {numpy_ms:8.1f} CPU ms  (services._Cells and np.bincount, "
          f"median of {args.repeat})")
    print(f"fused kernel    {fused_ms:8.1f} CPU ms  (identical keys and counts)")
    print(f"ratio           {numpy_ms / fused_ms:8.1f}×")
    print(f"numba import    {import_s:8.2f} s; first call {first_s:.2f} s (compiles, or loads "
          "the cached machine code), once per process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
