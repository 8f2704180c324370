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

Modules (pure ones marked *):

====================  ==========================================================================
``metadata`` *        what a version stores (metric and state tags, aliases) and reading it back
``policy`` *          the decisions: better than every version, survives its re-check, which
                      version holds @challenger, may it replace @champion, where rollback goes
``gate`` *            the registration gate, from the evaluation report or a version's tags
``smoke``             the smoke test: documents, the rule (*), asking a model
``registration``      ``log_and_register``: the optimistic registration protocol
``new_version``       a new pending version with its tags; ``registrar``: re-check, @challenger
``promotion``         ``promote`` behind guard rails, ``rollback``
``champion_claim``    how one of several promotes at once wins
``store_writes``      writes that survive insert races
``versions``          reading the registry (models, versions, aliases, ``models:/`` URIs)
``logged_model``      logging the model into its run, once
``loading``           loading it back and asking it for summaries as the server would
``stored_model``      a version read as data, checked against its digest
``model_card`` *      the facts of a model card; ``card_markdown``, ``card_sections``,
                      ``card_format`` *: the card as Markdown
``cards``             the card as a logged model's README.md and a version's description
``comparison``        two evaluations compared example by example, from what their runs logged
``evidence``          better beyond noise? the paired test ``register`` and ``promote`` apply
``errors``            what the registry refuses
====================  ==========================================================================

:mod:`.pyfunc` is the model MLflow runs (imported only where a model is logged or loaded: it
pulls in torch). The ``register`` stage is :mod:`summarizer.stages.register`.
"""

from summarizer.registry.cards import read_card
from summarizer.registry.errors import PromotionConflict, PromotionRefused, RegistryError
from summarizer.registry.loading import load_model, summarize_with_registered_model
from summarizer.registry.logged_model import ensure_logged, log_model, pip_requirements
from summarizer.registry.metadata import CHALLENGER, CHAMPION
from summarizer.registry.promotion import AliasChange, promote, rollback
from summarizer.registry.registration import RegisterOutcome, log_and_register
from summarizer.registry.smoke import smoke_test
from summarizer.registry.versions import VersionRow, check_model_uri, list_versions

__all__ = [
    "CHALLENGER",
    "CHAMPION",
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
    "read_card",
    "rollback",
    "smoke_test",
    "summarize_with_registered_model",
]
