"""Registrations and promotions at once, and registrations killed half-way, in real processes
against one store.

Two ``register`` processes are made to race: each is held at a barrier after it has read the
versions and decided that it beats them all, and released together, so both create a version
(the check-then-act race of issue 9). The re-check after creation must then keep exactly what
one-at-a-time registration would have kept, on the embedded SQLite store and on a tracking
server. A process killed inside ``register`` must leave nothing that the next ``register``
does not finish.

Two ``promote`` processes are held at a barrier after their checks and re-read of ``@champion``,
and released together (issue 21: both printed "moved @champion"): exactly one may win, the other
must say that ``@champion`` moved under it, exit 1, and leave no tag claiming a promotion.
"""

from __future__ import annotations

import getpass
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from summarizer import registry
from summarizer.config.registry import RegisterParams
from summarizer.evaluation.report import EvaluationReport
from tests.service.conftest import (
    DECODE,
    GATE_EVALUATION,
    MODEL_NAME,
    Store,
    stop_process_group,
    wait_until_up,
    write_params,
)

pytestmark = pytest.mark.slow

# reports/evaluation.json beside the test scores: a low baseline and the default model's checks.
EVALUATION = GATE_EVALUATION
# The register section of the test model (the defaults otherwise).
SETTINGS = RegisterParams(model_name=MODEL_NAME)
CHILD_TIMEOUT = 300  # seconds; a spawned process imports torch and MLflow on a busy machine
# What the register stage stores on a version that passed the gate of EVALUATION.
GATE_TAGS = {
    "baseline.lead_words_8": "10.0",
    **{f"check.{name}": str(value) for name, value in EVALUATION["checks"].items()},
}


def scores(value: float) -> dict[str, float]:
    """The "test" entry of reports/evaluation.json for a run scoring ``value`` (ROUGE-L F1)."""
    return {"rougeL_f": value, "rouge1_f": value + 8, "n_examples": 50}


def register_in_child(
    uri: str,
    run_id: str,
    model_dir: str,
    value: float,
    report: str,
    barrier: Any = None,
    kill_at: str | None = None,
) -> None:
    """``log_and_register`` in a fresh process. ``barrier``: wait there after deciding, just
    before creating the version. ``kill_at``: SIGKILL this process at that step ("recheck":
    after creating the version; "challenger": after keeping it, before the alias moves)."""
    from summarizer.registry import registration

    if barrier is not None:
        create = registration.create_version

        def create_together(*args: Any, **kwargs: Any) -> str:
            barrier.wait(timeout=CHILD_TIMEOUT)  # both have decided "better than every version"
            return create(*args, **kwargs)

        registration.create_version = create_together

    def killed(*args: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if kill_at == "recheck":
        registration.Registrar.settle = killed  # type: ignore[method-assign]
    elif kill_at == "challenger":
        registration.Registrar.update_challenger = killed  # type: ignore[method-assign]
    registration.log_and_register(
        uri=uri,
        run_id=run_id,
        settings=SETTINGS,
        model_dir=Path(model_dir),
        test_metrics=scores(value),
        decode=DECODE,
        report=Path(report),
        evaluation=EvaluationReport.from_dict(EVALUATION),
    )


def run_children(calls: list[dict[str, Any]], together: bool) -> list[int | None]:
    """Run ``register_in_child`` once per keyword set, all at once; their exit codes."""
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    barrier = context.Barrier(len(calls)) if together else None
    processes = [
        context.Process(target=register_in_child, kwargs={**call, "barrier": barrier})
        for call in calls
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(CHILD_TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join()
    return [process.exitcode for process in processes]


def prepared_runs(uri: str, model_dir: Path, count: int) -> list[str]:
    """``count`` finished training runs, each with its model already logged (so the children
    only find it again, as a repeated ``register`` does, unless the code changed meanwhile)."""
    from summarizer import tracking_runs

    runs = []
    for _ in range(count):
        run = tracking_runs.TrackedRun.start(uri, "tests", tags={"git_commit": "abc"})
        run.end()
        registry.ensure_logged(uri, run.run_id, model_dir, DECODE)
        runs.append(run.run_id)
    return runs


def live_versions(uri: str) -> dict[str, dict[str, str]]:
    """The versions of the test model (deleted ones are not listed), oldest first, by tags."""
    from summarizer import tracking

    versions = tracking.client(uri).search_model_versions(f"name = '{MODEL_NAME}'")
    return {str(v.version): dict(v.tags) for v in sorted(versions, key=lambda v: int(v.version))}


def aliases(uri: str) -> dict[str, str]:
    from summarizer import tracking

    model = tracking.client(uri).get_registered_model(MODEL_NAME)
    return {alias: str(version) for alias, version in model.aliases.items()}


def race(uri: str, model_dir: Path, tmp_path: Path, values: list[float]) -> list[dict]:
    """Register one run per value in processes released together; their reports."""
    runs = prepared_runs(uri, model_dir, len(values))
    reports = [tmp_path / f"register-{index}.json" for index in range(len(values))]
    calls = [
        {
            "uri": uri,
            "run_id": run_id,
            "model_dir": str(model_dir),
            "value": value,
            "report": str(report),
        }
        for run_id, value, report in zip(runs, values, reports, strict=True)
    ]
    assert run_children(calls, together=True) == [0] * len(values)
    outcomes = [json.loads(report.read_text()) for report in reports]
    for outcome in outcomes:
        # The race really happened: every process decided before any version existed.
        assert outcome["best_before"] is None
    return outcomes


def check_equal_runs_at_once(uri: str, model_dir: Path, tmp_path: Path) -> None:
    outcomes = race(uri, model_dir, tmp_path, [20.0, 20.0])
    winners = [o for o in outcomes if o["registered"]]
    losers = [o for o in outcomes if not o["registered"]]
    assert len(winners) == 1 and len(losers) == 1
    winner, loser = winners[0], losers[0]
    # The first version created stays; the second was created, re-checked and withdrawn.
    assert winner["version"] == "1" and loser["withdrawn"] == "2"
    assert loser["reason"] == (
        "rougeL_f 20.0000 does not beat version 1 (20.0000), registered concurrently; "
        "version 2 was created and withdrawn"
    )
    versions = live_versions(uri)
    assert list(versions) == ["1"] and versions["1"]["registration"] == "complete"
    assert aliases(uri) == {"challenger": "1"}
    from summarizer import tracking

    tags = tracking.client(uri).get_run(loser["run_id"]).data.tags
    assert tags["register.decision"] == "not registered"
    assert "registered concurrently" in tags["register.reason"]


def test_two_equal_registrations_at_once_keep_one_version(
    store: Store, model_dir: Path, tmp_path: Path
) -> None:
    check_equal_runs_at_once(store.uri, model_dir, tmp_path)


def test_two_registrations_at_once_keep_what_one_after_the_other_would(
    store: Store, model_dir: Path, tmp_path: Path
) -> None:
    outcomes = race(store.uri, model_dir, tmp_path, [20.0, 22.0])
    low, high = outcomes
    assert high["registered"]
    versions = live_versions(store.uri)
    if low["registered"]:  # 20 was created first: 22 beats it, both stay, in that order
        assert (low["version"], high["version"]) == ("1", "2")
        assert list(versions) == ["1", "2"]
    else:  # 22 was created first: 20 does not beat it
        assert (high["version"], low["withdrawn"]) == ("1", "2")
        assert "does not beat version 1 (22.0000), registered concurrently" in low["reason"]
        assert list(versions) == ["1"]
    assert aliases(store.uri) == {"challenger": high["version"]}
    assert {tags["registration"] for tags in versions.values()} == {"complete"}


# ---------------------------------------------------------------------------- tracking server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def tracking_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``mlflow server`` (two workers, SQLite behind it, artifacts served over HTTP)."""
    port = free_port()
    root = tmp_path / "server"
    root.mkdir()
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    command = [
        str(mlflow_cli),
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    path = os.pathsep.join([str(mlflow_cli.parent), os.environ.get("PATH", "")])
    log_file = root / "server.log"
    with open(log_file, "w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": path},
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{url}/health", log_file, "mlflow server")
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", url)
        yield url
    finally:
        stop_process_group(process)


def test_two_equal_registrations_at_once_against_a_tracking_server(
    store: Store, tracking_server: str, model_dir: Path, tmp_path: Path
) -> None:
    # ``store`` only restores MLflow's global URIs afterwards; everything here talks HTTP.
    check_equal_runs_at_once(tracking_server, model_dir, tmp_path)


# ---------------------------------------------------------------------- interrupted registration
def kill_inside_register(store: Store, model_dir: Path, tmp_path: Path, kill_at: str) -> str:
    """A ``register`` process killed at ``kill_at``; the run it was registering."""
    (run_id,) = prepared_runs(store.uri, model_dir, 1)
    call = {
        "uri": store.uri,
        "run_id": run_id,
        "model_dir": str(model_dir),
        "value": 20.0,
        "report": str(tmp_path / "killed.json"),
        "kill_at": kill_at,
    }
    assert run_children([call], together=False) == [-signal.SIGKILL]
    assert not (tmp_path / "killed.json").exists()
    return run_id


def register_again(store: Store, model_dir: Path, run_id: str, value: float = 20.0):
    return registry.log_and_register(
        uri=store.uri,
        run_id=run_id,
        settings=SETTINGS,
        model_dir=model_dir,
        test_metrics=scores(value),
        decode=DECODE,
        evaluation=EvaluationReport.from_dict(EVALUATION),
    )


def check_repaired(store: Store, run_id: str, outcome: Any) -> None:
    assert outcome.registered and outcome.version == "1" and outcome.challenger == "1"
    assert outcome.reason.startswith("finished the interrupted registration of version 1: ")
    versions = live_versions(store.uri)
    assert list(versions) == ["1"]
    assert versions["1"].get("registration", "complete") == "complete"
    assert aliases(store.uri) == {"challenger": "1"}
    tags = store.client().get_run(run_id).data.tags
    assert tags["register.decision"] == "registered as version 1"
    change = registry.promote(store.uri, MODEL_NAME, dry_run=True)  # default: @challenger
    assert change.version == "1" and change.checks["smoke"].startswith("ok")


def test_register_finishes_a_registration_killed_before_the_recheck(
    store: Store, model_dir: Path, tmp_path: Path
) -> None:
    run_id = kill_inside_register(store, model_dir, tmp_path, "recheck")
    assert live_versions(store.uri)["1"]["registration"] == "pending"
    assert aliases(store.uri) == {}
    with pytest.raises(registry.RegistryError, match="no @challenger"):
        registry.promote(store.uri, MODEL_NAME)
    # Its re-check could still delete it (and any alias on it): not promotable, even forced.
    with pytest.raises(registry.PromotionRefused, match=r"version 1 .* is still pending"):
        registry.promote(store.uri, MODEL_NAME, 1, force=True, reason="hotfix")
    assert [row.registration for row in registry.list_versions(store.uri, MODEL_NAME)] == [
        "pending"
    ]

    outcome = register_again(store, model_dir, run_id)
    check_repaired(store, run_id, outcome)
    assert outcome.finished == {"1": "kept"}

    again = register_again(store, model_dir, run_id)  # idempotent: nothing left to do
    assert not again.registered and again.reason.endswith(
        "this run is already version 1; nothing to do"
    )
    assert list(live_versions(store.uri)) == ["1"]


def test_any_register_finishes_a_registration_killed_before_the_alias_moved(
    store: Store, model_dir: Path, tmp_path: Path
) -> None:
    killed_run = kill_inside_register(store, model_dir, tmp_path, "challenger")
    assert live_versions(store.uri)["1"]["registration"] == "kept"
    assert aliases(store.uri) == {}

    # Another run, worse than version 1: not registered, but it finishes version 1's work.
    (other_run,) = prepared_runs(store.uri, model_dir, 1)
    other = register_again(store, model_dir, other_run, value=19.0)
    assert not other.registered and "does not beat version 1 (20.0000)" in other.reason
    assert other.challenger == "1" and aliases(store.uri) == {"challenger": "1"}
    assert live_versions(store.uri)["1"]["registration"] == "complete"

    again = register_again(store, model_dir, killed_run)
    assert not again.registered and "this run is already version 1" in again.reason


def test_register_finishes_a_version_left_without_its_alias(store: Store, model_dir: Path) -> None:
    """The state the issue reports, left by the register of before: a version with every tag
    but no ``registration`` state, and no @challenger; its model was logged without the
    fingerprint (that register logged a copy on every call). Every tag: the metric, what the
    gate measured (promote checks it again) and the digest of its files (loading checks it)."""
    from summarizer.registry.logged_model import files_digest
    from summarizer.registry.stored_model import DIGEST_TAG

    run_id = store.new_run(tags={"git_commit": "abc"})
    logged = registry.log_model(store.uri, run_id, model_dir, DECODE)
    client = store.client()
    client.create_registered_model(MODEL_NAME)
    client.create_model_version(
        MODEL_NAME,
        logged.model_uri,
        run_id=run_id,
        tags={
            "metric.rougeL_f": "20.0",
            "selection_metric": "rougeL_f",
            DIGEST_TAG: files_digest(model_dir, DECODE),
            **GATE_TAGS,
        },
        model_id=logged.model_id,
    )
    outcome = register_again(store, model_dir, run_id)
    check_repaired(store, run_id, outcome)
    assert not outcome.model_reused  # that copy has no fingerprint: one more, reused from now on
    assert outcome.reason.endswith("; @challenger set")
    assert outcome.finished == {}
    assert register_again(store, model_dir, run_id).model_reused


# -------------------------------------------------------------------------- promotions at once
AUDIT_TAGS = {
    "promoted_at",
    "promoted_by",
    "promotion_reason",
    "promotion_forced",
    "promotion_checks",
}


def promotable_versions(store: Store, model_dir: Path, values: list[float]) -> list[str]:
    """Versions of the working model scored ``values``, each with the tags a registration that
    passed the gate writes (created directly: the register stage would load the model each time)."""
    from summarizer.registry.logged_model import files_digest
    from summarizer.registry.stored_model import DIGEST_TAG

    (run_id,) = prepared_runs(store.uri, model_dir, 1)
    logged = registry.ensure_logged(store.uri, run_id, model_dir, DECODE)
    client = store.client()
    client.create_registered_model(MODEL_NAME)
    digest = files_digest(model_dir, DECODE)
    return [
        str(
            client.create_model_version(
                MODEL_NAME,
                logged.model_uri,
                run_id=run_id,
                tags={
                    "metric.rougeL_f": str(value),
                    "selection_metric": "rougeL_f",
                    DIGEST_TAG: digest,
                    **GATE_TAGS,
                },
                model_id=logged.model_id,
            ).version
        )
        for value in values
    ]


def promote_in_child(
    params: str, version: str, reason: str, output: str, barrier: Any, settle: float
) -> None:
    """``summarizer promote`` in a fresh process, its output to ``output``; held at ``barrier``
    after its checks and its re-read of @champion, just before it claims the promotion."""
    from summarizer.cli import app
    from summarizer.registry import champion_claim

    champion_claim.SETTLE_SECONDS = settle
    claim = champion_claim.write_claim

    def claim_together(*args: Any, **kwargs: Any) -> None:
        barrier.wait(timeout=CHILD_TIMEOUT)  # both passed their checks and saw @champion on v1
        claim(*args, **kwargs)

    champion_claim.write_claim = claim_together
    with open(output, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        args = ["promote", "--version", version, "--reason", reason, "--params", params]
        app(args, prog_name="summarizer")  # exits with the command's status


@pytest.mark.parametrize(
    "targets", [("2", "3"), ("2", "2")], ids=["different-versions", "same-version"]
)
def test_of_two_promotes_at_once_exactly_one_wins(
    store: Store, model_dir: Path, tmp_path: Path, targets: tuple[str, str]
) -> None:
    """Different versions: the last alias write decides; the same version: the last claim. The
    loser exits 1 saying @champion moved under it, and no tag claims its promotion."""
    assert promotable_versions(store, model_dir, [20.0, 21.0, 22.0]) == ["1", "2", "3"]
    registry.promote(store.uri, MODEL_NAME, 1, reason="first")
    params = str(write_params(tmp_path / "params.yaml"))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    outputs = [tmp_path / f"promote-{index}.txt" for index in range(2)]
    processes = [
        context.Process(
            target=promote_in_child,
            # A settle interval well above the gap between the two writes on a busy machine.
            args=(params, target, f"race {index}", str(output), barrier, 3.0),
        )
        for index, (target, output) in enumerate(zip(targets, outputs, strict=True))
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(CHILD_TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join()
    codes = [process.exitcode for process in processes]
    texts = [" ".join(output.read_text().split()) for output in outputs]
    assert sorted(codes) == [0, 1], (codes, texts)
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    won = targets[winner]
    assert f"moved @champion of 'summarizer-test': version 1 -> version {won}" in texts[winner]
    assert texts[loser].startswith("error: ") and "Traceback" not in texts[loser], texts[loser]
    if targets[0] != targets[1]:
        assert texts[loser].endswith(
            f"@champion of 'summarizer-test' moved to version {won} while this promote of "
            f"version {targets[loser]} ran (another promote or rollback at the same time won); "
            "nothing changed"
        )
    else:
        assert texts[loser].endswith(
            "version 2 of 'summarizer-test' was promoted to @champion by another promote at "
            f"the same time (by {getpass.getuser()}), which records it; this one changed nothing"
        )

    assert aliases(store.uri)["champion"] == won
    versions = live_versions(store.uri)
    assert set(versions[won]) >= AUDIT_TAGS
    assert versions[won]["promotion_reason"] == f"race {winner}"
    assert versions[won]["previous_champion"] == "1"
    lost = targets[loser]
    if lost != won:
        assert not AUDIT_TAGS & set(versions[lost])
        # Put back as it was: it had none ("" reads as none, and an account that may set tags
        # need not be allowed to delete them).
        assert versions[lost].get("previous_champion", "") == ""
    # The rollback target is the champion both promotes replaced.
    back = registry.rollback(store.uri, MODEL_NAME, dry_run=True)
    assert (back.previous, back.version) == (won, "1")


def test_a_promote_whose_champion_moved_during_its_checks_changes_nothing(
    store: Store, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from summarizer.registry import promotion

    promotable_versions(store, model_dir, [20.0, 21.0, 22.0])
    registry.promote(store.uri, MODEL_NAME, 1, reason="first")
    smoke = promotion.smoke_summaries

    def others_promote_meanwhile(model: Any) -> list[str]:
        store.client().set_registered_model_alias(MODEL_NAME, "champion", "3")
        return smoke(model)

    monkeypatch.setattr(promotion, "smoke_summaries", others_promote_meanwhile)
    with pytest.raises(
        registry.PromotionConflict,
        match=r"@champion of 'summarizer-test' moved from version 1 to version 3 while this "
        r"promote of version 2 ran; nothing changed",
    ):
        registry.promote(store.uri, MODEL_NAME, 2, reason="late")
    assert aliases(store.uri)["champion"] == "3"
    assert not (AUDIT_TAGS | {"previous_champion"}) & set(live_versions(store.uri)["2"])


def test_a_promote_overtaken_while_settling_puts_back_what_it_wrote(
    store: Store, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step (e), each way a concurrent promote can land while this one settles."""
    import json

    from summarizer.registry import champion_claim

    promotable_versions(store, model_dir, [20.0, 21.0, 22.0])
    registry.promote(store.uri, MODEL_NAME, 1, reason="first")
    client = store.client()
    # Version 2 was champion once, before: its rollback target must survive a lost race.
    client.set_model_version_tag(MODEL_NAME, "2", "previous_champion", "7")

    def other_promote(version: str) -> None:
        claim = {"nonce": "another", "version": version, "by": "bo"}
        client.set_registered_model_tag(MODEL_NAME, "promotion_claim", json.dumps(claim))
        client.set_registered_model_alias(MODEL_NAME, "champion", version)

    # Another version's promote moved the alias last: this one lost, and undoes its tag.
    monkeypatch.setattr(champion_claim, "settle", lambda: other_promote("3"))
    with pytest.raises(
        registry.PromotionConflict,
        match=r"@champion of 'summarizer-test' moved to version 3 while this promote of version "
        r"2 ran \(another promote or rollback at the same time won\); nothing changed",
    ):
        registry.promote(store.uri, MODEL_NAME, 2, reason="lost")
    assert aliases(store.uri)["champion"] == "3"
    tags = live_versions(store.uri)["2"]
    assert tags["previous_champion"] == "7" and not AUDIT_TAGS & set(tags)

    # A promote of the same version claimed last: the alias is where both wanted it, and the
    # other one records the promotion.
    client.set_registered_model_alias(MODEL_NAME, "champion", "1")
    monkeypatch.setattr(champion_claim, "settle", lambda: other_promote("2"))
    with pytest.raises(
        registry.PromotionConflict,
        match=r"version 2 of 'summarizer-test' was promoted to @champion by another promote at "
        r"the same time \(by bo\), which records it; this one changed nothing",
    ):
        registry.promote(store.uri, MODEL_NAME, 2, reason="also lost")
    assert aliases(store.uri)["champion"] == "2"
    tags = live_versions(store.uri)["2"]
    assert tags["previous_champion"] == "1" and not AUDIT_TAGS & set(tags)

    # Nobody else: this promote wins, and only now tags the version.
    monkeypatch.setattr(champion_claim, "settle", lambda: None)
    change = registry.promote(store.uri, MODEL_NAME, 3, reason="won", user="cy")
    assert change.changed and aliases(store.uri)["champion"] == "3"
    tags = live_versions(store.uri)["3"]
    assert (tags["promoted_by"], tags["promotion_reason"], tags["previous_champion"]) == (
        "cy",
        "won",
        "2",
    )
    claim = json.loads(client.get_registered_model(MODEL_NAME).tags["promotion_claim"])
    assert (claim["version"], claim["by"], claim["previous"]) == ("3", "cy", "2")
