"""Stage ``validate``: the Great Expectations suite over every ingested split, its summary and
Data Docs."""

from __future__ import annotations

import logging

from summarizer.config.data import DataStageParams
from summarizer.config.paths import SPLITS, Paths
from summarizer.data.validation import ValidationReport, validate_splits
from summarizer.errors import ValidationFailed
from summarizer.io import read_stage_table, write_json
from summarizer.stages.validation_gate import interim_hash

log = logging.getLogger(__name__)


def run(params: DataStageParams) -> ValidationReport:
    """Stage ``validate``: check every ingested split, write the summary and the Data Docs.

    The summary is written whether or not the data passes, so that the failure is inspectable;
    a failure that stops the pipeline then raises :class:`ValidationFailed` so the stage exits
    non-zero. Dropped and reported rows are logged as a warning and the stage succeeds.
    """
    tables = {split: read_stage_table(Paths.interim_split(split), "ingest") for split in SPLITS}
    report = validate_splits(tables, params.validate_, Paths.validation_docs)
    # The hash ties the verdict to these very tables: a later stage refuses data that changed.
    write_json(Paths.validation_summary, {**report.to_summary(), "data_hash": interim_hash()})
    if not report.success:
        raise ValidationFailed(report.format())
    if report.failures:
        log.warning("%s", report.format())
    return report
