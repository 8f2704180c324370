"""The checkpoint store: where last/best live, what is resumed, and that loading runs no code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from summarizer.training import CheckpointError, CheckpointStore, load_checkpoint
from tests.file_size_limit import python_limited


def a_state(step: int = 1) -> dict:
    """A trainer-like state: tensors and plain containers only."""
    return {
        "model": {"weight": torch.full((2, 3), float(step))},
        "progress": {"global_step": step, "history": [{"val_loss": 1.5}]},
        "rng": {"python": (3, (1, 2, 3), None), "torch": torch.get_rng_state()},
    }


def test_owns_last_and_best_in_its_directory(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "checkpoints")
    assert store.last == tmp_path / "checkpoints" / "last.pt"
    assert store.best == tmp_path / "checkpoints" / "best.pt"
    store.save_last(a_state(1), finished=False)
    store.save_best(a_state(2), finished=False)
    assert torch.equal(store.load_best()["model"]["weight"], torch.full((2, 3), 2.0))
    assert sorted(p.name for p in store.directory.iterdir()) == ["best.pt", "last.pt"]
    store.clear()
    assert list(store.directory.iterdir()) == []


def test_resumes_only_an_unfinished_run_of_the_same_fingerprint(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, fingerprint="abc", metadata={"run_id": "r1"})
    assert store.resumable() is None and store.resumable_metadata() is None
    store.save_last(a_state(7), finished=False)
    state = store.resumable()
    assert state is not None and state["progress"]["global_step"] == 7
    assert state["rng"]["python"] == (3, (1, 2, 3), None)
    assert store.resumable_metadata() == {"run_id": "r1"}

    assert CheckpointStore(tmp_path, fingerprint="other").resumable() is None
    store.save_last(a_state(8), finished=True)
    assert store.resumable() is None and store.resumable_metadata() is None
    assert store.last.is_file()  # not resumed, but not deleted either


def test_metadata_set_after_creation_goes_into_later_saves(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.metadata["run_id"] = "r2"
    store.save_last(a_state(), finished=False)
    assert CheckpointStore(tmp_path).resumable_metadata() == {"run_id": "r2"}


def test_missing_best_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"best\.pt: not found"):
        CheckpointStore(tmp_path).load_best()


class Payload:
    """Unpickling this runs ``os.mkdir(marker)``: what a crafted checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_a_checkpoint_holding_a_pickled_object_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    path = tmp_path / "last.pt"
    torch.save({"format": 2, "state": {"x": Payload(marker)}}, path)
    with pytest.raises(CheckpointError, match=r"last\.pt: refused to load.*nothing in it was run"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_refused_last_checkpoint_is_set_aside_not_resumed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "payload-ran"
    store = CheckpointStore(tmp_path / "checkpoints")
    store.directory.mkdir()
    torch.save({"format": 2, "fingerprint": "", "state": Payload(marker)}, store.last)
    assert store.resumable() is None
    assert not marker.exists() and not store.last.exists()
    assert (store.directory / "last.pt.unusable").is_file()
    assert "refused to load" in caplog.text and "starting afresh" in caplog.text


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_a_damaged_last_checkpoint_is_set_aside_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    store = CheckpointStore(tmp_path)
    store.save_last(a_state(), finished=False)
    whole = store.last.read_bytes()
    broken = {"truncated": whole[: len(whole) // 2], "empty": b"", "garbage": b"\x00" * 99}[damage]
    store.last.write_bytes(broken)
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        load_checkpoint(store.last)
    assert store.resumable() is None
    assert not store.last.exists()
    assert (tmp_path / "last.pt.unusable").read_bytes() == broken
    assert "damaged or truncated" in caplog.text and "starting afresh" in caplog.text


def finished_run(directory: Path) -> tuple[CheckpointStore, dict[str, bytes]]:
    """The checkpoints a finished run of fingerprint ``old`` leaves, and their bytes."""
    store = CheckpointStore(directory, fingerprint="old", metadata={"run_id": "good"})
    store.save_best(a_state(1), finished=True)
    store.save_last(a_state(1), finished=True)
    return store, {name: (directory / name).read_bytes() for name in ("best.pt", "last.pt")}


def test_a_new_run_keeps_the_last_good_runs_files_until_its_first_best(tmp_path: Path) -> None:
    _, good = finished_run(tmp_path)
    new = CheckpointStore(tmp_path, fingerprint="new", metadata={"run_id": "bad"})
    assert new.resumable() is None
    new.start_fresh()
    assert new.current == tmp_path / "pending.pt"
    new.save_last(a_state(2), finished=False)  # every few steps, and at an epoch end
    new.save_last(a_state(3), finished=False)
    assert {name: (tmp_path / name).read_bytes() for name in good} == good

    # Killed here: running again resumes the new run from pending.pt, and still keeps the files.
    again = CheckpointStore(tmp_path, fingerprint="new")
    state = again.resumable()
    assert state is not None and state["progress"]["global_step"] == 3
    assert again.current == tmp_path / "pending.pt"
    assert again.resumable_metadata() == {"run_id": "bad"}
    assert {name: (tmp_path / name).read_bytes() for name in good} == good

    # Its first best: best.pt and last.pt become the new run's, pending.pt goes.
    again.save_best(a_state(4), finished=False)
    assert not (tmp_path / "last.pt").exists()  # the old run's last.pt is never beside it
    again.save_last(a_state(4), finished=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]
    assert torch.equal(again.load_best()["model"]["weight"], torch.full((2, 3), 4.0))
    assert CheckpointStore(tmp_path, fingerprint="new").resumable() is not None


def test_a_full_disk_at_the_first_best_leaves_the_old_files(tmp_path: Path) -> None:
    _, good = finished_run(tmp_path)
    size = len(good["best.pt"])
    result = python_limited(
        f"""
        import torch
        from summarizer.training import CheckpointStore
        store = CheckpointStore({str(tmp_path)!r}, fingerprint="new")
        store.start_fresh()
        store.save_last({{"w": torch.zeros(10)}}, finished=False)  # small: fits
        store.save_best({{"w": torch.zeros({size})}}, finished=False)  # 4 bytes each: does not
        """,
        limit=size,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert f"WriteError: {tmp_path / 'best.pt'}: cannot be written (File too large" in error
    assert "nothing was replaced" in error
    assert {name: (tmp_path / name).read_bytes() for name in good} == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt", "pending.pt"]


def test_an_interrupted_old_run_resumes_beside_a_newer_pending_one(tmp_path: Path) -> None:
    old = CheckpointStore(tmp_path, fingerprint="old")
    old.save_best(a_state(1), finished=False)
    old.save_last(a_state(2), finished=False)  # interrupted after its first epoch
    newer = CheckpointStore(tmp_path, fingerprint="new")
    newer.start_fresh()
    newer.save_last(a_state(9), finished=False)  # interrupted before its first best

    back = CheckpointStore(tmp_path, fingerprint="old")
    state = back.resumable()
    assert state is not None and state["progress"]["global_step"] == 2
    back.save_last(a_state(3), finished=True)
    assert (tmp_path / "pending.pt").is_file()  # the newer run's, left for it to resume
    state = CheckpointStore(tmp_path, fingerprint="new").resumable()
    assert state is not None and state["progress"]["global_step"] == 9


def test_a_fresh_run_resumes_nothing_and_drops_a_stale_pending_checkpoint(tmp_path: Path) -> None:
    _, good = finished_run(tmp_path)
    stale = CheckpointStore(tmp_path, fingerprint="new")
    stale.start_fresh()
    stale.save_last(a_state(5), finished=False)
    fresh = CheckpointStore(tmp_path, fingerprint="new")
    fresh.start_fresh()
    assert fresh.resumable() is None
    assert not (tmp_path / "pending.pt").exists()
    assert {name: (tmp_path / name).read_bytes() for name in good} == good


def test_the_best_checkpoint_of_other_params_is_not_exported(tmp_path: Path) -> None:
    finished_run(tmp_path)
    with pytest.raises(CheckpointError, match=r"best\.pt: is the best checkpoint of other params"):
        CheckpointStore(tmp_path, fingerprint="new").load_best()
