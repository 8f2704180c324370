"""Raw dataset files to one canonical table per split: cleaning, splitting, the test set's entry.

Everything is read and checked in memory and returned; the ``ingest`` stage writes it only when
all of it is good, so a bad raw file leaves the previous outputs as they were.
"""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from summarizer.config.data import DatasetSpec, IngestParams
from summarizer.config.paths import SPLITS
from summarizer.data.tables import read_split
from summarizer.errors import DataError


def _duplicate_pairs(table: pd.DataFrame) -> pd.Series:
    """True on every repeat of an earlier (document, summary) pair."""
    return table.duplicated(subset=["document", "summary"], keep="first")


def _test_set_entry(
    source_rows: int, rows: int, filtered: bool, flagged: dict[str, list[str]]
) -> dict:
    """What became of the standard test set: scores on a changed one do not compare with
    published numbers, so evaluate and the MLflow run carry ``note`` beside the scores."""
    removed = source_rows - rows
    note = (
        f"test set modified: {removed} of {source_rows} rows"
        if removed
        else f"test set whole: {rows} rows"
    )
    return {
        "filter_test": filtered,
        "source_rows": source_rows,
        "rows": rows,
        "modified": removed > 0,
        "note": note,
        # Rows ingest removes from train and validation; removed here only with filter_test.
        "flagged": {
            reason: {"count": len(ids), "ids": ids} for reason, ids in flagged.items() if ids
        },
    }


def build_splits(spec: DatasetSpec, params: IngestParams) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read, clean and split a dataset. Returns the tables and a report of what was removed.

    The test split is only cleaned with ``params.filter_test``: it is a standard set, and a score
    on a changed one cannot be put beside published numbers. Otherwise what would have been
    removed is reported (``test_set.flagged``) and kept.
    """
    tables = {split: read_split(spec, split) for split in SPLITS if split in spec.splits}
    report: dict = {"dataset": spec.name, "removed": {}, "rows": {}}
    source_test_rows = len(tables["test"])
    flagged_in_test: dict[str, list[str]] = {}

    for split, table in tables.items():
        if not params.drop_duplicates:
            continue
        duplicated = _duplicate_pairs(table)
        if split == "test":
            flagged_in_test["duplicate_pairs"] = table.loc[duplicated, "id"].astype(str).tolist()
            if not params.filter_test:
                continue
        tables[split] = table.loc[~duplicated].reset_index(drop=True)
        report["removed"].setdefault(split, {})["duplicate_pairs"] = int(duplicated.sum())

    if params.drop_test_overlap:
        test_documents = set(tables["test"]["document"])
        for split in ("train", "validation"):
            if split in tables:
                leaked = tables[split]["document"].isin(test_documents)
                tables[split] = tables[split].loc[~leaked].reset_index(drop=True)
                report["removed"].setdefault(split, {})["test_overlap"] = int(leaked.sum())

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
    report["test_set"] = _test_set_entry(
        source_test_rows, len(tables["test"]), params.filter_test, flagged_in_test
    )
    return tables, report
