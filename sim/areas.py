"""The areas (districts, county, functional zone) the model reports on.

The list is read from ``sim/data/areas.toml``; code refers to areas by their
index in that list (the ``area`` column of `sim.population.Persons`).

Example
-------
>>> areas = load_areas()
>>> areas.ids[0], areas.city_id
('shuangtaizi', 'panjin')
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Areas:
    ids: tuple[str, ...]
    name_zh: tuple[str, ...]
    name_en: tuple[str, ...]
    kind: tuple[str, ...]
    statistical_unit: tuple[str, ...]
    city_id: str
    city_name_zh: str
    city_name_en: str
    # year from which an area's county-seat town counts as urban district (撤县设区), or None
    county_seat_becomes_district: tuple[int | None, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, area_id: str) -> int:
        """Index of an area id; a clear error lists the valid ids."""
        try:
            return self.ids.index(area_id)
        except ValueError:
            raise ValueError(f"unknown area {area_id!r}; valid areas: "
                             f"{', '.join(self.ids)}") from None


@cache
def load_areas() -> Areas:
    """The areas of ``sim/data/areas.toml``, in file order."""
    text = resources.files("sim.data").joinpath("areas.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    rows = data["area"]
    return Areas(
        ids=tuple(r["id"] for r in rows),
        name_zh=tuple(r["name_zh"] for r in rows),
        name_en=tuple(r["name_en"] for r in rows),
        kind=tuple(r["kind"] for r in rows),
        statistical_unit=tuple(r["statistical_unit"] for r in rows),
        city_id=data["city"]["id"],
        city_name_zh=data["city"]["name_zh"],
        city_name_en=data["city"].get("name_en", data["city"]["id"]),
        county_seat_becomes_district=tuple(r.get("county_seat_becomes_district")
                                           for r in rows),
    )
