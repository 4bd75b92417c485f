"""The bibliography: every citation in sim/data resolves, and docs/sources.md is current."""

from pathlib import Path

import pytest

from sim import sources

ROOT = Path(__file__).parent.parent


def test_every_citation_in_the_data_files_resolves():
    assert sources.check_citations() == []


def test_every_source_field_is_checked():
    """The walk finds the fields of every kind of data file (so an empty problem list
    means something): parameters, base data, targets and fiscal base."""
    files = {c.file for c in sources.data_citations()}
    assert {"base_2015.toml", "observations.toml", "calibration.toml",
            "fiscal_base.toml", "parameters/services.toml", "parameters/policy.toml"} <= files


@pytest.mark.parametrize("text, problem", [
    ("Dawa bulletin [no-such-key]", "unknown source key [no-such-key]"),
    ("Dawa District 2021 statistical bulletin", "cites no source key"),
])
def test_a_bad_source_is_reported(monkeypatch, text, problem):
    bad = sources.Citation("parameters/x.toml", "a.b.source", text)
    monkeypatch.setattr(sources, "data_citations", lambda: iter([bad]))
    [line] = sources.check_citations()
    assert line.startswith("sim/data/parameters/x.toml: a.b.source: ") and problem in line


def test_an_assumption_needs_no_key_but_its_keys_must_resolve(monkeypatch):
    ok = [sources.Citation("f.toml", "x.source", "assumption: no figure found"),
          sources.Citation("f.toml", "x.assumption", "a guess")]
    monkeypatch.setattr(sources, "data_citations", lambda: iter(ok))
    assert sources.check_citations() == []
    bad = [sources.Citation("f.toml", "x.assumption", "a guess [nowhere]")]
    monkeypatch.setattr(sources, "data_citations", lambda: iter(bad))
    assert "unknown source key [nowhere]" in sources.check_citations()[0]


def test_no_data_file_points_outside_the_package():
    """The package stands alone: no citation of the development workspace's notes."""
    for path in (ROOT / "sim" / "data").rglob("*.toml"):
        text = path.read_text(encoding="utf-8")
        for word in ("FACTS.md", "CLAUSES.md", "DESIGN.md", "shared/"):
            assert word not in text, f"{path.relative_to(ROOT)} mentions {word}"


def test_every_entry_is_complete():
    for s in sources.load_sources().values():
        assert s.title and s.publisher and s.address and 1900 < s.year < 2100, s.key


def test_sources_doc_is_current():
    """docs/sources.md is rendered from sim/data/sources.toml: after editing the
    bibliography or a citation, run `python scripts/refresh_docs.py`."""
    assert (ROOT / "docs" / "sources.md").read_text(encoding="utf-8") == \
        sources.render_markdown()
