"""Atomic writes: a failure leaves the previous output, and nothing is deleted that was not asked
to be replaced."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from summarizer.errors import DataError
from summarizer.io import (
    atomic_directory,
    atomic_path,
    discard_staged,
    read_stage_table,
    write_json,
)
from tests.file_size_limit import python_limited


def test_atomic_path_replaces_a_file_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "out" / "metrics.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == '{\n  "v": 1\n}\n'
    write_json(target, {"v": 2})
    assert '"v": 2' in target.read_text()
    assert sorted(p.name for p in target.parent.iterdir()) == ["metrics.json"]


def test_atomic_path_refuses_a_directory_and_keeps_its_contents(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"d: is a directory; give the path of a file"):
        write_json(folder, {"v": 1})
    assert (folder / "notes.txt").read_text() == "x" and (folder / "sub").is_dir()


def test_atomic_directory_replaces_the_whole_directory(tmp_path: Path) -> None:
    target = tmp_path / "interim"
    target.mkdir()
    (target / "stale.parquet").write_text("old")
    with atomic_directory(target) as tmp:
        tmp.mkdir()
        (tmp / "train.parquet").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["train.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["interim"]


def test_atomic_directory_keeps_the_old_directory_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "model.pt").write_text("good")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        tmp.mkdir()
        raise RuntimeError("disk full")
    assert (target / "model.pt").read_text() == "good"


def test_atomic_directory_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.write_text("a file")
    with pytest.raises(DataError, match="not a directory"), atomic_directory(target) as tmp:
        tmp.mkdir()
    assert target.read_text() == "a file"


def test_read_stage_table_names_the_stage_to_run(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"train\.parquet: not found; run the tokenize stage first"):
        read_stage_table(tmp_path / "train.parquet", "tokenize")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: cannot read the ingest stage's table"):
        read_stage_table(tmp_path / "bad.parquet", "ingest")
    pd.DataFrame({"a": [1], "b": [2]}).to_parquet(tmp_path / "ok.parquet")
    assert read_stage_table(tmp_path / "ok.parquet", "ingest", columns=["b"]).columns == ["b"]


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def test_a_full_disk_names_the_file_and_replaces_nothing(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "metrics.json"
    write_json(target, {"v": 1})
    result = python_limited(
        f"""
        from summarizer.io import write_json
        write_json({str(target)!r}, {{"v": "x" * 100_000}})
        """,
        limit=10_000,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert last_line(result.stderr) == (
        f"summarizer.io.WriteError: {target}: cannot be written (File too large; the file size "
        "limit (ulimit -f) is 10000 bytes); nothing was replaced"
    )
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert sorted(p.name for p in target.parent.iterdir()) == ["metrics.json"]


def test_a_full_disk_under_torch_and_nested_writes_names_the_final_output(tmp_path: Path) -> None:
    # torch.save to a path loses the errno ("basic_ios::clear" or "unexpected pos"); the error
    # still names the output, here a directory written inside another staged one.
    model = tmp_path / "models" / "summarizer"
    model.mkdir(parents=True)
    (model / "model.pt").write_text("good")
    result = python_limited(
        f"""
        import torch
        from summarizer.io import atomic_directory
        with atomic_directory({str(model)!r}) as outer, atomic_directory(outer) as tmp:
            tmp.mkdir()
            torch.save(torch.zeros(100_000), tmp / "model.pt")
        """,
        limit=10_000,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    error = last_line(result.stderr)
    assert error.startswith(f"summarizer.io.WriteError: {model}: cannot be written (PyTorch ")
    assert error.endswith("the file size limit (ulimit -f) is 10000 bytes); nothing was replaced")
    assert sorted(p.name for p in model.parent.iterdir()) == ["summarizer"]
    assert (model / "model.pt").read_text() == "good"


def test_errors_that_are_not_about_writing_pass_unchanged(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text((tmp_path / "missing.txt").read_text())  # an input, not the output
    assert list(tmp_path.iterdir()) == []


def test_what_a_killed_write_left_is_discarded_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    target.write_text("good")
    (tmp_path / ".last.pt.k1ll3d").mkdir()
    (tmp_path / ".last.pt.k1ll3d" / "last.pt").write_text("half")  # kill -9 mid-write
    (tmp_path / ".best.pt.other").mkdir()
    discard_staged(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".best.pt.other", "last.pt"]
    assert target.read_text() == "good"
