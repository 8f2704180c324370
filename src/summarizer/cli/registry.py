"""The registry by hand: ``models`` lists versions, ``card`` prints one's model card,
``promote`` moves ``@champion`` behind guard rails, ``rollback`` moves it back.
(``register``, the DVC stage, is in :mod:`.stages`.)"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from summarizer.cli.app import (
    NameOption,
    ParamsOption,
    command,
    model_name,
    optional_params,
    tracking_store,
)
from summarizer.config.params import PARAMS_FILE

if TYPE_CHECKING:
    from summarizer.registry import AliasChange


# -------------------------------------------------------------------------------------- models
@command()
def models(
    lineage: Annotated[
        bool,
        typer.Option(
            "--lineage",
            help="Show where each version comes from: the whole git commit (and whether the "
            "tree was dirty), the DVC data hash and the DVC remote to `dvc pull` it from.",
        ),
    ] = False,
    name: NameOption = None,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """List registered versions with their metrics, aliases, commit and creation time. Each
    version's model card: `summarizer card models:/NAME/VERSION`."""
    from rich.table import Table

    from summarizer import registry

    params = optional_params(params_file)
    registered_name = model_name(name, params)
    rows = registry.list_versions(tracking_store(params), registered_name)
    selection = params.register_.metric if params else None
    metric_keys = [selection] if selection else []
    for row in rows:
        for key in (row.selection_metric, "rouge1_f", "rouge2_f", "rougeL_f"):
            if key and key not in metric_keys and key in row.metrics:
                metric_keys.append(key)
    table = Table(title=f"{registered_name}: {len(rows)} version(s)")
    for column in ("version", "aliases", *metric_keys, "commit", "data", "created (UTC)", "run"):
        table.add_column(column, justify="right" if column in metric_keys else "left")
    for row in rows:
        table.add_row(
            row.version,
            " ".join(
                [f"@{alias}" for alias in row.aliases]
                + (
                    [f"({row.registration})"]
                    if row.registration in ("pending", "withdrawn")
                    else []
                )
            )
            or "-",
            *(f"{row.metrics[k]:.2f}" if k in row.metrics else "-" for k in metric_keys),
            row.git_commit[:10],
            row.data_hash[:10],
            row.created.strftime("%Y-%m-%d %H:%M"),
            (row.run_id or "-")[:8],
        )
    Console(width=max(120, Console().width)).print(table)
    if lineage:
        # Plain lines, not table cells: hashes and URLs stay whole, to be copied.
        tree = {"True": "dirty tree", "False": "clean tree"}
        sys.stdout.write(
            "\nLineage (reproduce a version: git checkout COMMIT && dvc pull && dvc repro):\n"
        )
        for row in rows:
            sys.stdout.write(
                f"  version {row.version}: commit {row.git_commit} "
                f"({tree.get(row.git_dirty, 'tree state unknown')}), data {row.data_hash}, "
                f"DVC remote {row.dvc_remote or 'none recorded'}\n"
            )


@command()
def card(
    model: Annotated[
        str | None,
        typer.Argument(
            help="models:/NAME/VERSION, models:/NAME@ALIAS, or a logged model models:/m-... "
            "Default: models:/NAME@champion of params.yaml's model.",
        ),
    ] = None,
    name: NameOption = None,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Print a model's card (Markdown): what it is, its data, its scores beside the baseline,
    examples, limits and how to use and reproduce it."""
    from summarizer import registry

    params = optional_params(params_file)
    model_uri = model or f"models:/{model_name(name, params)}@{registry.CHAMPION}"
    sys.stdout.write(registry.read_card(tracking_store(params), model_uri))


@command()
def compare(
    reference: Annotated[
        str,
        typer.Argument(
            help="What the candidate is compared against: models:/NAME/VERSION, "
            "models:/NAME@ALIAS or runs:/RUN_ID (an evaluated run).",
        ),
    ],
    candidate: Annotated[str, typer.Argument(help="The model compared, named the same ways.")],
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Compare two evaluated models example by example on the test set both were scored on:
    per metric, the candidate's difference from the reference with its 95% paired bootstrap
    interval, the p-value that the candidate is better, and the examples each one wins. Read
    from what the evaluations logged: nothing is decoded again."""
    from rich.table import Table

    from summarizer.registry.comparison import compare_models

    params = optional_params(params_file)
    greater_is_better = params.register_.greater_is_better if params else True
    ref, cand, results = compare_models(
        tracking_store(params), reference, candidate, greater_is_better
    )
    table = Table(
        title=f"{cand.label} against {ref.label}: {results[0].examples:,} test examples"
        if results
        else f"{cand.label} against {ref.label}"
    )
    columns = ("metric", ref.label, cand.label, "difference", "95% interval", "p (better)")
    for column in (*columns, "won / lost / tied"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for result in results:
        table.add_row(
            result.metric,
            f"{result.score_a:.2f}",
            f"{result.score_b:.2f}",
            f"{result.difference:+.2f}",
            f"{result.low:.2f} to {result.high:.2f}",
            f"{result.p_value:.3g}",
            f"{result.wins_b} / {result.wins_a} / {result.ties}",
        )
    Console(width=max(120, Console().width)).print(table)


# ---------------------------------------------------------------------------- promote/rollback
def _print_change(change: AliasChange, verb: str) -> None:
    # Plain text: "[dry run]" and model output must not be read as rich markup.
    console = Console(markup=False, highlight=False)
    prefix = "[dry run] would move" if change.dry_run else verb
    before = f"version {change.previous}" if change.previous else "nothing"
    for note in change.notes:
        console.print(note)
    if change.notes and not change.changed:
        return
    console.print(
        f"{prefix} @{change.alias} of '{change.model_name}': {before} -> version {change.version}"
    )
    for check, outcome in change.checks.items():
        console.print(f"  {check}: {outcome}")
    if change.smoke_summary is not None:
        console.print(f"  smoke summary: {change.smoke_summary!r}")


@command()
def promote(
    version: Annotated[
        int | None, typer.Option("--version", help="Version to promote. Default: @challenger.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Promote even if its metric is worse than the champion's, or equal within "
            "noise (register.significance) (needs --reason). "
            "Never overrides the registration gate, a non-finite metric or the smoke check.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run the checks, show what would change.")
    ] = False,
    reason: Annotated[
        str, typer.Option(help="Why; recorded on the version. Required with --force.")
    ] = "",
    name: NameOption = None,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Move @champion to a version that passes the registration gate again (from what it
    stores), loads, summarizes and is not worse than the champion. Exits 1 if @champion moved
    meanwhile (another promote won; nothing changed)."""
    from summarizer import registry

    params = optional_params(params_file)
    change = registry.promote(
        tracking_store(params),
        model_name(name, params),
        version,
        settings=params.register_ if params else None,
        force=force,
        dry_run=dry_run,
        reason=reason,
    )
    _print_change(change, "moved")


@command()
def rollback(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change.")] = False,
    reason: Annotated[str, typer.Option(help="Why; recorded on the version.")] = "",
    name: NameOption = None,
    params_file: ParamsOption = PARAMS_FILE,
) -> None:
    """Move @champion back to the version it replaced."""
    from summarizer import registry

    params = optional_params(params_file)
    change = registry.rollback(
        tracking_store(params), model_name(name, params), reason=reason, dry_run=dry_run
    )
    _print_change(change, "rolled back")
