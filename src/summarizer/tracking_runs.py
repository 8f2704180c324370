"""MLflow runs: a run started or resumed with its params and tags, the metrics and artifacts
logged into it, an evaluation's own run, and an end that never leaves it RUNNING."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from summarizer.errors import first_line
from summarizer.redaction import environment_secrets, mask_uri, redact
from summarizer.run_ownership import (
    END_REASON_TAG,
    Terminated,
    exit_cleanly_on_sigterm,
    owner_tags,
)
from summarizer.tracking import (
    MAX_PARAM_VALUE,
    TrackingError,
    access_error,
    client,
    experiment_id,
)

log = logging.getLogger(__name__)

# Where a run's model came from; an evaluation in a run of its own carries them too.
LINEAGE_TAGS = ("dataset", "data_hash", "git_commit", "git_dirty", "mlflow.source.git.commit")


def flatten_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Param values as MLflow stores them: strings, cut to the longest value it accepts."""
    return {key: str(value)[:MAX_PARAM_VALUE] for key, value in params.items()}


class TrackedRun:
    """An MLflow run a stage records into: the training's (resumed by id after an interruption),
    or an evaluation's of its own (:meth:`for_evaluation`).

    A run this process opened (``opened``: :meth:`start`, or a new evaluation run) carries
    :func:`owner_tags`; :meth:`closing` guarantees it does not stay RUNNING after the stage.
    """

    def __init__(self, uri: str, run_id: str, opened: bool = False) -> None:
        self.uri = uri
        self.run_id = run_id
        self.opened = opened
        self.ended: str | None = None  # the status this process gave it
        self._client = client(uri)

    @classmethod
    def start(
        cls,
        uri: str,
        experiment: str,
        *,
        run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        run_name: str | None = None,
    ) -> TrackedRun:
        """Resume run ``run_id`` (marked running again), or create one with ``params`` and
        ``tags`` in ``experiment``; any failure is a :class:`TrackingError`."""
        mlflow_client = client(uri)
        created = None
        try:
            if run_id is not None:
                mlflow_client.update_run(run_id, status="RUNNING")
                for key, value in owner_tags().items():
                    mlflow_client.set_tag(run_id, key, value)
                if END_REASON_TAG in mlflow_client.get_run(run_id).data.tags:
                    mlflow_client.delete_tag(run_id, END_REASON_TAG)  # it goes on after all
                log.info("resuming MLflow run %s", run_id)
            else:
                run = mlflow_client.create_run(
                    experiment_id(uri, experiment),
                    tags={**dict(tags or {}), **owner_tags()},
                    run_name=run_name,
                )
                run_id = created = run.info.run_id
                if params:
                    from mlflow.entities import Param

                    flat = flatten_params(params)
                    items = [Param(key, value) for key, value in flat.items()]
                    for start in range(0, len(items), 100):  # MLflow's batch limit
                        mlflow_client.log_batch(run_id, params=items[start : start + 100])
        except TrackingError:
            raise
        except Exception as exc:
            if created is not None:
                cls(uri, created).end("FAILED", f"cannot log its params: {first_line(exc)}")
            raise TrackingError(
                f"MLflow at {mask_uri(uri)}: cannot start a run: {redact(str(exc), uri)}"
            ) from None
        return cls(uri, run_id, opened=True)

    def for_evaluation(self, evaluate_params: Mapping[str, Any]) -> TrackedRun:
        """The run an evaluation with ``evaluate_params`` is logged into.

        This run the first time (the params are logged into it) and whenever it was evaluated
        with the same params. Evaluated before with others (``dvc exp run -S
        evaluate.decode.beam_size=1`` re-runs evaluate on the cached training), MLflow keeps
        params immutable and would overwrite the earlier scores; so the evaluation gets a new run
        in the same experiment, with this run's params and tags, a name ending in ``-eval-`` and
        the hash of its params, and the tag ``training_run`` pointing back here.
        """
        from mlflow.entities import Param

        flat = flatten_params(evaluate_params)
        run = None
        try:
            training = self._client.get_run(self.run_id)
            logged = {k: v for k, v in training.data.params.items() if k in flat}
            if logged == flat:
                return self
            if not logged:
                self._client.log_batch(self.run_id, params=[Param(k, v) for k, v in flat.items()])
                return self
            digest = hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()
            name = f"{training.info.run_name}-eval-{digest[:7]}"
            earlier = self._client.search_runs(
                [training.info.experiment_id],
                f"tags.training_run = '{self.run_id}' and attributes.run_name = '{name}'",
            )
            if earlier:  # the same evaluation again: its scores are replaced by equal ones
                return TrackedRun(self.uri, earlier[0].info.run_id)
            tags = {k: v for k, v in training.data.tags.items() if k in LINEAGE_TAGS}
            run = self._client.create_run(
                training.info.experiment_id,
                tags={**tags, "training_run": self.run_id, **owner_tags()},
                run_name=name,
            )
            params = {**training.data.params, **flat}
            items = [Param(key, value) for key, value in params.items()]
            for start in range(0, len(items), 100):  # MLflow's batch limit
                self._client.log_batch(run.info.run_id, params=items[start : start + 100])
        except Exception as exc:
            if run is not None:
                TrackedRun(self.uri, run.info.run_id).end(
                    "FAILED", f"cannot log its params: {first_line(exc)}"
                )
            raise TrackingError(
                f"MLflow at {mask_uri(self.uri)}: cannot log the evaluation: "
                f"{redact(str(exc), self.uri)}"
            ) from None
        log.info(
            "run %s was evaluated with other evaluate params; this evaluation is run %s",
            self.run_id,
            run.info.run_id,
        )
        return TrackedRun(self.uri, run.info.run_id, opened=True)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log ``metrics`` at ``step`` (0 if None) in one batch."""
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        batch = [Metric(key, float(value), now, step or 0) for key, value in metrics.items()]
        with self._failing_as(f"cannot log metrics into run {self.run_id}"):
            self._client.log_batch(self.run_id, metrics=batch)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Copy a file, or a directory's contents, into the run's artifacts."""
        what = f"cannot log {Path(path).name} into the artifacts of run {self.run_id}"
        with self._failing_as(what):
            if Path(path).is_dir():
                self._client.log_artifacts(self.run_id, str(path), artifact_path)
            else:
                self._client.log_artifact(self.run_id, str(path), artifact_path)

    def end(self, status: str = "FINISHED", reason: str | None = None) -> None:
        """Mark the run terminated with ``status`` (FINISHED, FAILED or KILLED); ``reason``
        (why it did not finish) goes into its :data:`END_REASON_TAG`. Ending a run that did not
        finish never raises: the error that ended it is the one worth showing."""
        try:
            if reason is not None:
                secrets = environment_secrets()
                shown = redact(reason, self.uri, secrets=secrets)[:MAX_PARAM_VALUE]
                self._client.set_tag(self.run_id, END_REASON_TAG, shown)
            self._client.set_terminated(self.run_id, status=status)
        except Exception as exc:
            if status == "FINISHED":
                raise TrackingError(
                    f"MLflow at {mask_uri(self.uri)}: cannot end run {self.run_id}: "
                    f"{redact(first_line(exc), self.uri)}"
                ) from None
            log.warning(
                "MLflow run %s could not be marked %s (%s); the next stage on this machine will",
                self.run_id,
                status,
                redact(first_line(exc), self.uri),
            )
            return
        self.ended = status

    @contextmanager
    def closing(self) -> Iterator[TrackedRun]:
        """Hold the run open while the block runs, and never leave it RUNNING: it ends
        FINISHED when the block ends (unless the block ended it), KILLED on SIGINT, SIGTERM (see
        :func:`exit_cleanly_on_sigterm`) or a training stopped by a signal, FAILED on any other
        error, which is raised again; the error's first line is the run's end reason."""
        try:
            with exit_cleanly_on_sigterm():
                yield self
        except BaseException as exc:
            if self.ended is None:
                stopped = isinstance(exc, KeyboardInterrupt | Terminated)
                stopped = stopped or getattr(exc, "signum", None) is not None  # TrainingInterrupted
                status = "KILLED" if stopped else "FAILED"
                self.end(status, f"{type(exc).__name__}: {first_line(exc)}")
                log.info("MLflow run %s marked %s", self.run_id, status)
            raise
        if self.ended is None:
            self.end("FINISHED")

    @contextmanager
    def _failing_as(self, what: str) -> Iterator[None]:
        # A store that fails mid-run (disk full under mlartifacts/, a server gone) says which
        # run and what could not be logged, in one line.
        try:
            yield
        except TrackingError:
            raise
        except Exception as exc:
            refused = access_error(exc)
            if refused is not None:
                raise refused from None
            raise TrackingError(
                f"MLflow at {mask_uri(self.uri)}: {what}: {redact(first_line(exc), self.uri)}"
            ) from None

    @contextmanager
    def system_metrics(self, enabled: bool = True):
        """Sample CPU, memory (and GPU) usage into the run while the block runs."""
        if not enabled:
            yield
            return
        try:
            from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

            monitor = SystemMetricsMonitor(
                self.run_id, sampling_interval=5, resume_logging=True, tracking_uri=self.uri
            )
            monitor.start()
        except Exception as exc:  # psutil missing or unsupported platform: not worth a failure
            log.warning("system metrics disabled: %s", redact(str(exc), self.uri))
            yield
            return
        try:
            yield
        finally:
            monitor.finish()
