"""The yearly pipeline, one module per step, in the order `sim.model` runs them.

Every step has the signature ``step(state, p, rng) -> Flows``: it updates the
state in place through the module's pure functions and returns the year's
flows (event counts, costs, transfers) per area. One step differs, and says
why: ``fiscal.step(state, p, rng, costs)`` also takes the year's service costs
from ``services.step``, since transfers are computed from them. ``divisions``,
``services`` and ``fiscal`` draw no random numbers (their ``rng`` may be None).

The order (DESIGN.md's eleven steps) lives in one place, `UrbanizationModel.step`.

``ByArea`` maps ``(indicator, category)`` to an array with one value per area
(``category`` is ``""`` when there is no breakdown): ``Flows`` are the year's
events, ``stocks`` the end-of-year state, both of this type. City totals are
added by `sim.pipeline.indicators`, so steps never compute them.
"""

from __future__ import annotations

import numpy as np

ByArea = dict[tuple[str, str], np.ndarray]
Flows = ByArea  # a year's events by area


def rows_of(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """``values`` of the persons ``rows`` (all of them when None, without a copy): how the
    stages that may work on some rows only read a column."""
    return values if rows is None else values[rows]


def area_index(area: np.ndarray, n_areas: int) -> np.ndarray:
    """Area codes as bincount bins, with one overflow bin (``n_areas``) for rows
    outside Panjin; compute it once when many sums share the same rows."""
    index = area.astype(np.intp)
    index[(index < 0) | (index >= n_areas)] = n_areas
    return index


def uniform_weight(weights: np.ndarray) -> float | None:
    """The weight every agent carries, if they all carry the same (a synthetic population:
    1/scale), else None (an imported extract may differ).

    A sum of ``k`` equal float32 weights is then ``k`` times the weight exactly, in any
    order: a float32 has 24 significant bits, so every partial sum ``j × w`` (``j`` below
    2**29) is a float64 without rounding. Sums of weights can so be counted instead
    (integers, one byte-sized key a row) and give the same bits as the weighted sums.

    >>> uniform_weight(np.full(3, 1 / 0.03, np.float32)) == float(np.float32(1 / 0.03))
    True
    >>> uniform_weight(np.array([1.0, 2.0], np.float32)) is None
    True
    """
    if weights.dtype != np.float32 or not weights.size or len(weights) >= 2**29:
        return None
    first = weights[0]
    return float(first) if weights.min() == first == weights.max() else None


def counts_by_area(area: np.ndarray, code: np.ndarray, n_codes: int, n_areas: int
                   ) -> np.ndarray | None:
    """Persons per area and code (``code`` in ``0..n_codes-1``, uint8), ``n_areas`` ×
    ``n_codes``, counted in one byte-sized key a person ((area + 1) × ``n_codes`` + code);
    rows outside Panjin are left out. None when the key does not fit a byte (too many
    areas or codes, or area codes wider than a byte): the caller sums weights instead.

    With `uniform_weight`, count × weight is the weighted sum to the bit, at a pass over
    bytes instead of over 8-byte area indices and weights.

    >>> counts_by_area(np.array([0, 1, -1, 1], np.int8), np.array([1, 0, 1, 1], np.uint8),
    ...                2, 2).tolist()
    [[0, 1], [1, 1]]
    """
    if n_codes * (n_areas + 1) > BYTE_KEYS or area.dtype.itemsize != 1:
        return None  # (a wider area code could wrap in a byte)
    key = area.astype(np.uint8) + np.uint8(1)  # OUTSIDE (-1) becomes 0, the bin left out
    key[key > n_areas] = 0
    key *= np.uint8(n_codes)
    key += code
    return np.bincount(key, minlength=n_codes * (n_areas + 1)).reshape(
        n_areas + 1, n_codes)[1:]


BYTE_KEYS = 256  # the keys of `counts_by_area`: one byte


def sum_by_area(index: np.ndarray, weights: np.ndarray, n_areas: int) -> np.ndarray:
    """Sum of ``weights`` per area, given `area_index`."""
    return np.bincount(index, weights=weights, minlength=n_areas + 1)[:n_areas]


def per_area(values: np.ndarray, area: np.ndarray, n_areas: int,
             weights: np.ndarray | None = None, index: np.ndarray | None = None
             ) -> np.ndarray:
    """Sum of ``weights`` (or of ``values`` where it is boolean) per area.

    Rows with an area outside ``0..n_areas-1`` (people living outside Panjin)
    are ignored. ``index``: `area_index` of ``area``, if computed already for other sums.
    ``weights`` may be the persons' float32 ``weight`` column as it is: the sums are in
    float64 all the same (`numpy.bincount` widens each weight exactly), without a float64
    copy of the column per call (a pass over everyone, for a few deaths or permits).

    >>> per_area(np.array([True, True, False]), np.array([0, 1, 1]), 2).tolist()
    [1.0, 1.0]
    """
    if values.dtype == np.bool_:
        rows = np.flatnonzero(values)
        if 2 * rows.size < values.size:  # few rows (deaths, settlers): sum those only
            w = np.ones(rows.size) if weights is None else weights[rows]
            return sum_by_area(area_index(area[rows], n_areas) if index is None
                               else index[rows], w, n_areas)
        # many rows (the residents): counted per area, times the one weight they all
        # carry (`uniform_weight`: the same bits), where the key fits a byte
        weight = 1.0 if weights is None else uniform_weight(weights)
        counts = (None if weight is None or index is not None
                  else counts_by_area(area, values.view(np.uint8), 2, n_areas))
        if counts is not None:
            return counts[:, 1] * weight
        w = values.astype(np.float64) if weights is None else np.where(values, weights, 0.0)
    else:
        w = values if weights is None else values * np.asarray(weights, np.float64)
    return sum_by_area(area_index(area, n_areas) if index is None else index, w, n_areas)


def per_area_by(codes: np.ndarray, n_codes: int, area: np.ndarray, n_areas: int,
                weights: np.ndarray) -> np.ndarray:
    """Sum of ``weights`` per code and area, ``n_codes`` × ``n_areas``, in one pass: the
    rows of ``per_area(codes == c, area, n_areas, weights)`` for every code ``c`` (a
    channel, an origin). Rows with a code outside ``0..n_codes-1`` (`NONE`) or an area
    outside Panjin are ignored.

    >>> per_area_by(np.array([0, 1, -1, 1]), 2, np.array([0, 1, 1, 1]), 2,
    ...             np.array([1.0, 2.0, 4.0, 8.0])).tolist()
    [[1.0, 0.0], [0.0, 10.0]]
    """
    key = np.where((codes >= 0) & (codes < n_codes), codes, n_codes).astype(np.intp)
    key = key * (n_areas + 1) + area_index(area, n_areas)
    sums = np.bincount(key, weights=weights, minlength=(n_codes + 1) * (n_areas + 1))
    return sums.reshape(n_codes + 1, n_areas + 1)[:n_codes, :n_areas]
