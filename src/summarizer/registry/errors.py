"""What the registry refuses, as errors the CLI prints without a traceback."""

from __future__ import annotations

from summarizer.errors import SummarizerError


class RegistryError(SummarizerError):
    """A registered model, alias or version is missing, or the registry refused a change."""


class PromotionRefused(RegistryError):
    """A guard rail (gate, metric, load, smoke prediction) stopped a promotion."""


class PromotionConflict(RegistryError):
    """``@champion`` moved under a promotion (another promote or a rollback at the same time
    won); this promotion changed nothing."""
