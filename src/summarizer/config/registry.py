"""The ``register`` section: which registered model a run goes to and what ranks versions."""

from __future__ import annotations

from pydantic import Field

from summarizer.config.base import Section


class RegisterParams(Section):
    """What the register stage registers, and the metric that ranks versions."""

    model_name: str = Field("summarizer", min_length=1)
    # Key of the "test" entry of reports/metrics.json: a run is registered only if it beats every
    # registered version on it, and promote refuses a version that is worse than the champion.
    metric: str = "rougeL_f"
    greater_is_better: bool = True
