"""The model registry: keep the best model registered, promote it by alias with guard rails,
roll back, list versions, and serve what is registered through one pyfunc model.

The registry is the source of truth: every comparison reads the metric stored as a tag on each
version (``metric.<key>``), never a value remembered by this process or a local file, so two
workspaces sharing one store agree on what "the best" is.

Aliases (MLflow 3 has no stages):

- ``@challenger``: the best version registered so far, moved by the ``register`` stage;
- ``@champion``: what users and ``mlflow models serve`` get, moved only by ``promote`` and
  ``rollback``. Each promotion tags the new champion with the previous one, so a rollback knows
  where to go back to.

A run becomes a version only if it passes the gate (beats the dataset's baseline, passes the
degeneracy checks of ``reports/evaluation.json`` and a smoke test) and beats every version.
Registration is atomic without a lock, on SQLite and on a tracking server alike: a version is
created ``pending`` and re-checked against the versions created before it, and a ``register``
finishes what an interrupted one left (see :mod:`.registration`).

Modules: :mod:`.policy` decides (pure functions over version metadata), :mod:`.gate` judges a run
from its evaluation report, :mod:`.registration`
and :mod:`.promotion` apply the decisions, :mod:`.versions` reads the registry,
:mod:`.logged_model` logs, loads and calls the model, :mod:`.pyfunc` is the model MLflow runs
(imported only where a model is logged or loaded: it pulls in torch), :mod:`.stage` is the DVC
stage.
"""

from summarizer.registry.logged_model import (
    ensure_logged,
    load_model,
    log_model,
    pip_requirements,
    smoke_test,
    summarize_with_registered_model,
)
from summarizer.registry.policy import (
    CHALLENGER,
    CHAMPION,
    PromotionConflict,
    PromotionRefused,
    RegistryError,
)
from summarizer.registry.promotion import AliasChange, promote, rollback
from summarizer.registry.registration import RegisterOutcome, log_and_register
from summarizer.registry.stage import REGISTER_REPORT, run_register
from summarizer.registry.versions import VersionRow, check_model_uri, list_versions

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "REGISTER_REPORT",
    "AliasChange",
    "PromotionConflict",
    "PromotionRefused",
    "RegisterOutcome",
    "RegistryError",
    "VersionRow",
    "check_model_uri",
    "ensure_logged",
    "list_versions",
    "load_model",
    "log_and_register",
    "log_model",
    "pip_requirements",
    "promote",
    "rollback",
    "run_register",
    "smoke_test",
    "summarize_with_registered_model",
]
