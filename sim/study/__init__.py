"""Studies of many runs: summaries of ensembles, posterior draws, sweeps, sensitivity
analysis and scenario discovery. They execute their runs with `sim.experiments`."""


class StudyError(Exception):
    """A study cannot run as asked (bad sweep file, output, design or folder): one line
    naming the file or option, what is wrong and what is allowed."""
