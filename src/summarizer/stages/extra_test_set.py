"""Stage ``extra_test_set@NAME`` (one per entry of ``evaluate.extra_test_sets``): copy the set's
document and reference files into ``data/external/NAME``, so that any number of sets (none
included) are tracked as dependencies of ``evaluate``.

Run as ``python -m summarizer.stages.extra_test_set NAME``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from summarizer.config.document import PARAMS_FILE, read_params
from summarizer.config.evaluation import EvaluationStageParams
from summarizer.config.paths import Paths
from summarizer.errors import ConfigError, DataError, SummarizerError
from summarizer.project import resolve_data_path


def run(name: str, params_file: Path | str = PARAMS_FILE) -> Path:
    """Copy the files of extra test set ``name`` into :meth:`Paths.external_test_set`, replacing
    what an earlier run left there."""
    sets = read_params(params_file, EvaluationStageParams).evaluate.extra_test_sets
    if name not in sets:
        raise ConfigError(
            f"{params_file}: evaluate.extra_test_sets has no set '{name}' "
            f"(sets: {', '.join(sets) or 'none'})"
        )
    spec = sets[name]
    source = resolve_data_path(spec.path)
    target = Paths.external_test_set(name)
    files = [spec.document, *spec.references]
    missing = [file for file in files if not (source / file).is_file()]
    if missing:
        raise DataError(
            f"{source}: extra test set '{name}' (evaluate.extra_test_sets.{name}.path) has no "
            f"file(s) {', '.join(missing)}"
        )
    staging = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for file in files:
        (staging / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / file, staging / file)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m summarizer.stages.extra_test_set NAME", file=sys.stderr)
        return 2
    try:
        target = run(args[0])
    except SummarizerError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"extra test set '{args[0]}' copied to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
