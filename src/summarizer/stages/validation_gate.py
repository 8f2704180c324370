"""The validation verdict as a gate: stages after ``validate`` refuse data it did not pass, and
leave out the rows it dropped.

Kept apart from :mod:`summarizer.data.validation` (Great Expectations and the suite) so that the
stages that check the verdict do not depend on the suite's code.
"""

from __future__ import annotations

import logging

from summarizer.config.paths import SPLITS, Paths
from summarizer.errors import DataError, ValidationFailed
from summarizer.io import hash_files, read_json

log = logging.getLogger(__name__)


def interim_hash() -> str:
    """Identity of the ingested tables as they are on disk now."""
    return hash_files(Paths.interim_split(split) for split in SPLITS)


def require_validated() -> dict[str, frozenset[str]]:
    """Refuse to go on unless ``validate`` passed on the ingested tables as they are now.

    ``dvc repro`` orders the stages, but a stage run by hand (``summarizer tokenize``) would
    otherwise tokenize data whose validation failed or never ran.

    Returns:
        Per split, the ids of the rows ``validate`` dropped (``validate.drop_invalid_rows``):
        rows that break a row-level expectation, to be left out of everything downstream.
    """
    summary_path = Paths.validation_summary
    if not summary_path.is_file():
        raise DataError(f"{summary_path}: not found; run the validate stage first")
    summary = read_json(summary_path)
    if not summary.get("success"):
        stopping = summary.get("stopping", summary.get("failed", "?"))
        raise ValidationFailed(
            f"{summary_path}: the ingested data failed validation ({stopping} "
            "expectation(s)); fix the data or the validate params and run validate again"
        )
    if summary.get("data_hash") != interim_hash():
        raise ValidationFailed(
            f"{summary_path}: describes other data than {Paths.interim} holds now; "
            "run the validate stage again"
        )
    return _dropped(summary)


def dropped_ids() -> dict[str, frozenset[str]]:
    """Per split, the ids ``validate`` dropped, without the gate: for tools such as
    ``tune-decoding`` that read an ingested split outside the pipeline (empty when validate has
    not run)."""
    nothing = {split: frozenset[str]() for split in SPLITS}
    if not Paths.validation_summary.is_file():
        return nothing
    summary = read_json(Paths.validation_summary)
    try:
        current = interim_hash()
    except FileNotFoundError:
        current = None
    if summary.get("data_hash") != current:
        # Ids of other data would leave out the wrong rows.
        log.warning(
            "%s describes other data than %s holds now: no rows left out; run validate again",
            Paths.validation_summary,
            Paths.interim,
        )
        return nothing
    return _dropped(summary)


def _dropped(summary: dict) -> dict[str, frozenset[str]]:
    dropped = summary.get("dropped_ids") or {}
    return {split: frozenset(map(str, dropped.get(split, ()))) for split in SPLITS}
