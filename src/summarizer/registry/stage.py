"""Stage ``register``: read what train and evaluate left behind, then log and register."""

from __future__ import annotations

from summarizer import tracking
from summarizer.config import Params, Paths
from summarizer.io import read_json
from summarizer.registry.policy import RegistryError
from summarizer.registry.registration import RegisterOutcome, log_and_register

REGISTER_REPORT = Paths.reports / "register.json"


def run_register(params: Params) -> RegisterOutcome:
    """The DVC stage: register the trained model if it passes the gate (beats the baseline of
    ``reports/evaluation.json``, passes its degeneracy checks and the smoke test) and beats every
    registered version, and write the decision to :data:`REGISTER_REPORT` (and on the training
    run) either way."""
    settings = params.register_
    for needed in (Paths.train_run, Paths.evaluation):
        if not needed.is_file():
            raise RegistryError(f"{needed}: not found; run the train and evaluate stages first")
    run_info = read_json(Paths.train_run)
    if not run_info.get("finished"):
        raise RegistryError(f"{Paths.train_run}: training did not finish; run the train stage")
    metrics = read_json(Paths.evaluation)
    if not isinstance(metrics.get("test"), dict):
        raise RegistryError(f"{Paths.evaluation}: no 'test' entry; run the evaluate stage")
    uri = tracking.tracking_uri(params.tracking.uri)
    # An evaluation with other evaluate params than the run's first has a run of its own.
    run_id = metrics.get("run_id", run_info["run_id"])
    tracking.ensure_reachable(uri)
    tracking.close_abandoned_runs(uri, params.tracking.experiment)
    # Logging the model reopens the run (RUNNING) and gives it back its status afterwards: held
    # by this process meanwhile, and a SIGTERM ends the stage through that hand-back.
    tracking.claim(uri, run_id)
    with tracking.exit_cleanly_on_sigterm():
        return log_and_register(
            uri=uri,
            run_id=run_id,
            model_name=settings.model_name,
            model_dir=Paths.model_dir,
            test_metrics=metrics["test"],
            metric=settings.metric,
            greater_is_better=settings.greater_is_better,
            decode=params.evaluate.decode,
            report=REGISTER_REPORT,
            evaluation=metrics,
            gate=settings,
            serve=params.serve,
        )
