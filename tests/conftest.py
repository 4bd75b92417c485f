"""Shared fixtures: one small-scale run reused by the tests that only read it."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.model import UrbanizationModel
from sim.scenario import Scenario, load_defaults

SMALL = {"run.scale": 0.01, "run.end_year": 2022}


def small_scenario(**overrides: object) -> Scenario:
    """The default parameters on 1% of the city, 2015–2022 (about 14,000 agents)."""
    return load_defaults().with_overrides({**SMALL, **overrides})


@pytest.fixture(scope="session")
def small_run() -> tuple[UrbanizationModel, pd.DataFrame]:
    model = UrbanizationModel(small_scenario())
    model.run()
    return model, model.indicators()


@pytest.fixture
def simulated(monkeypatch) -> list[str]:
    """The keys of the experiments simulated from now on (the runner's in-process path)."""
    import sim.experiments

    keys: list[str] = []
    real = sim.experiments.simulate

    def spy(base, experiment, progress=None, **options):
        keys.append(experiment.key)
        return real(base, experiment, progress, **options)

    monkeypatch.setattr(sim.experiments, "simulate", spy)
    return keys
