"""hukou-sim: agent-based scenarios of the Panjin hukou reform (盘政发〔2015〕53号).

The main entry points:

- `sim.scenario.load_scenario` — read and validate a scenario file;
- `sim.model.UrbanizationModel` — the Mesa model, one step per year;
- `sim.runner.write_run` — run replicates and write a run folder.
"""

__version__ = "0.1.0"
