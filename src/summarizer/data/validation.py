"""Stage ``validate``: a Great Expectations 1.x suite over every canonical split.

Each split gets its own suite (identical except that train and validation also check for test
documents), run against the whole DataFrame. Derived columns (lengths, the test-overlap flag) are
computed with pandas first, so every check is a stock GX expectation that Data Docs can render.
Thresholds come from :class:`~summarizer.config.ValidateParams` only.

The GX context is ephemeral (in-memory stores); the only thing written to disk is the Data Docs
site, built into a temporary directory and moved over ``docs_dir`` when complete.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from summarizer.config import SPLITS, Params, Paths, ValidateParams
from summarizer.data.gate import interim_hash
from summarizer.errors import DataError, ValidationFailed
from summarizer.io import atomic_directory, read_stage_table, write_json

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations import Expectation

log = logging.getLogger(__name__)

REQUIRED_COLUMNS: tuple[str, ...] = ("id", "document", "summary")
TEXT_COLUMNS: tuple[str, ...] = ("document", "summary")
ID_COLUMN = "id"
# Derived column: True where a train/validation document is verbatim a test document.
IN_TEST_COLUMN = "document_in_test"

# C0 controls except \t (0x09) and \n (0x0a), DEL, and C1 controls. \r counts as a defect: the
# canonical tables are one text per cell and a stray carriage return means a mangled line ending.
CONTROL_CHARS_REGEX = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
# U+FFFD is what a lossy decode leaves behind; its presence means the raw bytes were not UTF-8.
REPLACEMENT_CHAR_REGEX = r"\ufffd"
# Empty or whitespace-only. pandas' str.contains uses re.search, so anchor both ends.
BLANK_REGEX = r"^\s*$"

DATA_DOCS_SITE = "validation_site"


def length_column(text_column: str) -> str:
    """Name of the derived length column checked for ``text_column``."""
    return f"{text_column}_length"


# ------------------------------------------------------------------------------------ report
@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold on one split."""

    split: str
    expectation: str  # GX type name, e.g. expect_column_values_to_not_be_null
    column: str | None  # None for table-level checks; "a, b" for column-pair checks
    check: str  # what the expectation means, with its thresholds
    unexpected_count: int | None  # None where GX counts no rows (missing column, table checks)
    element_count: int
    unexpected_percent: float | None
    example_ids: list[str] = field(default_factory=list)
    error: str | None = None  # set when GX raised while evaluating the expectation


@dataclass(frozen=True)
class SplitStats:
    """Counts of one split's validation: expectations run and failed, rows checked."""

    rows: int
    expectations: int
    passed: int
    failed: int


@dataclass
class ValidationReport:
    """Outcome of the suite over all splits; written as ``reports/validation/summary.json``."""

    success: bool
    failures: list[Failure]
    splits: dict[str, SplitStats]
    docs_index: Path | None = None

    def to_summary(self) -> dict[str, Any]:
        """JSON-safe summary; the numbers under ``splits`` are what DVC shows as metrics."""
        return {
            "success": self.success,
            "expectations": sum(stats.expectations for stats in self.splits.values()),
            "failed": sum(stats.failed for stats in self.splits.values()),
            "splits": {name: asdict(stats) for name, stats in self.splits.items()},
            "failures": [asdict(failure) for failure in self.failures],
        }

    def format(self) -> str:
        """A readable account of every failure, with example row ids, for the error message."""
        total = sum(stats.expectations for stats in self.splits.values())
        failed = sum(stats.failed for stats in self.splits.values())
        if self.success:
            lines = [f"Data validation passed: {total} expectations on {len(self.splits)} splits."]
        else:
            lines = [f"Data validation failed: {failed} of {total} expectations did not hold."]
        for name, stats in self.splits.items():
            lines.append(
                f"{name}: {stats.rows} rows, {stats.expectations} expectations, "
                f"{stats.failed} failed"
            )
            for failure in (f for f in self.failures if f.split == name):
                lines.extend(_format_failure(failure))
        if self.docs_index is not None:
            lines.append(f"Data Docs: {self.docs_index}")
        return "\n".join(lines)


def _format_failure(failure: Failure) -> list[str]:
    where = f" on column '{failure.column}'" if failure.column else ""
    lines = [f"  FAILED {failure.expectation}{where}: {failure.check}"]
    if failure.error:
        lines.append(f"    error: {failure.error}")
    elif failure.unexpected_count is not None:
        # GX's percentage (what `mostly` is judged on) leaves out rows where the value is missing.
        share = failure.unexpected_percent
        percent = f" ({share:.2f}% of those with a value)" if share is not None else ""
        lines.append(
            f"    {failure.unexpected_count} of {failure.element_count} rows break it{percent}"
        )
    if failure.example_ids:
        lines.append(f"    example ids: {', '.join(failure.example_ids)}")
    return lines


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


def _with_derived_columns(
    table: pd.DataFrame, params: ValidateParams, test_documents: set[str] | None
) -> pd.DataFrame:
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


def _expectations(
    params: ValidateParams, columns: list[str], check_test_overlap: bool
) -> list[Expectation]:
    """The checks for one split. Checks on an absent column are left out: the column's own
    ``expect_column_to_exist`` failure says everything, instead of a cascade of GX errors."""
    import great_expectations as gx

    gxe = gx.expectations
    unit = params.length_unit
    present = set(columns)
    expectations: list[Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, description="split is not empty"),
    ]
    for column in REQUIRED_COLUMNS:
        expectations.append(
            gxe.ExpectColumnToExist(column=column, description=f"column '{column}' is present")
        )
    if ID_COLUMN in present:
        expectations += [
            gxe.ExpectColumnValuesToNotBeNull(column=ID_COLUMN, description="every row has an id"),
            gxe.ExpectColumnValuesToBeUnique(column=ID_COLUMN, description="ids are unique"),
        ]
    bounds = {"document": params.document_length, "summary": params.summary_length}
    for column in TEXT_COLUMNS:
        if column not in present:
            continue
        limits = bounds[column]
        expectations += [
            gxe.ExpectColumnValuesToNotBeNull(column=column, description=f"{column} is not null"),
            gxe.ExpectColumnValuesToNotMatchRegex(
                column=column, regex=BLANK_REGEX, description=f"{column} is not blank"
            ),
            gxe.ExpectColumnValuesToNotMatchRegex(
                column=column,
                regex=CONTROL_CHARS_REGEX,
                description=f"{column} has no control characters other than tab and newline",
            ),
            gxe.ExpectColumnValuesToNotMatchRegex(
                column=column,
                regex=REPLACEMENT_CHAR_REGEX,
                description=f"{column} has no U+FFFD replacement characters",
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
            ),
        ]
    if {"document", "summary"} <= present:
        expectations.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=length_column("document"),
                column_B=length_column("summary"),
                or_equal=False,
                # Null or blank texts are reported by their own checks.
                ignore_row_if="either_value_is_missing",
                mostly=params.summary_shorter_mostly,
                description=(
                    f"summary is shorter than document (in {unit}) "
                    f"for at least {_percent(params.summary_shorter_mostly)} of rows"
                ),
            )
        )
    if check_test_overlap and "document" in present:
        expectations.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=IN_TEST_COLUMN,
                value_set=[False],
                description="no document also appears in the test split",
            )
        )
    return expectations


# ---------------------------------------------------------------------------------- running GX
def _import_gx() -> None:
    # Older 1.x releases read this at import time to decide whether to send usage analytics;
    # there is no network here and a pipeline stage must not phone home anyway.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations  # noqa: F401

    # GX logs every store and datasource operation at INFO; the stage prints its own report.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _make_context(docs_dir: Path) -> AbstractDataContext:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites={
            DATA_DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir.resolve()),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _result_format(params: ValidateParams, has_ids: bool) -> dict[str, Any]:
    # SUMMARY keeps the first few unexpected rows only, which is all the report shows; COMPLETE
    # would carry every failing value of a 26k-row split into the results and the HTML.
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": params.max_failed_examples,
    }
    if has_ids:
        # Report failing rows by their id, not by their position in the frame.
        result_format["unexpected_index_column_names"] = [ID_COLUMN]
    return result_format


def _example_ids(result: dict[str, Any], limit: int) -> list[str]:
    examples = []
    for entry in result.get("partial_unexpected_index_list") or []:
        value = entry.get(ID_COLUMN) if isinstance(entry, dict) else entry
        examples.append(str(value))
    return examples[:limit]


def _column_of(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return None


def _collect(
    split: str,
    rows: int,
    suite_result: ExpectationSuiteValidationResult,
    order: dict[str, int],
    params: ValidateParams,
) -> tuple[SplitStats, list[Failure]]:
    failures = []
    # GX returns results grouped by metric, not in suite order; the report follows the suite.
    results = sorted(
        suite_result.results, key=lambda r: order.get(str(r.expectation_config.id), len(order))
    )
    for outcome in results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        result = outcome.result or {}
        exception = outcome.exception_info or {}
        error = exception.get("exception_message") if exception.get("raised_exception") else None
        unexpected = result.get("unexpected_count")
        failures.append(
            Failure(
                split=split,
                expectation=config.type,
                column=_column_of(config.kwargs),
                check=config.description or config.type,
                unexpected_count=None if unexpected is None else int(unexpected),
                element_count=int(result.get("element_count", rows)),
                unexpected_percent=result.get("unexpected_percent"),
                example_ids=_example_ids(result, params.max_failed_examples),
                error=error,
            )
        )
    stats = suite_result.statistics
    return (
        SplitStats(
            rows=rows,
            expectations=int(stats["evaluated_expectations"]),
            passed=int(stats["successful_expectations"]),
            failed=int(stats["unsuccessful_expectations"]),
        ),
        failures,
    )


def _ordered_splits(tables: dict[str, pd.DataFrame]) -> list[str]:
    return [s for s in SPLITS if s in tables] + sorted(set(tables) - set(SPLITS))


def validate_splits(
    tables: dict[str, pd.DataFrame], params: ValidateParams, docs_dir: Path
) -> ValidationReport:
    """Run the suite on every split and build the Data Docs site into ``docs_dir``.

    ``docs_dir`` is replaced only once the site is complete, so a crash leaves the previous site.
    """
    if not tables:
        raise DataError("no splits to validate")
    _import_gx()
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    test = tables.get("test")
    test_documents = (
        set(test["document"].dropna()) if test is not None and "document" in test.columns else None
    )
    run_id = RunIdentifier(run_name="validate", run_time=dt.datetime.now(dt.UTC))
    splits: dict[str, SplitStats] = {}
    failures: list[Failure] = []
    docs_dir = Path(docs_dir)

    with atomic_directory(docs_dir) as tmp_docs, warnings.catch_warnings():
        # GX forwards pandas/numpy deprecation chatter that says nothing about the data.
        warnings.simplefilter("ignore")
        context = _make_context(tmp_docs)
        source = context.data_sources.add_pandas("canonical")
        for split in _ordered_splits(tables):
            table = tables[split]
            overlap = test_documents if split != "test" else None
            frame = _with_derived_columns(table, params, overlap)
            # Handing the suite its expectations up front saves a store round trip per expectation.
            suite = context.suites.add(
                gx.ExpectationSuite(
                    name=f"summarizer_{split}",
                    expectations=_expectations(params, list(table.columns), overlap is not None),
                )
            )
            order = {str(e.id): i for i, e in enumerate(suite.expectations)}
            batch = source.add_dataframe_asset(split).add_batch_definition_whole_dataframe(split)
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=f"validate_{split}", data=batch, suite=suite)
            )
            result = definition.run(
                batch_parameters={"dataframe": frame},
                result_format=_result_format(params, ID_COLUMN in table.columns),
                run_id=run_id,
            )
            splits[split], split_failures = _collect(split, len(table), result, order, params)
            failures += split_failures
            log.info("validated %s: %d rows, %d failed", split, len(table), len(split_failures))
        context.build_data_docs(site_names=[DATA_DOCS_SITE])

    success = not failures and all(stats.failed == 0 for stats in splits.values())
    return ValidationReport(
        success=success, failures=failures, splits=splits, docs_index=docs_dir / "index.html"
    )


def run_validate(params: Params) -> ValidationReport:
    """Stage ``validate``: check every ingested split, write the summary and the Data Docs.

    The summary is written whether or not the data passes, so that the failure is inspectable;
    a failure then raises :class:`ValidationFailed` so the stage exits non-zero.
    """
    tables = {split: read_stage_table(Paths.interim_split(split), "ingest") for split in SPLITS}
    report = validate_splits(tables, params.validate_, Paths.validation_docs)
    # The hash ties the verdict to these very tables: a later stage refuses data that changed.
    write_json(Paths.validation_summary, {**report.to_summary(), "data_hash": interim_hash()})
    if not report.success:
        raise ValidationFailed(report.format())
    return report
