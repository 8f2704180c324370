"""The Great Expectations suite over every canonical split.

Each split gets its own suite (:mod:`summarizer.data.validation_suite`; identical except that
train and validation also check for test documents), run against the whole DataFrame. What a
broken expectation does depends on its kind and the split (``action_for`` in that module); with
``validate.drop_invalid_rows`` the ids of every train and validation row that breaks a row-level
expectation go into the summary, for ``tokenize`` to leave out. The tables in ``data/interim``
stay as ingest wrote them, so the verdict and its data hash always describe what ingest wrote.

The GX context is ephemeral (in-memory stores); the only thing written to disk is the Data Docs
site, built into a temporary directory and moved over ``docs_dir`` when complete.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from summarizer.config.data import ValidateParams
from summarizer.config.paths import SPLITS
from summarizer.data.validation_report import (
    Failure,
    SplitStats,
    ValidationReport,
    collect,
    ids_in,
)
from summarizer.data.validation_suite import (
    ID_COLUMN,
    Action,
    expectations,
    text_lengths,
    with_derived_columns,
)
from summarizer.errors import DataError
from summarizer.io import atomic_directory

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.datasource.fluent.interfaces import Batch

__all__ = ["ValidationReport", "text_lengths", "validate_splits"]

log = logging.getLogger(__name__)

DATA_DOCS_SITE = "validation_site"


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


# Every unexpected row's id and none of its text: enough to drop the rows of a 300k-row split.
_ALL_IDS_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "unexpected_index_column_names": [ID_COLUMN],
    "return_unexpected_index_query": False,
}


def _rows_to_drop(
    batch: Batch, suite: ExpectationSuite, failures: list[Failure], table: pd.DataFrame
) -> list[str]:
    """Ids of every row that breaks one of the failures marked to drop, in table order.

    The suite run reports a few example rows per expectation (all the report and the Data Docs
    need); the expectations to drop by are evaluated once more for all of their rows, outside the
    validation store so the Data Docs show each run once.
    """
    by_id = {str(e.id): e for e in suite.expectations}
    breaking: set[str] = set()
    for failure in failures:
        if failure.action is Action.DROP and failure.expectation_id in by_id:
            result = batch.validate(by_id[failure.expectation_id], result_format=_ALL_IDS_FORMAT)
            breaking.update(ids_in((result.result or {}).get("unexpected_index_list")))
    ids = table[ID_COLUMN].astype(str)
    return ids[ids.isin(breaking)].tolist()


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
    dropped: dict[str, list[str]] = {}
    docs_dir = Path(docs_dir)

    with atomic_directory(docs_dir) as tmp_docs, warnings.catch_warnings():
        # GX forwards pandas/numpy deprecation chatter that says nothing about the data.
        warnings.simplefilter("ignore")
        context = _make_context(tmp_docs)
        source = context.data_sources.add_pandas("canonical")
        for split in _ordered_splits(tables):
            table = tables[split]
            overlap = test_documents if split != "test" else None
            frame = with_derived_columns(table, params, overlap)
            # Handing the suite its expectations up front saves a store round trip per expectation.
            suite = context.suites.add(
                gx.ExpectationSuite(
                    name=f"summarizer_{split}",
                    expectations=expectations(params, list(table.columns), overlap is not None),
                )
            )
            order = {str(e.id): i for i, e in enumerate(suite.expectations)}
            batch_definition = source.add_dataframe_asset(
                split
            ).add_batch_definition_whole_dataframe(split)
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(
                    name=f"validate_{split}", data=batch_definition, suite=suite
                )
            )
            result = definition.run(
                batch_parameters={"dataframe": frame},
                result_format=_result_format(params, ID_COLUMN in table.columns),
                run_id=run_id,
            )
            stats, split_failures = collect(
                split,
                len(table),
                result,
                order,
                params.max_failed_examples,
                params.drop_invalid_rows,
            )
            # Dropping by id is only sound once the ids are known to be present and unique,
            # which are structural checks: with any of those broken the run stops anyway.
            if any(f.action is Action.DROP for f in split_failures) and not any(
                f.action is Action.STOP for f in split_failures
            ):
                batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
                dropped[split] = _rows_to_drop(batch, suite, split_failures, table)
                stats = replace(stats, dropped_rows=len(dropped[split]))
            splits[split] = stats
            failures += split_failures
            log.info(
                "validated %s: %d rows, %d failed, %d dropped",
                split,
                len(table),
                len(split_failures),
                stats.dropped_rows,
            )
        context.build_data_docs(site_names=[DATA_DOCS_SITE])

    return ValidationReport(
        failures=failures, splits=splits, dropped_ids=dropped, docs_index=docs_dir / "index.html"
    )
