"""Stage ``ingest``: raw dataset files to one canonical Parquet table per split.

Everything is read and checked before anything is written, so a bad raw file leaves the previous
outputs as they were.
"""

from __future__ import annotations

import logging

import pandas as pd
from sklearn.model_selection import train_test_split

from summarizer.config import SPLITS, DatasetSpec, IngestParams, Params, Paths
from summarizer.data.formats import read_split
from summarizer.errors import DataError
from summarizer.io import atomic_directory, write_json

log = logging.getLogger(__name__)


def _drop_duplicate_pairs(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    deduped = table.drop_duplicates(subset=["document", "summary"], keep="first")
    return deduped.reset_index(drop=True), len(table) - len(deduped)


def _drop_test_documents(table: pd.DataFrame, test_documents: set[str]) -> tuple[pd.DataFrame, int]:
    leaked = table["document"].isin(test_documents)
    return table.loc[~leaked].reset_index(drop=True), int(leaked.sum())


def build_splits(spec: DatasetSpec, params: IngestParams) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read, clean and split a dataset. Returns the tables and a report of what was removed."""
    tables = {split: read_split(spec, split) for split in SPLITS if split in spec.splits}
    report: dict = {"dataset": spec.name, "removed": {}, "rows": {}}

    for split, table in tables.items():
        if params.drop_duplicates:
            tables[split], removed = _drop_duplicate_pairs(table)
            report["removed"].setdefault(split, {})["duplicate_pairs"] = removed

    if params.drop_test_overlap:
        test_documents = set(tables["test"]["document"])
        for split in ("train", "validation"):
            if split in tables:
                tables[split], removed = _drop_test_documents(tables[split], test_documents)
                report["removed"].setdefault(split, {})["test_overlap"] = removed

    if "validation" not in tables:
        train = tables["train"]
        if len(train) < 2:
            raise DataError(
                f"{spec.path}: train split of '{spec.name}' has {len(train)} row(s); "
                "cannot carve a validation split"
            )
        train_part, validation_part = train_test_split(
            train, test_size=params.validation_size, random_state=params.seed, shuffle=True
        )
        tables["train"] = train_part.reset_index(drop=True)
        tables["validation"] = validation_part.reset_index(drop=True)
        report["validation_carved_from_train"] = True

    for split, table in tables.items():
        if table.empty:
            raise DataError(
                f"{spec.path}: split '{split}' of '{spec.name}' is empty after cleaning"
            )
        report["rows"][split] = len(table)
    report["removed_total"] = sum(sum(counts.values()) for counts in report["removed"].values())
    return tables, report


def run_ingest(params: Params) -> dict:
    """Stage ``ingest``: write ``data/interim/{split}.parquet`` and ``reports/ingest.json``."""
    tables, report = build_splits(params.dataset, params.ingest)
    with atomic_directory(Paths.interim) as tmp:
        tmp.mkdir(parents=True)
        for split, table in tables.items():
            table.to_parquet(tmp / f"{split}.parquet", index=False)
    write_json(Paths.ingest_report, report)
    for split, counts in report["removed"].items():
        for reason, count in counts.items():
            log.info("%s: removed %d row(s) (%s)", split, count, reason.replace("_", " "))
    log.info("rows per split: %s", report["rows"])
    return report
