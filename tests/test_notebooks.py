"""The analysts' notebook runs as shipped (its code cells, in order)."""

import json
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_code_cells_run(path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(NOTEBOOKS)  # notebooks open scenarios relative to their folder
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    namespace: dict = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)
    assert len(namespace["model"].indicators()) > 0  # the notebook's run produced indicators
