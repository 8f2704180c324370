"""Tools around the scorer: ``score`` any predictions file, ``tune-decoding`` on held-out data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from summarizer.cli.app import ParamsOption, command
from summarizer.config.params import PARAMS_FILE, load_params
from summarizer.config.paths import Paths


@command()
def score(
    predictions: Annotated[Path, typer.Argument(help="Predictions: .txt (one per line) or .jsonl")],
    references: Annotated[
        list[Path], typer.Argument(help="One or more reference files, line-aligned.")
    ],
    prediction_field: Annotated[
        str | None, typer.Option(help="JSON Lines field holding each prediction.")
    ] = None,
    reference_field: Annotated[
        str | None, typer.Option(help="JSON Lines field holding each reference.")
    ] = None,
    sentence_separator: Annotated[
        str | None, typer.Option(help="Split text lines into sentences on this (e.g. '<q>').")
    ] = None,
    measure: Annotated[str, typer.Option(help="Headline measure: f, r or p.")] = "f",
    truncate_bytes: Annotated[
        int | None, typer.Option(help="Cut predictions to N bytes (DUC-2004: 75).")
    ] = None,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            help="default (rouge-score's: ASCII letters and digits, as published English "
            "scores) or unicode (letters of any script). Default: evaluate.scoring.tokenizer."
        ),
    ] = None,
    params_file: ParamsOption = PARAMS_FILE,
    output: Annotated[Path | None, typer.Option(help="Write the metrics as JSON here.")] = None,
) -> None:
    """Score any predictions file with exactly the evaluate stage's scorer and options."""
    from summarizer.config.evaluation import EvaluateParams
    from summarizer.evaluation.files import score_files
    from summarizer.evaluation.scoring import ScoringOptions

    evaluate = load_params(params_file).evaluate if params_file.is_file() else EvaluateParams()
    choices: dict[str, Any] = {"measure": measure, "truncate_bytes": truncate_bytes}
    if tokenizer is not None:
        choices["tokenizer"] = tokenizer
    options = ScoringOptions.from_params(evaluate.scoring, **choices)
    scores = score_files(
        predictions,
        references,
        prediction_field=prediction_field,
        reference_field=reference_field,
        options=options,
        sentence_separator=sentence_separator,
        progress=True,
    )
    metrics = scores.to_metrics()
    if output is not None:
        from summarizer.io import write_json

        write_json(output, metrics)
    from rich.table import Table

    table = Table(title=f"ROUGE ({scores.n_examples} examples, x100)")
    for column in ("", "P", "R", "F1", "95% CI (headline)"):
        table.add_column(column)
    for rouge_type in options.rouge_types:
        key = f"{rouge_type}_{options.measure}"
        interval = (
            f"{metrics[key + '_low']:.2f}-{metrics[key + '_high']:.2f}"
            if key + "_low" in metrics
            else "-"
        )
        table.add_row(
            rouge_type,
            f"{metrics[rouge_type + '_p']:.2f}",
            f"{metrics[rouge_type + '_r']:.2f}",
            f"{metrics[rouge_type + '_f']:.2f}",
            interval,
        )
    Console().print(table)


@command("tune-decoding")
def tune_decoding(
    values: Annotated[
        list[str],
        typer.Option(
            "--set",
            "-s",
            help="OPTION=V1,V2,... for an evaluate.decode option; repeat to combine "
            "(e.g. -s alpha=0.6,1,1.5 -s min_length=0,4).",
        ),
    ],
    model: Annotated[Path, typer.Option(help="Model directory.")] = Paths.model_dir,
    split: Annotated[
        str, typer.Option(help="Held-out split to tune on: validation or train, never test.")
    ] = "validation",
    max_examples: Annotated[int | None, typer.Option(help="Use the first N examples.")] = None,
    rank_by: Annotated[str, typer.Option(help="ROUGE type to rank by.")] = "rougeL",
    output: Annotated[Path | None, typer.Option(help="Write every trial as CSV here.")] = None,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Score combinations of decoding options on held-out data and rank them."""
    import yaml

    from summarizer.errors import ConfigError
    from summarizer.evaluation.inputs import load_split
    from summarizer.evaluation.scoring import ScoringOptions
    from summarizer.evaluation.tuning import grid, sweep, trials_table
    from summarizer.inference import Summarizer
    from summarizer.io import atomic_path
    from summarizer.stages.validation_gate import dropped_ids

    if split not in ("validation", "train"):
        raise ConfigError(
            f"--split {split}: tune on validation (or train); choosing options on the test "
            "split would make its scores optimistic"
        )
    grid_values: dict[str, list[Any]] = {}
    for item in values:
        name, sep, listed = item.partition("=")
        if not sep or not listed:
            raise ConfigError(f"--set {item!r}: expected OPTION=V1,V2,...")
        grid_values[name.strip()] = [yaml.safe_load(value) for value in listed.split(",")]
    evaluate = load_params(params_file).evaluate
    # Scores of each trial only need the mean; intervals would cost a bootstrap per trial.
    scoring = ScoringOptions.from_params(evaluate.scoring, bootstrap_samples=0)
    if rank_by not in scoring.rouge_types:
        raise ConfigError(f"--rank-by {rank_by}: not one of {', '.join(scoring.rouge_types)}")
    candidates = grid(evaluate.decode, grid_values)  # bad options fail before any decoding
    table = load_split(Paths.interim_split(split), max_examples, leave_out=dropped_ids()[split])
    trials = sweep(
        Summarizer.from_dir(model),
        table["document"].tolist(),
        table["references"].tolist(),
        candidates,
        scoring,
        base=evaluate.decode,
        rank_by=rank_by,
        progress=True,
    )
    if output is not None:
        with atomic_path(output) as tmp:
            trials_table(trials).to_csv(tmp, index=False)

    from rich.table import Table

    tried = list(grid_values)
    view = Table(title=f"decoding options on {split} ({len(table)} examples, ROUGE F1 x100)")
    for column in (*tried, *scoring.rouge_types, "mean length", "repeat a word", "seconds"):
        view.add_column(column)
    for trial in trials:
        view.add_row(
            *(str(getattr(trial.options, name)) for name in tried),
            *(f"{trial.scores[name]:.2f}" for name in scoring.rouge_types),
            f"{trial.mean_length:.2f}",
            f"{trial.repeated_word_share:.1%}",
            f"{trial.seconds:.1f}",
        )
    Console().print(view)
    best = trials[0]
    if best.changed:
        settings = " ".join(f"-S evaluate.decode.{k}={v}" for k, v in best.changed.items())
        Console().print(
            f"best by {rank_by}: dvc exp run {settings}", highlight=False, soft_wrap=True
        )
    else:
        Console().print(f"best by {rank_by}: the current evaluate.decode options", highlight=False)
