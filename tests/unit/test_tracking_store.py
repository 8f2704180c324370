"""Where runs are recorded and what their lineage tags say, against real git repositories and real
SQLite MLflow stores."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from summarizer import tracking
from summarizer.project import project_root


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name, text in {
        "src/summarizer/model.py": "x = 1\n",
        "params.yaml": "train: {lr: 0.1}\n",
        "dvc.yaml": "stages: {}\n",
        "dvc.lock": "schema: '2.0'\n",
        "reports/metrics.json": "{}\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init")
    return root


def test_git_dirty_ignores_what_the_pipeline_writes(repo: Path) -> None:
    # dvc repro rewrites dvc.lock and the tracked reports before train runs: not a change of code.
    (repo / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    (repo / "reports/metrics.json").write_text('{"rouge": 1}\n')
    (repo / "reports/new.json").write_text("{}\n")
    tags = tracking.git_tags(repo)
    assert tags["git_dirty"] == "False"
    assert len(tags["git_commit"]) == 40


@pytest.mark.parametrize(
    "change",
    ["src/summarizer/model.py", "params.yaml", "src/summarizer/new_module.py"],
)
def test_git_dirty_when_code_or_params_differ(repo: Path, change: str) -> None:
    (repo / change).write_text("changed = True\n")
    assert tracking.git_tags(repo)["git_dirty"] == "True"
    # The same answer from a subdirectory: the paths are the repository's, not the cwd's.
    assert tracking.git_tags(repo / "src")["git_dirty"] == "True"


def test_default_store_is_the_projects_even_from_a_dvc_temporary_copy(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = repo / ".dvc" / "tmp" / "exps" / "tmpabc123"
    copy.mkdir(parents=True)
    shutil.copy(repo / "dvc.yaml", copy / "dvc.yaml")
    monkeypatch.chdir(copy)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert project_root() == copy.resolve()
    # DVC passes the project it was started from to every stage, also in a temporary copy.
    monkeypatch.setenv("DVC_ROOT", str(repo))
    assert tracking.tracking_uri() == f"sqlite:///{repo.resolve() / 'mlflow.db'}"


def _make_read_only(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        return
    # root writes through file modes; the immutable attribute stops root too.
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: no way to make a file read-only")
    result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"running as root and chattr +i is refused here: {result.stderr.strip()}")


def _make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    else:
        path.parent.chmod(0o755)
        path.chmod(0o644)


def test_read_only_store_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    database = tmp_path / "store" / "mlflow.db"
    uri = f"sqlite:///{database}"
    tracking.ensure_reachable(uri)  # a new, writable store: created, no error
    assert database.is_file()
    _make_read_only(database)
    try:
        with pytest.raises(tracking.TrackingError) as raised:
            tracking.ensure_reachable(uri)
    finally:
        _make_writable(database)
    message = str(raised.value)
    assert str(database) in message
    assert "cannot be written" in message and "chmod u+w" in message


FIRST_RUN = """
import sys
from summarizer import tracking, tracking_runs
uri = sys.argv[1]
tracking.ensure_reachable(uri)
run = tracking_runs.TrackedRun.start(uri, "concurrent", params={"worker": sys.argv[2]})
run.end()
print(run.run_id)
"""


def test_two_first_runs_at_once_into_a_new_store_both_kept(tmp_path: Path) -> None:
    # Two queued experiments start together against a store that does not exist yet: both
    # create its tables and the experiment unless that is serialised.
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_RUN, uri, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-2000:]
    store = tracking.client(uri)
    experiment = store.get_experiment_by_name("concurrent")
    runs = store.search_runs([experiment.experiment_id])
    assert sorted(run.data.params["worker"] for run in runs) == ["0", "1"]
