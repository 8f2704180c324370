"""The Great Expectations suite the ``validate`` stage runs on each split, and what a broken
expectation means for the pipeline.

Derived columns (lengths, the test-overlap flag) are computed with pandas first, so every check
is a stock GX expectation that Data Docs can render. Thresholds come from
:class:`~summarizer.config.data.ValidateParams` only.

Every expectation carries its :class:`Kind` in ``meta["kind"]``, and :func:`action_for` turns a
kind and a split into what happens when the expectation breaks: the public datasets have blank
articles and over-long highlights that no user can fix, so only structural problems stop the
pipeline everywhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import pandas as pd

from summarizer.config.data import ValidateParams

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

REQUIRED_COLUMNS: tuple[str, ...] = ("id", "document", "summary")
TEXT_COLUMNS: tuple[str, ...] = ("document", "summary")
ID_COLUMN = "id"
# Derived column: True where a train/validation document is verbatim a test document.
IN_TEST_COLUMN = "document_in_test"
TEST_SPLIT = "test"

# C0 controls except \t (0x09) and \n (0x0a), DEL, and C1 controls. \r counts as a defect: the
# canonical tables are one text per cell and a stray carriage return means a mangled line ending.
CONTROL_CHARS_REGEX = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
# U+FFFD is what a lossy decode leaves behind; its presence means the raw bytes were not UTF-8.
REPLACEMENT_CHAR_REGEX = r"\ufffd"
# Empty or whitespace-only. pandas' str.contains uses re.search, so anchor both ends.
BLANK_REGEX = r"^\s*$"
# A letter or digit of any script ([^\W_] is \w without the underscore; Python's \w is
# Unicode-aware). Punctuation, emoji and zero-width spaces alone carry nothing to summarize.
# Blank text matches too: it has its own expectation, and one defect should be one failure.
HAS_WORD_CHAR_REGEX = r"^\s*$|[^\W_]"


class Kind(StrEnum):
    """What a broken expectation says about the data."""

    STRUCTURE = "structure"  # the table itself is wrong: stops the pipeline on every split
    ROW = "row"  # some rows are unusable; each such row can be left out on its own
    DISTRIBUTION = "distribution"  # a share over the split, no single row is at fault


class Action(StrEnum):
    """What happens to a split whose expectation broke."""

    STOP = "stop"  # the run fails
    DROP = "drop"  # the breaking rows are left out by tokenize (train and validation)
    KEEP = "keep"  # reported, rows kept (the test split is a standard set)


def action_for(kind: Kind, split: str, drop_invalid_rows: bool) -> Action:
    """What a broken expectation of ``kind`` on ``split`` does to the run."""
    if kind is Kind.STRUCTURE:
        return Action.STOP
    if split == TEST_SPLIT:
        # Scores on a changed test set do not compare with published ones; they are the facts
        # of the public dataset, reported beside the scores instead.
        return Action.KEEP
    if kind is Kind.ROW and drop_invalid_rows:
        return Action.DROP
    return Action.STOP


def kind_of(meta: dict[str, Any] | None) -> Kind:
    """The kind an expectation was given in :func:`expectations`; structural if none."""
    return Kind((meta or {}).get("kind", Kind.STRUCTURE))


def length_column(text_column: str) -> str:
    """Name of the derived length column checked for ``text_column``."""
    return f"{text_column}_length"


# ---------------------------------------------------------------------------- derived columns
def _is_blank(text: pd.Series) -> pd.Series:
    return text.isna() | text.astype("string").str.strip().eq("").fillna(True)


def text_lengths(text: pd.Series, unit: str) -> pd.Series:
    """Length per row in whitespace tokens or characters; missing for null or blank text.

    Blank text has its own expectation, so leaving its length missing keeps one defect from also
    showing up as a length and a summary-shorter failure.
    """
    as_text = text.astype("string")
    lengths = as_text.str.split().str.len() if unit == "tokens" else as_text.str.len()
    return lengths.astype("Int64").mask(_is_blank(text))


def with_derived_columns(
    table: pd.DataFrame, params: ValidateParams, test_documents: set[str] | None
) -> pd.DataFrame:
    """A copy of ``table`` with the columns the suite checks besides the table's own."""
    derived: dict[str, pd.Series] = {}
    for column in TEXT_COLUMNS:
        if column in table.columns:
            derived[length_column(column)] = text_lengths(table[column], params.length_unit)
    if test_documents is not None and "document" in table.columns:
        derived[IN_TEST_COLUMN] = table["document"].isin(test_documents).astype(bool)
    # assign() copies, so the caller's frame is never modified.
    return table.assign(**derived)


# ------------------------------------------------------------------------------------- suite
def _percent(share: float) -> str:
    # Not ":.0%": 0.995 would read as 100% and hide that some rows may break the bound.
    return f"{share * 100:g}%"


def _meta(kind: Kind) -> dict[str, str]:
    return {"kind": kind.value}


def _text_expectations(params: ValidateParams, column: str) -> list[Expectation]:
    import great_expectations as gx

    gxe = gx.expectations
    row = _meta(Kind.ROW)
    limits = {"document": params.document_length, "summary": params.summary_length}[column]
    unit = params.length_unit
    return [
        gxe.ExpectColumnValuesToNotBeNull(
            column=column, description=f"{column} is not null", meta=row
        ),
        gxe.ExpectColumnValuesToNotMatchRegex(
            column=column, regex=BLANK_REGEX, description=f"{column} is not blank", meta=row
        ),
        gxe.ExpectColumnValuesToMatchRegex(
            column=column,
            regex=HAS_WORD_CHAR_REGEX,
            description=(
                f"{column} has a letter or digit (not only punctuation, symbols or "
                "invisible characters)"
            ),
            meta=row,
        ),
        gxe.ExpectColumnValuesToNotMatchRegex(
            column=column,
            regex=CONTROL_CHARS_REGEX,
            description=f"{column} has no control characters other than tab and newline",
            meta=row,
        ),
        gxe.ExpectColumnValuesToNotMatchRegex(
            column=column,
            regex=REPLACEMENT_CHAR_REGEX,
            description=f"{column} has no U+FFFD replacement characters",
            meta=row,
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column=length_column(column),
            min_value=limits.min,
            max_value=limits.max,
            mostly=params.length_mostly,
            description=(
                f"{column} length in {unit} is between {limits.min} and {limits.max} "
                f"for at least {_percent(params.length_mostly)} of rows"
            ),
            meta=row,
        ),
    ]


def expectations(
    params: ValidateParams, columns: list[str], check_test_overlap: bool
) -> list[Expectation]:
    """The checks for one split. Checks on an absent column are left out: the column's own
    ``expect_column_to_exist`` failure says everything, instead of a cascade of GX errors."""
    import great_expectations as gx

    gxe = gx.expectations
    present = set(columns)
    structure = _meta(Kind.STRUCTURE)
    suite: list[Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=1, description="split is not empty", meta=structure
        ),
    ]
    for column in REQUIRED_COLUMNS:
        suite.append(
            gxe.ExpectColumnToExist(
                column=column, description=f"column '{column}' is present", meta=structure
            )
        )
    if ID_COLUMN in present:
        # Structural: rows are dropped and reported by id, which needs every id to be one row.
        suite += [
            gxe.ExpectColumnValuesToNotBeNull(
                column=ID_COLUMN, description="every row has an id", meta=structure
            ),
            gxe.ExpectColumnValuesToBeUnique(
                column=ID_COLUMN, description="ids are unique", meta=structure
            ),
        ]
    for column in TEXT_COLUMNS:
        if column in present:
            suite += _text_expectations(params, column)
    if {"document", "summary"} <= present:
        suite.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=length_column("document"),
                column_B=length_column("summary"),
                or_equal=False,
                # Null or blank texts are reported by their own checks.
                ignore_row_if="either_value_is_missing",
                mostly=params.summary_shorter_mostly,
                description=(
                    f"summary is shorter than document (in {params.length_unit}) "
                    f"for at least {_percent(params.summary_shorter_mostly)} of rows"
                ),
                meta=_meta(Kind.DISTRIBUTION),
            )
        )
    if check_test_overlap and "document" in present:
        suite.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=IN_TEST_COLUMN,
                value_set=[False],
                description="no document also appears in the test split",
                # A leak makes the test scores meaningless; ingest.drop_test_overlap removes it.
                meta=structure,
            )
        )
    return suite
