"""dvc.yaml resolves, and plans every stage, with any number of extra test sets: none (any dataset
but Gigaword), one (DUC-2004), or several; each set's files are a dependency of its own stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.pipeline.workspace import Workspace

DUC = {
    "path": "remote://datasets/duc2004",
    "document": "input.txt",
    "references": ["task1_ref0.txt", "task1_ref1.txt"],
    "measure": "r",
    "truncate_bytes": 75,
}


@pytest.mark.parametrize("names", [[], ["duc2004"], ["duc2004", "duc2004_two_refs"]])
def test_pipeline_resolves_with_any_number_of_extra_test_sets(
    tmp_path: Path, datasets_dir: Path, names: list[str]
) -> None:
    workspace = Workspace.create(tmp_path / "repo")
    params = workspace.params
    params["evaluate"]["extra_test_sets"] = {name: DUC for name in names}
    (workspace.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    listed = workspace.dvc("stage", "list", "--name-only")
    assert listed.returncode == 0, listed.stderr
    stages = set(listed.stdout.split())
    assert {f"extra_test_set@{name}" for name in names} <= stages
    assert len([stage for stage in stages if stage.startswith("extra_test_set@")]) == len(names)

    graph = workspace.dvc("dag", "--dot")
    assert graph.returncode == 0, graph.stderr
    for name in names:
        assert f'"extra_test_set@{name}" -> "evaluate"' in graph.stdout

    # evaluate's dependency on the copies exists even when there is none to copy.
    status = workspace.dvc("status", "--json", "evaluate")
    assert status.returncode == 0, status.stderr
    changed = json.loads(status.stdout)["evaluate"][0]["changed deps"]
    assert changed["data/external"] != "deleted"

    for name in names:  # the dependency on the set's own files resolves (remote://datasets/...)
        planned = workspace.dvc("repro", "--dry", "--single-item", f"extra_test_set@{name}")
        assert planned.returncode == 0, planned.stdout[-2000:] + planned.stderr[-2000:]
