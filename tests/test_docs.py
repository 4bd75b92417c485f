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
    """Each calibration set's section of docs/calibration.md gives the posterior medians a
    run on that set uses."""
    from sim.calibration import load_config
    from sim.scenario import load_defaults
    from sim.scenario.calibrated import calibration_sets

    report = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    for name in calibration_sets():
        start = report.index(f"<!-- calibration:{name} -->")
        section = report[start:report.index(f"<!-- end calibration:{name} -->", start)]
        p = load_defaults().with_overrides({"run.calibration": name}).at(2016)
        for f in load_config()["free"]:
            row = next(line for line in section.splitlines()
                       if line.startswith(f"| `{f['parameter']}` |"))
            assert f"| {p[f['parameter']]:.4g} |" in row, (name, f["parameter"])
