"""Stage ``tokenize``: token sequences per split, truncated to the model's window, leaving out
the rows ``validate`` dropped."""

from __future__ import annotations

import pandas as pd

from summarizer.config.data import DataStageParams
from summarizer.config.paths import SPLITS, Paths
from summarizer.data.tokenization import TextProcessor
from summarizer.io import atomic_directory, read_stage_table
from summarizer.stages.validation_gate import require_validated


def run(params: DataStageParams) -> dict[str, int]:
    """Stage ``tokenize``: token sequences per split, truncated to the model's window."""
    dropped = require_validated()
    processor = TextProcessor(params.tokenize)
    tables = {}
    for split in SPLITS:
        table = read_stage_table(
            Paths.interim_split(split), "ingest", columns=["id", "document", "summary"]
        )
        # Rows validate dropped (validate.drop_invalid_rows) go no further than here.
        table = table.loc[~table["id"].astype(str).isin(dropped[split])].reset_index(drop=True)
        tables[split] = pd.DataFrame(
            {
                "id": table["id"],
                "source": processor.tokenize_source(
                    table["document"].tolist(), progress=f"tokenize {split} documents"
                ),
                "target": processor.tokenize_target(
                    table["summary"].tolist(), progress=f"tokenize {split} summaries"
                ),
            }
        )
    with atomic_directory(Paths.processed) as tmp:
        tmp.mkdir(parents=True)
        for split, table in tables.items():
            table.to_parquet(tmp / Paths.processed_split(split).name, index=False)
    return {split: len(table) for split, table in tables.items()}
