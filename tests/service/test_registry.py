"""The register stage and promotion against a real SQLite-backed MLflow registry."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from summarizer import registry
from summarizer.cli import app
from summarizer.config import DecodeParams
from tests.service.conftest import (
    MODEL_NAME,
    Store,
    register_run,
    write_metrics,
    write_params,
)


def aliases(store: Store) -> dict[str, str]:
    return {k: str(v) for k, v in store.client().get_registered_model(MODEL_NAME).aliases.items()}


def snapshot(store: Store) -> dict:
    """Everything a registration could change: versions with their tags, and the aliases."""
    client = store.client()
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    return {
        "aliases": aliases(store),
        "versions": {str(v.version): (dict(v.tags), v.description) for v in versions},
    }


@pytest.mark.slow
def test_registers_only_runs_that_beat_every_stored_version(store: Store, model_dir: Path) -> None:
    report = store.root / "register.json"
    first = register_run(store, model_dir, 20.0, report=report)
    assert first.registered and first.version == "1" and first.challenger == "1"

    version = store.client().get_model_version(MODEL_NAME, "1")
    assert version.tags["metric.rougeL_f"] == "20.0"
    assert version.tags["metric.rouge1_f"] == "28.0"
    assert "metric.rougeL_f_low" not in version.tags  # point estimates only
    assert version.tags["git_commit"] == "c0ffee" * 6
    assert version.tags["data_hash"] == "d474" * 8
    assert "rougeL_f 20.0000" in version.description and "first version" in version.description
    assert version.run_id == first.run_id

    before = snapshot(store)
    worse = register_run(store, model_dir, 18.5, report=report)
    assert not worse.registered and worse.version is None
    assert worse.best_before == {"version": "1", "value": 20.0}
    assert snapshot(store) == before  # no version, tag or alias changed
    recorded = json.loads(report.read_text())
    assert recorded["registered"] is False and recorded["challenger"] == "1"
    assert "does not beat version 1" in recorded["reason"]
    run_tags = store.client().get_run(worse.run_id).data.tags
    assert run_tags["register.decision"] == "not registered"
    assert "18.5000 does not beat version 1 (20.0000)" in run_tags["register.reason"]
    # The run still holds the logged model, so it could be registered by hand later.
    assert store.client().get_run(worse.run_id).outputs.model_outputs

    better = register_run(store, model_dir, 22.0, report=report)
    assert better.registered and better.version == "2"
    assert aliases(store) == {"challenger": "2"}
    assert store.client().get_run(better.run_id).data.tags["register.decision"] == (
        "registered as version 2"
    )

    # The comparison reads what is stored on each version, not what this process saw: after
    # someone corrects version 1's metric in the registry, 23.0 no longer beats it.
    store.client().set_model_version_tag(MODEL_NAME, "1", "metric.rougeL_f", "24.0")
    stale = register_run(store, model_dir, 23.0, report=report)
    assert not stale.registered
    assert stale.best_before == {"version": "1", "value": 24.0}


@pytest.mark.slow
def test_register_stage_from_the_cli(
    store: Store, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``summarizer register`` reads what train and evaluate left in the workspace."""
    workspace = tmp_path / "repo"
    shutil.copytree(model_dir, workspace / "models" / "summarizer")
    run_id = store.new_run(tags={"git_commit": "abc", "data_hash": "def"})
    (workspace / "models" / "mlflow_run.json").write_text(
        json.dumps({"run_id": run_id, "tracking_uri": store.uri, "finished": True})
    )
    write_metrics(workspace / "reports" / "metrics.json", rougeL_f=17.25, rouge1_f=30.0)
    params = write_params(workspace / "params.yaml")
    monkeypatch.chdir(workspace)

    result = CliRunner().invoke(app, ["register", "--params", str(params)])
    assert result.exit_code == 0, result.output
    report = json.loads((workspace / "reports" / "register.json").read_text())
    assert report["registered"] is True and report["version"] == "1"
    assert report["run_id"] == run_id and report["value"] == 17.25
    version = store.client().get_model_version(MODEL_NAME, "1")
    assert version.tags["metric.rougeL_f"] == "17.25" and version.tags["git_commit"] == "abc"

    again = CliRunner().invoke(app, ["register", "--params", str(params)])
    assert again.exit_code == 0, again.output
    report = json.loads((workspace / "reports" / "register.json").read_text())
    assert report["registered"] is False
    assert "this run is already version 1" in report["reason"]


@pytest.mark.slow
def test_promote_guards_dry_run_force_and_rollback(store: Store, model_dir: Path) -> None:
    register_run(store, model_dir, 20.0)
    register_run(store, model_dir, 22.0)
    client = store.client()

    with pytest.raises(registry.RegistryError, match="no @champion; nothing to roll back"):
        registry.rollback(store.uri, MODEL_NAME)

    plan = registry.promote(store.uri, MODEL_NAME, dry_run=True)  # default: @challenger
    assert (plan.version, plan.previous, plan.changed) == ("2", None, False)
    assert plan.checks["load"] == "ok" and plan.checks["smoke"] == "ok" and plan.smoke_summary
    assert "champion" not in aliases(store)

    first = registry.promote(store.uri, MODEL_NAME, 1, reason="first release", user="ana")
    assert first.changed and aliases(store)["champion"] == "1"
    tags = client.get_model_version(MODEL_NAME, "1").tags
    assert tags["promoted_by"] == "ana" and tags["promotion_reason"] == "first release"
    assert tags["previous_champion"] == "" and tags["promotion_forced"] == "false"
    assert tags["promoted_at"].endswith("+00:00")
    with pytest.raises(registry.RegistryError, match="replaced no earlier champion"):
        registry.rollback(store.uri, MODEL_NAME, dry_run=True)

    second = registry.promote(store.uri, MODEL_NAME, reason="better rouge")
    assert (second.version, second.previous) == ("2", "1")
    assert second.checks["metric"] == "ok: rougeL_f 22.0000 vs champion version 1 20.0000"
    assert client.get_model_version(MODEL_NAME, "2").tags["previous_champion"] == "1"
    again = registry.promote(store.uri, MODEL_NAME)
    assert not again.changed and "already @champion" in again.notes[0]

    with pytest.raises(registry.PromotionRefused, match="worse than the champion"):
        registry.promote(store.uri, MODEL_NAME, 1)
    assert aliases(store)["champion"] == "2"
    dry = registry.promote(store.uri, MODEL_NAME, 1, force=True, dry_run=True)
    assert not dry.changed and dry.checks["metric"].startswith("overridden by --force")
    assert aliases(store)["champion"] == "2"
    forced = registry.promote(store.uri, MODEL_NAME, 1, force=True, reason="incident 42")
    assert forced.changed
    assert aliases(store)["champion"] == "1"
    assert client.get_model_version(MODEL_NAME, "1").tags["promotion_forced"] == "true"

    plan = registry.rollback(store.uri, MODEL_NAME, dry_run=True)
    assert (plan.version, plan.previous, plan.changed) == ("2", "1", False)
    assert aliases(store)["champion"] == "1"
    back = registry.rollback(store.uri, MODEL_NAME, reason="forced one misbehaves", user="bo")
    assert back.changed and (back.version, back.previous) == ("2", "1")
    assert aliases(store) == {"champion": "2", "challenger": "2"}
    rolled = client.get_model_version(MODEL_NAME, "1").tags
    assert rolled["rolled_back_by"] == "bo" and rolled["rollback_reason"] == "forced one misbehaves"

    rows = registry.list_versions(store.uri, MODEL_NAME)
    assert [(r.version, r.aliases) for r in rows] == [("2", ["challenger", "champion"]), ("1", [])]
    assert rows[0].metrics["rougeL_f"] == 22.0 and rows[0].git_commit == "c0ffee" * 6


@pytest.mark.slow
def test_promotion_refuses_a_model_that_cannot_load_even_when_forced(
    store: Store, model_dir: Path, tmp_path: Path
) -> None:
    register_run(store, model_dir, 20.0)
    registry.promote(store.uri, MODEL_NAME)
    # A version registered by hand (say from the UI) whose weights do not fit its config.
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    config = json.loads((broken / "config.json").read_text())
    config["hidden_dim"] += 8
    (broken / "config.json").write_text(json.dumps(config))
    run_id = store.new_run()
    info = registry.log_model(store.uri, run_id, broken, DecodeParams())
    client = store.client()
    client.create_model_version(
        MODEL_NAME,
        info.model_uri,
        run_id=run_id,
        tags={"metric.rougeL_f": "99.0"},
        model_id=info.model_id,
    )
    with pytest.raises(registry.PromotionRefused, match=r"version 2 .* does not load: .*weights"):
        registry.promote(store.uri, MODEL_NAME, 2, force=True)
    assert aliases(store)["champion"] == "1"


def test_clear_errors_for_missing_model_version_alias_and_store(store: Store) -> None:
    with pytest.raises(registry.RegistryError, match=r"no registered model 'nope'.*register stage"):
        registry.promote(store.uri, "nope")
    store.client().create_registered_model(MODEL_NAME)
    with pytest.raises(registry.RegistryError, match="no @challenger version; pass --version"):
        registry.promote(store.uri, MODEL_NAME)
    with pytest.raises(registry.RegistryError, match=r"has no version 7 \(versions: none\)"):
        registry.promote(store.uri, MODEL_NAME, 7)
    with pytest.raises(registry.RegistryError, match=r"has no alias @champion .*promote"):
        registry.check_model_uri(store.uri, f"models:/{MODEL_NAME}@champion")
    from summarizer.tracking import TrackingError

    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(TrackingError, match=re.escape(f"{dead} cannot be reached")):
        registry.list_versions(dead, MODEL_NAME)
