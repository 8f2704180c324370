"""The ``tracking`` section: where runs are recorded. Read by every stage that records into MLflow
but a DVC param of none that trains: the store a run goes to does not change the model."""

from __future__ import annotations

from summarizer.config.base import Section


class TrackingParams(Section):
    """Which MLflow store and experiment the runs go to."""

    experiment: str = "summarizer"
    # null: $MLFLOW_TRACKING_URI if set, else an SQLite database in the repository root.
    uri: str | None = None
    log_system_metrics: bool = True
