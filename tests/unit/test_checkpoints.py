"""The checkpoint store: where last/best live, what is resumed, and that loading runs no code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from summarizer.training import CheckpointError, CheckpointStore, load_checkpoint


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
