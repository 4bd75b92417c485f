"""Running a scenario: replicates, worker processes, and the run folder.

A run folder holds ``indicators.csv``, ``validation.csv``, ``manifest.json``,
``charts/``, ``budget.xlsx`` and, written last, ``run_complete.json``. It is
complete or absent: a run writes into a hidden sibling ``.<name>.partial`` and
renames it into place when every output is written (`RunFolder`). It is never
written over: a new run gets a new folder, and an explicit ``--out`` that
already holds files is refused.

Replicates draw independent random streams from the root seed
(`numpy.random.SeedSequence.spawn`), so the output is the same whatever the
number of worker processes.

Example
-------
>>> from sim.scenario import load_defaults
>>> s = load_defaults().with_overrides({"run.scale": 0.002, "run.end_year": 2016})
>>> frame, population_fits = run_replicates(s)
>>> sorted(frame.year.unique().tolist())
[2015, 2016]
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.areas import load_areas
from sim.experiments import (
    Experiment,
    concat_experiments,
    executor_name,
    read_fit,
    replicate_experiments,
    run_experiments,
)
from sim.model import replicate_seed
from sim.scenario import Scenario
from sim.study.posterior import PosteriorDraws
from sim.study.summary import summarize
from sim.validation import fitted_through, validation_table

if TYPE_CHECKING:
    from sim.registry import ImportedPopulation


def run_replicates(scenario: Scenario, workers: int = 1, progress: bool = False,
                   dask: str | None = None, experiments: list[Experiment] | None = None,
                   work: Path | None = None, population: ImportedPopulation | None = None
                   ) -> tuple[pd.DataFrame, list[list[dict]]]:
    """Run every replicate (or the given experiments, e.g. posterior draws); returns the
    indicator table and each run's fit report.

    Runs go through `sim.experiments.run_experiments` (``workers`` processes or a Dask
    cluster, see there); each is stored in ``work`` (default: a temporary folder) as
    it finishes, so the table never depends on the executor.
    """
    if experiments is None:
        experiments = replicate_experiments(scenario.run.replicates)
    with contextlib.ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hukou-sim-")))
        paths = run_experiments(scenario, experiments, work, workers=workers, dask=dask,
                                progress=progress, label=scenario.name,
                                population=population)
        frame = sort_indicators(concat_experiments(paths))
        fits = [read_fit(p) for p in paths]
    return frame, fits


def sort_indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical row order: replicate, year, area (file order, city last), indicator, category."""
    areas = load_areas()
    order = {a: i for i, a in enumerate((*areas.ids, areas.city_id))}
    key = frame.area.map(order)
    frame = frame.assign(_area=key).sort_values(
        ["replicate", "year", "_area", "indicator", "category"], kind="stable")
    return frame.drop(columns="_area").reset_index(drop=True)


# ----------------------------------------------------------------- run folders

COMPLETE_MARKER = "run_complete.json"  # written last; a folder without it is not a run
PARTIAL_SUFFIX = ".partial"
_USER_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES,
                errno.EPERM, errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EEXIST,
                errno.ENOENT, errno.ELOOP}


class RunFolderError(Exception):
    """The output folder cannot be used (it holds an earlier run, cannot be made or written,
    or is not a complete run)."""


def disk_problem(e: OSError, path: Path) -> RunFolderError | None:
    """A disk error (no space, file too large, read-only, permission, path too long …) as a
    one-line user error naming the path; None for an error that is not the user's to fix."""
    if e.errno not in _USER_ERRNOS:
        return None
    name = e.filename if e.filename else path
    return RunFolderError(f"{name}: {e.strerror or e}")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on a folder (flock on its descriptor) for a short claim or rename."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class RunFolder:
    """A run folder being written: a hidden sibling ``.<name>.partial`` that becomes
    ``<name>`` (with its completion marker) only when every output is written.

    Two processes never share one: the partial folder is created with ``mkdir`` (which
    fails if it exists) under a lock on the parent, and held with ``flock`` while the
    run writes; a partial folder whose lock is free belongs to a run that was killed
    and is removed by the next claim in the same parent folder. Linux and macOS
    (``fcntl``).

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with claim_run_folder("s", None, root) as run:
    ...     _ = (run.path / "indicators.csv").write_text("x")
    ...     final = run.complete()
    >>> is_complete(run.final)
    True
    """

    def __init__(self, final: Path, path: Path, fd: int):
        self.final, self.path, self._fd = final, path, fd
        self.completed = False

    def complete(self) -> Path:
        """Write the completion marker and move the folder into place; returns its path."""
        written = sorted((p.relative_to(self.path).as_posix(), p.stat().st_size)
                         for p in self.path.rglob("*") if p.is_file())
        marker = {"finished": datetime.now(UTC).isoformat(timespec="seconds"),
                  "files": [name for name, _ in written],
                  "sizes": dict(written)}  # a file cut short or removed later is noticed
        _write_durably(self.path / COMPLETE_MARKER, json.dumps(marker, indent=2))
        # no interruption between the rename and knowing it happened
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            with _locked(self.final.parent):
                if self.final.exists() and any(self.final.iterdir()):
                    raise RunFolderError(f"{self.final}: the folder was filled by something "
                                         "else during the run; nothing was written")
                os.rename(self.path, self.final)  # replaces the user's empty folder atomically
                self.completed = True
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return self.final

    def abandon(self) -> None:
        """Remove the partial folder (after an error or an interruption)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def release(self) -> None:
        """Release the lock (after complete or abandon)."""
        os.close(self._fd)

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, kind, error, tb) -> bool:
        try:
            if not self.completed:
                self.abandon()
        finally:
            self.release()
        if isinstance(error, OSError):
            problem = disk_problem(error, self.final)
            if problem is not None:
                raise problem from None
        return False


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _partial(final: Path) -> Path:
    return final.parent / f".{final.name}{PARTIAL_SUFFIX}"


def _try_claim(final: Path, empty_ok: bool) -> int | None:
    """Claim `final` (under the parent's lock): its partial folder made and locked, the
    lock's descriptor returned; None if the name is taken (a run, or a run in progress).
    An existing empty folder is taken only if `empty_ok` (the user's own ``--out``)."""
    partial = _partial(final)
    if final.exists() or final.is_symlink():
        if not final.is_dir() or final.is_symlink():
            raise RunFolderError(f"{final}: exists and is not a folder; give a new folder")
        if any(final.iterdir()) or not empty_ok:
            return None
    try:
        partial.mkdir()
    except FileExistsError:
        return None
    fd = os.open(partial, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # cannot fail: we just made it
    return fd


def _remove_stale_partials(parent: Path) -> None:
    """Remove partial folders of killed runs (their lock is free) in `parent`."""
    for p in parent.glob(f".*{PARTIAL_SUFFIX}"):
        try:
            fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a run is writing it
        else:
            shutil.rmtree(p, ignore_errors=True)
        finally:
            os.close(fd)


def claim_run_folder(scenario_name: str, out: Path | None, root: Path = Path("results")
                     ) -> RunFolder:
    """Claim a new run folder: `out`, or ``root/<scenario>/<YYYYmmdd-HHMMSS>[-n]``.

    `out` may not exist yet, or be an empty folder (left in place if the run fails);
    a folder with files, a file, or a folder another run is writing is refused.
    Use as a context manager: the partial folder is removed unless `complete` was called.
    """
    if out is not None:
        candidates: Iterator[Path] = iter([out])
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = root / scenario_name
        candidates = (base / (stamp if n == 1 else f"{stamp}-{n}") for n in range(1, 10_000))
    first = out if out is not None else root / scenario_name / "x"
    try:
        first.parent.mkdir(parents=True, exist_ok=True)
        with _locked(first.parent):
            _remove_stale_partials(first.parent)
            for final in candidates:
                fd = _try_claim(final, empty_ok=out is not None)
                if fd is not None:
                    return RunFolder(final, _partial(final), fd)
    except OSError as e:
        problem = disk_problem(e, first.parent)
        if problem is None:
            raise
        raise RunFolderError(f"{problem} (cannot create the run folder)") from None
    assert out is not None
    if _partial(out).exists():
        raise RunFolderError(f"{out}: another run is writing this folder; give another --out")
    raise RunFolderError(f"{out}: folder already holds files; give a new --out folder "
                         "(earlier runs are never overwritten)")


def is_complete(folder: Path) -> bool:
    """Whether `folder` is a finished run folder (it has its completion marker)."""
    return (folder / COMPLETE_MARKER).is_file()


def _check_sizes(folder: Path) -> None:
    """Every file the completion marker lists still has the size the run wrote (markers
    of older runs without sizes are taken as they are)."""
    try:
        sizes = json.loads((folder / COMPLETE_MARKER).read_text(encoding="utf-8")).get("sizes")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise RunFolderError(f"{folder / COMPLETE_MARKER}: unreadable completion marker; "
                             "the folder is not a complete run") from None
    for name, size in (sizes or {}).items():
        path = folder / name
        if not path.is_file():
            raise RunFolderError(f"{folder}: not a complete run: {name} is missing")
        if path.stat().st_size != size:
            raise RunFolderError(f"{folder}: not a complete run: {name} has "
                                 f"{path.stat().st_size} bytes, the run wrote {size} (cut short "
                                 "or changed since)")


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a finished run folder; a folder that is not one is a `RunFolderError`
    naming what is wrong (no folder, not finished, manifest unreadable or not an object)."""
    if not folder.is_dir():
        raise RunFolderError(f"{folder}: not a run folder (no such folder)")
    if not is_complete(folder):
        raise RunFolderError(f"{folder}: not a complete run (no {COMPLETE_MARKER}: the run "
                             "was interrupted or is still writing)")
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise RunFolderError(f"{path}: cannot read the manifest: {e.strerror}") from None
    except UnicodeDecodeError:
        raise RunFolderError(f"{path}: the manifest is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise RunFolderError(f"{path}: the manifest is not valid JSON ({e.msg}, line "
                             f"{e.lineno})") from None
    if not isinstance(manifest, dict):
        raise RunFolderError(f"{path}: the manifest must be a JSON object, got "
                             f"{type(manifest).__name__}")
    _check_sizes(folder)
    return manifest


def git_commit() -> str | None:
    """The commit of the source tree this package runs from, when it is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_version() -> str:
    try:
        return metadata.version("hukou-sim")
    except metadata.PackageNotFoundError:
        return "unknown"


def execute(scenario: Scenario, workers: int = 1, progress: bool = True,
            lang: str | None = None, dask: str | None = None,
            posterior: PosteriorDraws | None = None,
            population: ImportedPopulation | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run every replicate of the scenario (or ``posterior`` draws × replicates, on
    ``workers`` processes or ``dask``); returns the indicator table and the manifest
    (`sim.run` and ``hukou-sim run`` both start here; `write_folder` writes them).

    With ``population`` (a registry extract) the runs start from it: the manifest records
    its file's name, rows and SHA-256, never its content.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    experiments = (posterior.experiments if posterior is not None
                   else replicate_experiments(scenario.run.replicates))
    frame, population_fits = run_replicates(scenario, workers=workers, progress=progress,
                                            dask=dask, experiments=experiments,
                                            population=population)
    wall = time.perf_counter() - t0
    calibration = scenario.calibration
    validation = validation_table(frame, None if calibration is None else calibration.through)
    manifest = {
        "scenario": scenario.name,
        "description": scenario.description,
        "scenario_file": str(scenario.path) if scenario.path else None,
        "extends_chain": list(scenario.chain),
        "version": package_version(),
        "git_commit": git_commit(),
        "seed": scenario.run.seed,
        "seeds": [{"replicate": e.replicate, "entropy": seed.entropy,
                   "spawn_key": list(seed.spawn_key)}
                  for e in experiments
                  for seed in [replicate_seed(scenario.run.seed, e.stream)]],
        "runs": len(experiments),
        "calibration": None if calibration is None else {
            "set": calibration.name, "through": calibration.through, "doc": calibration.doc},
        "posterior": None if posterior is None else posterior.record,
        "executor": executor_name(workers, dask),
        "replicates": scenario.run.replicates,
        "scale": scenario.run.scale if population is None else population.scale,
        "population": ({"source": "synthetic (sim.synthesis)"} if population is None
                       else population.manifest()),
        "start_year": scenario.run.start_year,
        "end_year": scenario.run.end_year,
        "workers": workers,
        "lang": lang or scenario.lang,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_seconds": round(wall, 3),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "population_fit": population_fits[0],
        "validation": validation.astype(object).where(validation.notna(), None)
                                .to_dict(orient="records"),
        "parameters": scenario.resolved(),
    }
    return frame, manifest


def write_folder(folder: Path, frame: pd.DataFrame, manifest: dict[str, Any],
                 extras: Callable[..., None] | None = None) -> None:
    """Write a run folder from a finished run: ``indicators.csv``, ``validation.csv``,
    ``manifest.json``, and ``extras(frame, manifest, folder, tables=...)`` (charts,
    workbook).

    ``tables`` writes the three files and returns their paths: ``extras`` may call it
    while its chart workers draw, so that the tables do not wait for the charts nor the
    charts for the tables; they are written here if it does not.

    With several runs (replicates, or posterior draws × replicates) it also writes
    ``indicators_summary.csv`` (`sim.study.summary.summarize`).
    """
    written: list[Path] = []

    def tables() -> list[Path]:
        if not written:
            written.append(folder / "indicators.csv")
            frame.to_csv(written[-1], index=False)
            if manifest["runs"] > 1:
                written.append(folder / "indicators_summary.csv")
                summarize(frame).to_csv(written[-1], index=False)
            written.append(folder / "validation.csv")
            validation_table(frame, fitted_through(manifest)).to_csv(written[-1], index=False)
            written.append(folder / "manifest.json")
            written[-1].write_text(json.dumps(manifest, ensure_ascii=False, indent=2,
                                              default=_json_default), encoding="utf-8")
        return written

    if extras is not None:
        extras(frame, manifest, folder, tables=tables)
    tables()


def write_run(scenario: Scenario, folder: Path, workers: int = 1, progress: bool = True,
              lang: str | None = None, extras: Callable[[pd.DataFrame, dict, Path], None]
              | None = None, dask: str | None = None,
              posterior: PosteriorDraws | None = None,
              population: ImportedPopulation | None = None) -> dict[str, Any]:
    """Run the scenario and write its run folder (`execute`, `write_folder`); returns the
    manifest."""
    frame, manifest = execute(scenario, workers=workers, progress=progress, lang=lang,
                              dask=dask, posterior=posterior, population=population)
    write_folder(folder, frame, manifest, extras)
    return manifest


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON-serializable: {type(v).__name__}")
