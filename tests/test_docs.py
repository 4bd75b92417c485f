"""The documentation says what the code and data say."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
MARKER = "python - <<'EOF'   # from the repository root"  # as in scripts/refresh_docs.py


def test_parameter_tables_in_model_doc_are_current():
    """docs/model.md §8 is the output of the generator it embeds; after a parameter
    change or a recalibration, run scripts/refresh_docs.py."""
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    start = text.index("\n", text.index(MARKER)) + 1
    end = text.index("\nEOF\n```\n", start)
    done = subprocess.run([sys.executable, "-"], input=text[start:end], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    tables = text[end + len("\nEOF\n```\n"):text.index("\n## 9. Calibration and validation")]
    assert tables.strip() == done.stdout.strip()


def test_calibration_report_matches_calibrated_values():
    """docs/calibration.md's posterior medians are the values every run uses."""
    from sim.calibration import load_config
    from sim.scenario import load_defaults

    report = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    p = load_defaults().at(2016)
    for f in load_config()["free"]:
        name = f["parameter"]
        row = next(line for line in report.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"| {p[name]:.4g} |" in row, name
