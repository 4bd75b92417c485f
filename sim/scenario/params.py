"""Read-only views of parameters: `Params` (a group) and `YearParameters` (one year).

``scenario.at(year)`` returns a `YearParameters`; pipeline steps read it as
``p.policy.urban_district.insurance_years``. The views cannot be changed, so a
step cannot alter the policy of a later year by accident.
"""

from __future__ import annotations

from typing import Any

from sim.scenario.errors import unknown


class Params:
    """Read-only nested parameters: ``p.policy.urban_district.insurance_years``,
    ``p["policy.urban_district.insurance_years"]``, ``"policy" in p``, ``list(p)``.

    >>> p = Params({"a": Params({"b": 1}, "a")})
    >>> p.a.b, p["a.b"], p.to_dict()
    (1, 1, {'a': {'b': 1}})
    """

    __slots__ = ("_data", "_path")

    def __init__(self, data: dict[str, Any], path: str = ""):
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_path", path)

    def _missing(self, key: str) -> str:
        where = f"{self._path}.{key}" if self._path else key
        return f"{where}: " + unknown(key, list(self._data), "name")

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(self._missing(key)) from None

    def _walk(self, key: str) -> tuple[bool, Any, str]:
        """Follow a dotted path: ``(True, value, "")``, or ``(False, node, part)`` where
        ``node`` lacks ``part``."""
        node: Any = self
        for part in key.split("."):
            if not isinstance(node, Params) or part not in node._data:
                return False, node, part
            node = node._data[part]
        return True, node, ""

    def __getitem__(self, key: str) -> Any:
        found, node, part = self._walk(key)
        if not found:
            raise KeyError(node._missing(part) if isinstance(node, Params) else key)
        return node

    def __contains__(self, key: object) -> bool:
        # no error message built for a missing key: the services ask ``"x" in group`` for
        # optional parameters every year, and the message's nearest-name search is slow
        return isinstance(key, str) and self._walk(key)[0]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def items(self):
        return self._data.items()

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"parameters are read-only (tried to set {key!r})")

    def __delattr__(self, key: str) -> None:
        raise AttributeError("parameters are read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Params) and self._data == other._data

    __hash__ = None  # type: ignore[assignment]

    def __dir__(self) -> list[str]:
        return list(self._data)

    def __reduce__(self):
        return (type(self), (self._data, self._path))

    def __repr__(self) -> str:
        return f"Params({self._path or 'root'}: {', '.join(self._data)})"

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts and lists (JSON-able)."""
        return {k: plain(v) for k, v in self._data.items()}


def plain(v: Any) -> Any:
    """Params, tuples and dicts as plain nested dicts and lists (JSON-able)."""
    if isinstance(v, Params):
        return v.to_dict()
    if isinstance(v, tuple | list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


class YearParameters(Params):
    """The parameters in force in one year (``.year``)."""

    __slots__ = ("_year",)

    def __init__(self, data: dict[str, Any], year: int):
        super().__init__(data, "")
        object.__setattr__(self, "_year", year)

    @property
    def year(self) -> int:
        return self._year

    def __reduce__(self):
        return (YearParameters, (self._data, self._year))

    def __repr__(self) -> str:
        return f"YearParameters({self._year}: {', '.join(self._data)})"


def wrap(tree: dict[str, Any], path: str = "") -> Params:
    """Nested dicts as nested `Params` (each knowing its dotted path, for messages)."""
    return Params({k: wrap(v, f"{path}.{k}" if path else k) if isinstance(v, dict) else v
                   for k, v in tree.items()}, path)
