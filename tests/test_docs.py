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
    from sim.scenario import load_defaults

    report = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    p = load_defaults().at(2016)
    for name in ("behaviour.intention.intercept", "behaviour.settlement.action_rate",
                 "migration.arrival_rate", "migration.hukou_out_rate",
                 "migration.rural_urban_household_rate"):
        assert f"`{name}` = {p[name]:.6g}" in report, name
