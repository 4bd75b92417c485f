"""Run folders are complete or absent (issue 16): atomic claim and rename, signals,
disk errors and the user's mistakes around folders, each as one line with exit 2."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim.output
import sim.runner
from sim.cli import main
from sim.runner import (
    COMPLETE_MARKER,
    RunFolderError,
    claim_run_folder,
    is_complete,
    read_manifest,
)

TINY = 'name = "tiny"\n[run]\nend_year = 2016\nscale = 0.002\n'
ROOT = Path(__file__).parent.parent


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


def leftovers(folder: Path) -> list[str]:
    """Everything under `folder`, hidden partial folders included."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# ------------------------------------------------------------ a complete folder

def test_a_complete_run_has_every_output_and_its_marker(scenario, tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 0
    for name in ("indicators.csv", "validation.csv", "manifest.json", "budget.xlsx",
                 COMPLETE_MARKER):
        assert (out / name).is_file(), name
    assert any((out / "charts").glob("*.png"))  # SVG only with --svg
    marker = json.loads((out / COMPLETE_MARKER).read_text(encoding="utf-8"))
    assert {"indicators.csv", "budget.xlsx", "manifest.json"} <= set(marker["files"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_broken_chart_module_fails_the_run_instead_of_skipping_charts(scenario, tmp_path,
                                                                         monkeypatch, capsys):
    """Issue 17 item 4: no silent return on ImportError."""
    monkeypatch.setitem(sys.modules, "sim.output.charts", None)  # import fails
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 1
    assert "sim.output.charts" in capsys.readouterr().err
    assert not out.exists() and leftovers(tmp_path) == ["tiny.toml"]


# ------------------------------------------------------------ claiming

def _claim_and_finish(root: str, barrier, queue) -> None:
    barrier.wait()
    try:
        with claim_run_folder("s", None, Path(root)) as run:
            (run.path / "who.txt").write_text(str(os.getpid()))
            time.sleep(0.05)
            queue.put(str(run.complete()))
    except RunFolderError as e:
        queue.put(f"error: {e}")


def _claim_out(out: str, barrier, queue) -> None:
    barrier.wait()
    try:
        with claim_run_folder("s", Path(out)) as run:
            (run.path / "who.txt").write_text(str(os.getpid()))
            time.sleep(0.3)
            queue.put(str(run.complete()))
    except RunFolderError as e:
        queue.put(f"error: {e}")


def _race(target, arg: str, n: int) -> list[str]:
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=target, args=(arg, barrier, queue)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    return [queue.get(timeout=5) for _ in procs]


def test_concurrent_runs_never_share_a_default_folder(tmp_path):
    results = _race(_claim_and_finish, str(tmp_path), 6)
    assert len(set(results)) == 6, results
    folders = [Path(r) for r in results]
    assert all(is_complete(f) for f in folders)
    assert len({(f / "who.txt").read_text() for f in folders}) == 6
    assert [p.name for p in (tmp_path / "s").iterdir() if p.name.startswith(".")] == []


def test_concurrent_runs_with_the_same_out_one_wins(tmp_path):
    out = tmp_path / "run"
    results = _race(_claim_out, str(out), 4)
    won = [r for r in results if not r.startswith("error")]
    assert won == [str(out)], results
    assert all("another run is writing" in r or "already holds files" in r
               for r in results if r.startswith("error"))


def test_a_killed_runs_partial_folder_is_cleared_by_the_next_claim(tmp_path):
    """SIGKILL leaves a hidden partial folder without a marker; nothing accepts it, and
    the next run in the same place removes it (its lock died with the process)."""
    code = ("import sys, time; from pathlib import Path; from sim.runner import "
            "claim_run_folder as c; r = c('s', Path(sys.argv[1])); "
            "(r.path / 'indicators.csv').write_text('half'); print('ready', flush=True); "
            "time.sleep(60)")
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "ready"
    partial = tmp_path / ".run.partial"
    with pytest.raises(RunFolderError, match="another run is writing"):
        claim_run_folder("s", out)  # alive: its partial folder is not touched
    proc.kill()
    proc.wait()
    assert partial.is_dir() and not out.exists()
    with pytest.raises(RunFolderError, match="not a complete run"):
        read_manifest(partial)
    with claim_run_folder("s", out) as run:
        assert list(run.path.iterdir()) == []
        run.complete()
    assert leftovers(tmp_path) == ["run", f"run/{COMPLETE_MARKER}"]


# ------------------------------------------------------------ signals

def test_sigterm_while_writing_outputs_keeps_nothing(scenario, tmp_path, monkeypatch, capsys):
    import sim.cli

    def terminated(frame, manifest, folder, **options):
        (folder / "charts").mkdir()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("SIGTERM was not handled")

    monkeypatch.setattr(sim.output, "write_outputs", terminated)
    out = tmp_path / "mine"
    out.mkdir()  # the user's own empty folder is left alone
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 143
    assert "terminated; nothing was kept" in capsys.readouterr().err
    assert leftovers(tmp_path) == ["mine", "tiny.toml"]
    assert signal.getsignal(signal.SIGTERM) is not sim.cli._terminate  # restored


def test_sigint_while_simulating_keeps_nothing(scenario, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.runner, "run_replicates", interrupted)
    assert main(["run", str(scenario), "--out", str(tmp_path / "run"), "--quiet"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert leftovers(tmp_path) == ["tiny.toml"]


def test_sigterm_to_a_running_process(tmp_path):
    """A real SIGTERM during the simulation: exit 143, no folder, no partial folder."""
    path = tmp_path / "long.toml"
    path.write_text('name = "long"\n[run]\nend_year = 2100\nscale = 0.002\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(path), "--out",
                             str(tmp_path / "run")], stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    for line in proc.stderr:  # text mode splits tqdm's carriage-return updates too
        if re.search(r"\| 0\.\d+/1 runs", line):  # the progress bar is past a year
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(60) == 143, rest
    assert "terminated" in rest and "Traceback" not in rest
    assert leftovers(tmp_path) == ["long.toml"]


# ------------------------------------------------------------ disk errors

def test_file_size_limit_is_a_user_error_with_no_partial_file(scenario, tmp_path):
    """``ulimit -f`` (RLIMIT_FSIZE): the first large write fails; one line, exit 2."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000))

    done = subprocess.run([sys.executable, "-m", "sim", "run", str(scenario), "--out",
                           str(tmp_path / "run"), "--quiet"], capture_output=True, text=True,
                          preexec_fn=limit, env={**os.environ, "PYTHONPATH": str(ROOT)})
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert err[-1].startswith("hukou-sim: error: ") and "File too large" in err[-1]
    assert str(tmp_path / "run") in err[-1] or ".run.partial" in err[-1]
    assert leftovers(tmp_path) == ["tiny.toml"]


@pytest.mark.parametrize(("code", "words"), [
    (errno.ENOSPC, "No space left on device"),
    (errno.EROFS, "Read-only file system"),
    (errno.EACCES, "Permission denied"),
    (errno.EDQUOT, "Disk quota exceeded"),
])
def test_disk_errors_while_writing(scenario, tmp_path, monkeypatch, capsys, code, words):
    real = pd.DataFrame.to_csv

    def half_then_fail(self, path=None, *args, **kwargs):
        if path is not None and Path(path).name == "validation.csv":
            Path(path).write_text("indicator,ar")  # a truncated file
            raise OSError(code, os.strerror(code))
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"hukou-sim: error: {out}: {words}"
    assert leftovers(tmp_path) == ["tiny.toml"]


def test_path_too_long(scenario, tmp_path, capsys):
    out = tmp_path / ("x" * 300) / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "File name too long" in err
    assert "cannot create the run folder" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_parent(scenario, tmp_path, capsys):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        assert main(["run", str(scenario), "--out", str(parent / "run"), "--quiet"]) == 2
    finally:
        parent.chmod(0o755)
    assert "Permission denied" in capsys.readouterr().err


# ------------------------------------------------------------ user mistakes

def test_out_naming_a_file_is_refused(scenario, tmp_path, capsys):
    file = tmp_path / "taken.txt"
    file.write_text("mine")
    assert main(["run", str(scenario), "--out", str(file), "--quiet"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert main(["calibrate", "--out", str(file), "--quiet"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert file.read_text() == "mine"


def test_the_users_empty_folder_is_left_alone_when_a_run_fails(scenario, tmp_path,
                                                               monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sim.runner, "run_replicates", broken)
    out = tmp_path / "mine"
    out.mkdir()
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 1
    assert out.is_dir() and list(out.iterdir()) == []
    assert leftovers(tmp_path) == ["mine", "tiny.toml"]


@pytest.mark.parametrize(("argv", "words"), [
    (["run", "x.toml", "--out", ""], "--out: empty; give a folder"),
    (["run", "x.toml", "--out", "  "], "--out: empty"),
    (["run", "x.toml", "--seed", "٣"], "--seed: expected a whole number, got '٣'"),
    (["run", "x.toml", "--seed", "1_000"], "--seed: expected a whole number"),
    (["run", "x.toml", "--scale", "٠.١"], "--scale: expected a number"),
    (["run", "x.toml", "--scale", "nan"], "--scale: expected a number"),
    (["run", "x.toml", "--replicates", "２"], "--replicates: expected a whole number"),
    (["compare", "a", "b", "--out", ""], "--out: empty"),
])
def test_command_line_mistakes(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_explain_replicate_is_bounded(scenario, capsys):
    start = time.perf_counter()
    assert main(["explain", str(scenario), "--year", "2016", "--replicate", "1000000000"]) == 2
    assert "--replicate: must be 0 to 999" in capsys.readouterr().err
    assert time.perf_counter() - start < 30


def _finished(folder: Path, manifest: bytes) -> Path:
    folder.mkdir()
    (folder / "manifest.json").write_bytes(manifest)
    (folder / COMPLETE_MARKER).write_text("{}")
    return folder


@pytest.mark.parametrize(("manifest", "words"), [
    (b'{"scenario": "\xff"}', "the manifest is not UTF-8 text"),
    (b"[1, 2]", "the manifest must be a JSON object, got list"),
    (b"{", "the manifest is not valid JSON"),
])
def test_compare_refuses_bad_manifests(tmp_path, capsys, manifest, words):
    a = _finished(tmp_path / "a", manifest)
    b = _finished(tmp_path / "b", b"{}")
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"hukou-sim: error: {a / 'manifest.json'}: {words}" or words in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "report").exists()


def test_compare_refuses_a_folder_without_the_marker(tmp_path, capsys):
    a = _finished(tmp_path / "a", b"{}")
    half = tmp_path / "half"
    half.mkdir()
    (half / "manifest.json").write_text("{}")
    (half / "indicators.csv").write_text("scenario,replicate\n")
    assert main(["compare", str(a), str(half)]) == 2
    assert f"{half}: not a complete run (no {COMPLETE_MARKER}" in capsys.readouterr().err


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory) -> tuple[Path, Path]:
    """Two complete runs of the tiny scenario (seeds 0 and 1), made once for the module."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "tiny.toml").write_text(TINY, encoding="utf-8")
    runs = (folder / "a", folder / "b")
    for seed, run in enumerate(runs):
        assert main(["run", str(folder / "tiny.toml"), "--out", str(run), "--quiet", "--seed",
                     str(seed)]) == 0
    return runs


def test_compare_refuses_a_folder_twice_and_an_out_that_is_a_file(finished_runs, tmp_path,
                                                                    capsys):
    a, b = finished_runs
    capsys.readouterr()
    assert main(["compare", str(a), str(a.parent / "." / a.name)]) == 2
    assert "are the same run folder" in capsys.readouterr().err
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    assert main(["compare", str(a), str(b), "--out", str(taken)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert taken.read_text() == "mine"


@pytest.mark.parametrize("damage", ["truncate", "remove"])
def test_compare_refuses_a_run_whose_files_were_cut_short(finished_runs, tmp_path, capsys,
                                                          damage):
    """A complete run whose indicators.csv was later truncated (a full disk while copying,
    an editor) or removed is not accepted: its marker records every file's size."""
    a, b = finished_runs
    damaged = tmp_path / "b"
    shutil.copytree(b, damaged)
    table = damaged / "indicators.csv"
    if damage == "truncate":  # the last few rows gone: same years, still readable CSV
        lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
        table.write_text("".join(lines[:-5]), encoding="utf-8")
    else:
        table.unlink()
    capsys.readouterr()
    assert main(["compare", str(a), str(damaged), "--force", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "not a complete run: indicators.csv" in err and not (tmp_path / "r").exists()
