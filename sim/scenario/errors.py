"""Error messages of scenario and defaults files: `ScenarioError` and how values are shown.

Every problem in a scenario, defaults or overrides "file" is one `ScenarioError`
``"<file>: <field>: <problem>"``; the command line prints it as one line with
exit code 2. The helpers here word the problem the same way everywhere.
"""

from __future__ import annotations

import difflib
import json
import os
from typing import Any


class ScenarioError(Exception):
    """A problem in a scenario or defaults file: ``"<file>: <field>: <problem>"``.

    >>> str(ScenarioError("a.toml", "run.seed", "must be an integer"))
    'a.toml: run.seed: must be an integer'
    """

    def __init__(self, file: str | os.PathLike, field: str | None, problem: str):
        super().__init__(str(file), field, problem)  # args keep it picklable
        self.file, self.field, self.problem = str(file), field, problem

    def __str__(self) -> str:
        return f"{self.file}: {self.field + ': ' if self.field else ''}{self.problem}"


def show(v: Any, limit: int = 60) -> str:
    """A value as TOML would write it, shortened to `limit` characters.

    >>> show([1, "a", True, {"x": 2.5}])
    '[1, "a", true, {x = 2.5}]'
    """
    if isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, str):
        s = json.dumps(v, ensure_ascii=False)
    elif isinstance(v, list | tuple):
        s = "[" + ", ".join(show(x, limit) for x in v) + "]"
    elif hasattr(v, "items"):  # a dict or a read-only Params view
        s = "{" + ", ".join(f"{k} = {show(x, limit)}" for k, x in v.items()) + "}"
    else:
        s = str(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def kind(v: Any) -> str:
    """What TOML type a value has, for "got …" messages (``kind(1) == "an integer"``)."""
    for t, name in ((bool, "a boolean"), (int, "an integer"), (float, "a float"),
                    (str, "a string"), (list, "a list"), (tuple, "a list"), (dict, "a table")):
        if isinstance(v, t):
            return name
    return f"a {type(v).__name__}"


def unknown(key: str, valid: list[str], what: str = "key") -> str:
    """"unknown key 'x'; did you mean 'y'? (valid: …)" with the nearest valid name.

    >>> unknown("sed", ["seed", "scale"])
    "unknown key 'sed'; did you mean 'seed'? (valid: seed, scale)"
    """
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    shown = ", ".join(valid[:15]) + (", …" if len(valid) > 15 else "")
    return f"unknown {what} {key!r}{hint} (valid: {shown or 'none'})"
