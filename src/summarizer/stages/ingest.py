"""Stage ``ingest``: the raw dataset to one canonical Parquet table per split.

Everything is read and checked before anything is written, so a bad raw file leaves the previous
outputs as they were.
"""

from __future__ import annotations

import logging

from summarizer.config.params import Params
from summarizer.config.paths import Paths
from summarizer.data.ingest import build_splits
from summarizer.io import atomic_directory, write_json

log = logging.getLogger(__name__)


def run(params: Params) -> dict:
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
    test_set = report["test_set"]
    if test_set["modified"]:
        log.warning("%s (ingest.filter_test is on)", test_set["note"])
    else:
        for reason, flagged in test_set["flagged"].items():
            log.info(
                "test: kept %d row(s) that ingest would remove (%s): %s",
                flagged["count"],
                reason.replace("_", " "),
                ", ".join(flagged["ids"][:10]) + (", ..." if flagged["count"] > 10 else ""),
            )
    log.info("rows per split: %s", report["rows"])
    return report
