"""The outcome of the validation suite: what broke, on which rows, and what the run does about it.

Written as ``reports/validation/summary.json`` (see :meth:`ValidationReport.to_summary`); the
rows under ``dropped_ids`` are what ``tokenize`` leaves out
(:mod:`summarizer.stages.validation_gate`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer.data.validation_suite import ID_COLUMN, Action, action_for, kind_of

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult


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
    action: Action = Action.STOP
    expectation_id: str | None = None  # GX's id of the expectation, to evaluate it again


@dataclass(frozen=True)
class SplitStats:
    """Counts of one split's validation: expectations run and failed, rows checked and dropped."""

    rows: int
    expectations: int
    passed: int
    failed: int
    dropped_rows: int = 0


@dataclass
class ValidationReport:
    """Outcome of the suite over all splits; written as ``reports/validation/summary.json``."""

    failures: list[Failure]
    splits: dict[str, SplitStats]
    # Per split, the ids of every row left out because it breaks a row-level expectation.
    dropped_ids: dict[str, list[str]] = field(default_factory=dict)
    docs_index: Path | None = None

    @property
    def stopping(self) -> list[Failure]:
        """The failures that stop the pipeline."""
        return [f for f in self.failures if f.action is Action.STOP]

    @property
    def emptied(self) -> list[str]:
        """Splits whose every row would be dropped: nothing would be left to train or tune on."""
        return [
            name
            for name, stats in self.splits.items()
            if stats.rows and len(self.dropped_ids.get(name, ())) >= stats.rows
        ]

    @property
    def success(self) -> bool:
        """Whether the stages after ``validate`` may run on this data."""
        return not self.stopping and not self.emptied

    def to_summary(self) -> dict[str, Any]:
        """JSON-safe summary; the numbers under ``splits`` are what DVC shows as metrics."""
        return {
            "success": self.success,
            "expectations": sum(stats.expectations for stats in self.splits.values()),
            "failed": sum(stats.failed for stats in self.splits.values()),
            "stopping": len(self.stopping),
            "splits": {name: asdict(stats) for name, stats in self.splits.items()},
            "failures": [
                {k: v for k, v in asdict(failure).items() if k != "expectation_id"}
                for failure in self.failures
            ],
            "dropped_ids": self.dropped_ids,
        }

    def format(self) -> str:
        """A readable account of every failure, with example row ids, for the log or the error."""
        total = sum(stats.expectations for stats in self.splits.values())
        failed = sum(stats.failed for stats in self.splits.values())
        if not self.success:
            lines = [
                f"Data validation failed: {len(self.stopping)} of {total} expectations did not "
                "hold and stop the pipeline."
            ]
        elif failed:
            lines = [
                f"Data validation passed with findings: {failed} of {total} expectations did "
                "not hold; their rows are dropped (train, validation) or kept (test)."
            ]
        else:
            lines = [f"Data validation passed: {total} expectations on {len(self.splits)} splits."]
        for name, stats in self.splits.items():
            dropped = f", {stats.dropped_rows} rows dropped" if stats.dropped_rows else ""
            lines.append(
                f"{name}: {stats.rows} rows, {stats.expectations} expectations, "
                f"{stats.failed} failed{dropped}"
            )
            for failure in (f for f in self.failures if f.split == name):
                lines.extend(_format_failure(failure))
            if name in self.emptied:
                lines.append(
                    f"  STOP: every one of the {stats.rows} rows breaks a row-level expectation"
                )
        if self.docs_index is not None:
            lines.append(f"Data Docs: {self.docs_index}")
        return "\n".join(lines)


_LABELS = {Action.STOP: "FAILED", Action.DROP: "DROPPED", Action.KEEP: "REPORTED (rows kept)"}


def _format_failure(failure: Failure) -> list[str]:
    where = f" on column '{failure.column}'" if failure.column else ""
    lines = [f"  {_LABELS[failure.action]} {failure.expectation}{where}: {failure.check}"]
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


# ------------------------------------------------------------------------- from GX results
def ids_in(index_list: list[Any] | None) -> list[str]:
    """Row ids from GX's ``(partial_)unexpected_index_list``.

    GX writes one dict per row (``{"id": "a", "document": ...}``) when it reports values, and one
    dict of lists (``{"id": ["a", "b"]}``) when asked to leave the values out.
    """
    ids: list[str] = []
    for entry in index_list or []:
        value = entry.get(ID_COLUMN) if isinstance(entry, dict) else entry
        values = value if isinstance(value, list) else [value]
        ids.extend(str(v) for v in values)
    return ids


def _column_of(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return None


def collect(
    split: str,
    rows: int,
    suite_result: ExpectationSuiteValidationResult,
    order: dict[str, int],
    max_examples: int,
    drop_invalid_rows: bool,
) -> tuple[SplitStats, list[Failure]]:
    """The split's counts and its failures, in suite order, each with what the run does."""
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
        # Rows cannot be told apart when GX could not evaluate the check: that stops the run.
        action = (
            Action.STOP if error else action_for(kind_of(config.meta), split, drop_invalid_rows)
        )
        failures.append(
            Failure(
                split=split,
                expectation=config.type,
                column=_column_of(config.kwargs),
                check=config.description or config.type,
                unexpected_count=None if unexpected is None else int(unexpected),
                element_count=int(result.get("element_count", rows)),
                unexpected_percent=result.get("unexpected_percent"),
                example_ids=ids_in(result.get("partial_unexpected_index_list"))[:max_examples],
                error=error,
                action=action,
                expectation_id=None if config.id is None else str(config.id),
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
