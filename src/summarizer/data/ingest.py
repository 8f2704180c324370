"""Raw dataset files to one canonical table per split: cleaning, splitting, the test set's entry.

Everything is read and checked in memory and returned; the ``ingest`` stage writes it only when
all of it is good, so a bad raw file leaves the previous outputs as they were.
"""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

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


def carve(
    table: pd.DataFrame, size: float, seed: int, by_document: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``table`` split into (the rest, a seeded ``size`` share of it). ``by_document``: the share
    is of distinct documents, and all rows of one document land on the same side (scikit-learn's
    ``GroupShuffleSplit``), so that no carved document was also trained on."""
    if by_document:
        splitter = GroupShuffleSplit(n_splits=1, test_size=size, random_state=seed)
        rest, carved = next(splitter.split(table, groups=table["document"]))
        return table.iloc[rest].reset_index(drop=True), table.iloc[carved].reset_index(drop=True)
    rest_part, carved_part = train_test_split(
        table, test_size=size, random_state=seed, shuffle=True
    )
    return rest_part.reset_index(drop=True), carved_part.reset_index(drop=True)


def merge_references(table: pd.DataFrame) -> pd.DataFrame:
    """One row per document, in first-seen order, whose ``references`` are the distinct
    summaries of all its rows (the first is the row's ``summary``); the ``id`` is its first
    row's."""
    references = table.get("references", table["summary"].map(lambda text: [text]))
    rows = table.assign(references=references).groupby("document", sort=False)
    merged = rows.agg(
        id=("id", "first"),
        summary=("summary", "first"),
        references=(
            "references",
            lambda lists: list(dict.fromkeys(r for refs in lists for r in refs)),
        ),
    ).reset_index()
    return merged[["id", "document", "summary", "references"]]


def build_splits(spec: DatasetSpec, params: IngestParams) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read, clean and split a dataset. Returns the tables and a report of what was removed.

    The test split is only cleaned with ``params.filter_test``: it is a standard set, and a score
    on a changed one cannot be put beside published numbers. Otherwise what would have been
    removed is reported (``test_set.flagged``) and kept.
    """
    tables = {split: read_split(spec, split) for split in SPLITS if split in spec.splits}
    report: dict = {"dataset": spec.name, "removed": {}, "rows": {}}
    if "test" not in tables:
        assert params.test_size is not None  # the params check (check_test_split_source)
        _check_can_carve(tables["train"], spec, "test")
        tables["train"], tables["test"] = carve(
            tables["train"], params.test_size, params.seed, params.carve_by_document
        )
        report["test_carved_from_train"] = True
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
        _check_can_carve(tables["train"], spec, "validation")
        tables["train"], tables["validation"] = carve(
            tables["train"], params.validation_size, params.seed, params.carve_by_document
        )
        report["validation_carved_from_train"] = True

    merged_rows = 0
    if params.merge_test_references:
        before = len(tables["test"])
        tables["test"] = merge_references(tables["test"])
        merged_rows = before - len(tables["test"])

    for split, table in tables.items():
        if table.empty:
            raise DataError(
                f"{spec.path}: split '{split}' of '{spec.name}' is empty after cleaning"
            )
        report["rows"][split] = len(table)
    report["removed_total"] = sum(sum(counts.values()) for counts in report["removed"].values())
    report["test_set"] = _test_set_entry(
        source_test_rows, len(tables["test"]) + merged_rows, params.filter_test, flagged_in_test
    )
    entry = report["test_set"]
    if report.get("test_carved_from_train"):
        entry["note"] += f", carved from train (ingest.test_size {params.test_size})"
    if merged_rows:
        # Not a modification: the same pairs, each document's translations as its references.
        entry["merged_into_references"] = merged_rows
        entry["note"] += (
            f", {len(tables['test'])} examples (rows of one document merged, their summaries "
            "its references)"
        )
    return tables, report


def _check_can_carve(train: pd.DataFrame, spec: DatasetSpec, split: str) -> None:
    if train["document"].nunique() < 2:
        raise DataError(
            f"{spec.path}: train split of '{spec.name}' has {len(train)} row(s) of "
            f"{train['document'].nunique()} document(s); cannot carve a {split} split"
        )
