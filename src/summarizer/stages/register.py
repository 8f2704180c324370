"""Stage ``register``: read what train and evaluate left behind, then log and register."""

from __future__ import annotations

from summarizer import run_ownership, tracking
from summarizer.config.params import Params
from summarizer.config.paths import Paths
from summarizer.evaluation.report import EvaluationReport
from summarizer.io import read_json
from summarizer.model_io import META
from summarizer.registry.errors import RegistryError
from summarizer.registry.registration import RegisterOutcome, log_and_register
from summarizer.registry.versions import get_run
from summarizer.stages import card_facts, run_handoff


def run(params: Params) -> RegisterOutcome:
    """The DVC stage: register the trained model if it passes the gate (beats the baseline of
    ``reports/evaluation.json``, passes its degeneracy checks and the smoke test) and beats every
    registered version, and write the decision to :data:`Paths.register_report` (and on the training
    run) either way."""
    for needed in (Paths.train_run, Paths.evaluation):
        if not needed.is_file():
            raise RegistryError(f"{needed}: not found; run the train and evaluate stages first")
    training = run_handoff.training_record()
    model_meta = Paths.model_dir / META
    run_handoff.check_model_is_of(read_json(model_meta) if model_meta.is_file() else {}, training)
    evaluation = EvaluationReport.from_dict(read_json(Paths.evaluation), str(Paths.evaluation))
    if evaluation.test is None:
        raise RegistryError(f"{Paths.evaluation}: no 'test' entry; run the evaluate stage")
    uri = tracking.tracking_uri(params.tracking.uri)
    run_id = run_handoff.run_to_register(evaluation.run_id, training)
    tracking.ensure_reachable(uri)
    run_ownership.close_abandoned_runs(uri, params.tracking.experiment)
    card = card_facts.gather(params, evaluation, run_id, get_run(uri, run_id).data.tags)
    # A SIGTERM ends the stage through its finally blocks: no scratch copy of the model is left.
    with run_ownership.exit_cleanly_on_sigterm():
        return log_and_register(
            uri=uri,
            run_id=run_id,
            settings=params.register_,
            model_dir=Paths.model_dir,
            test_metrics=evaluation.test,
            evaluation=evaluation,
            decode=params.evaluate.decode,
            serve=params.serve,
            report=Paths.register_report,
            card=card,
        )
