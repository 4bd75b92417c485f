"""The label tables: every Chinese label is Chinese, every placeholder in both halves."""

from __future__ import annotations

import re
import string

import pytest

from sim.output import labels

TABLES = {"INDICATORS": labels.INDICATORS, "CHANNELS": labels.CHANNELS,
          "SERVICES": labels.SERVICES, "PAYERS": labels.PAYERS,
          "MECHANISMS": labels.MECHANISMS, "SCENARIOS": labels.SCENARIOS,
          "TEXT": labels.TEXT}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff]")
# Words a Chinese label may keep: units, the program's name and options, symbols.
LATIN_OK = re.compile(r"hukou-sim run --money yuan\|wan\|yi|hukou-sim|--replicates|Welch|\{\w+\}")


@pytest.mark.parametrize("table", TABLES)
def test_every_chinese_label_is_translated(table: str) -> None:
    for key, (en, zh) in TABLES[table].items():
        assert en and zh, (table, key)
        rest = LATIN_OK.sub("", zh)
        assert not re.search(r"[A-Za-z]{2,}", rest), (table, key, zh)
        if re.search(r"[A-Za-z]{2,}", LATIN_OK.sub("", en)):    # words, not only symbols
            assert CJK.search(zh), (table, key, zh)


@pytest.mark.parametrize("table", TABLES)
def test_both_halves_have_the_same_placeholders(table: str) -> None:
    def fields(s: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(s) if f}
    for key, (en, zh) in TABLES[table].items():
        assert fields(en) == fields(zh), (table, key)


def test_shipped_scenarios_have_chinese_descriptions() -> None:
    assert set(labels.SCENARIO_DESCRIPTIONS) == set(labels.SCENARIOS)
    assert labels.description("reform_2015", "as written", "zh").startswith("盘政发")
    assert labels.description("my_variant", "my text", "zh") == "my text"
    assert labels.scenario("my_variant", "zh") == "my_variant"


def test_every_text_key_is_used() -> None:
    """No dead labels: every key of TEXT appears in the output code."""
    from pathlib import Path

    code = "".join(p.read_text(encoding="utf-8")
                   for p in Path(labels.__file__).parent.glob("*.py"))
    unused = [k for k in labels.TEXT if f'"{k}"' not in code.replace(
        f'"{k}": (', "") and f"'{k}'" not in code]
    assert unused == []
