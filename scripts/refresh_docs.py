"""Refresh the generated parts of the docs after a parameter change or a recalibration.

    python scripts/refresh_docs.py [CALIBRATION_RUN_DIR ...]

- docs/model.md §8: reruns the table generator the document embeds and pastes
  its output (tests/test_docs.py checks that they agree);
- docs/sources.md: the bibliography, rendered from sim/data/sources.toml
  (`sim.sources.render_markdown`; tests/test_sources.py checks it is current);
- with folders written by `hukou-sim calibrate --calibration NAME --out DIR`: the section
  of set NAME in docs/calibration.md (between ``<!-- calibration:NAME -->`` and
  ``<!-- end calibration:NAME -->``) and docs/calibration_fit_NAME.png, from the folder's
  fit report and chart.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MARKER = "python - <<'EOF'   # from the repository root"
END = "\nEOF\n```\n"
NEXT_SECTION = "\n## 9. Calibration and validation"


def refresh_model_tables() -> None:
    path = DOCS / "model.md"
    text = path.read_text(encoding="utf-8")
    start = text.index("\n", text.index(MARKER)) + 1
    end = text.index(END, start)
    out = subprocess.run([sys.executable, "-"], input=text[start:end], capture_output=True,
                         text=True, cwd=ROOT, check=True).stdout
    tables_start = end + len(END)
    text = text[:tables_start] + "\n" + out.strip("\n") + "\n" + text[text.index(NEXT_SECTION):]
    path.write_text(text, encoding="utf-8")


def refresh_sources() -> None:
    from sim.sources import render_markdown

    (DOCS / "sources.md").write_text(render_markdown(), encoding="utf-8")


def refresh_calibration(run: Path) -> None:
    name = json.loads((run / "result.json").read_text(encoding="utf-8"))["calibration"]
    path = DOCS / "calibration.md"
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- calibration:{name} -->\n", f"<!-- end calibration:{name} -->"
    report = (run / "fit_report.md").read_text(encoding="utf-8")
    report = report.replace("# Calibration report\n\n", "", 1).replace("\n## ", "\n### ")
    chart = f"calibration_fit_{name}.png"
    section = f"{report}\n![model vs observed, set {name}]({chart})\n"
    head, rest = text[:text.index(start) + len(start)], text[text.index(end):]
    path.write_text(head + section + rest, encoding="utf-8")
    shutil.copy(run / "fit.png", DOCS / chart)


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        refresh_calibration(Path(folder))
    refresh_model_tables()
    refresh_sources()
