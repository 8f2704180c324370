"""Apply a params file (a dataset preset of ``configs/datasets/``, a profile of
``configs/profiles/``) to ``params.yaml``: each of its top-level sections replaces the section of
the same name, whole, as the presets' headers say; every other line of ``params.yaml`` is kept
as it was, comments included.

``python -m summarizer.config.overlay configs/profiles/gpu-gigaword.yaml`` writes ``params.yaml``
only if the result validates; ``git diff params.yaml`` shows what changed and ``git checkout
params.yaml`` takes it back.

The sections are replaced as text rather than through a YAML dump, which would drop every
comment of ``params.yaml``; the result is then parsed and checked to hold exactly the data
of ``{**params, **overlay}``, so the text surgery cannot change a value unnoticed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml
from pydantic import ValidationError

from summarizer.config.base import format_validation_error
from summarizer.config.document import load_sections
from summarizer.config.params import PARAMS_FILE, Params
from summarizer.errors import ConfigError

_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*):")


def _sections(text: str) -> dict[str, tuple[int, int, int]]:
    """Where each top-level section of a YAML file is: ``(head, key, stop)`` line numbers, the
    section running from its key line to its last indented line (``stop`` excluded) and its own
    comments from ``head``: the comment lines directly above the key, unless they open the file
    (a header says what the file is, not what the section is)."""
    lines = text.splitlines(keepends=True)
    keys = [i for i, line in enumerate(lines) if _TOP_LEVEL_KEY.match(line)]
    found: dict[str, tuple[int, int, int]] = {}
    for position, key in enumerate(keys):
        head = key
        while head > 0 and lines[head - 1].startswith("#"):
            head -= 1
        if head == 0:
            head = key
        stop = keys[position + 1] if position + 1 < len(keys) else len(lines)
        # Blank lines and the next section's comments stay outside.
        while stop > key + 1 and not lines[stop - 1].startswith((" ", "\t")):
            stop -= 1
        match = _TOP_LEVEL_KEY.match(lines[key])
        assert match is not None
        found[match.group(1)] = (head, key, stop)
    return found


def overlay_text(params_text: str, overlay_source: str) -> str:
    """``params_text`` with each top-level section of ``overlay_source`` in place of its own,
    with the overlay's comments on it when it has some (else the old ones stay); a section
    ``params_text`` lacks is appended."""
    lines = params_text.splitlines(keepends=True)
    source = overlay_source.splitlines(keepends=True)
    if source and not source[-1].endswith("\n"):
        source[-1] += "\n"
    replacements = {
        name: (head < key, "".join(source[head:stop]))
        for name, (head, key, stop) in _sections(overlay_source).items()
    }
    targets = _sections(params_text)
    # From the bottom up, so that earlier line numbers stay valid.
    for name, (head, key, stop) in sorted(targets.items(), key=lambda item: -item[1][0]):
        if name in replacements:
            commented, text = replacements[name]
            lines[head if commented else key : stop] = [text]
    text = "".join(lines)
    for name, (_, section) in replacements.items():
        if name not in targets:
            text += ("" if text.endswith("\n\n") else "\n") + section
    return text


def apply_overlay(overlay: Path, params_file: Path = PARAMS_FILE) -> Params:
    """Replace the sections of ``params_file`` that ``overlay`` holds; returns the validated
    result. Nothing is written when the result does not validate.

    Raises:
        ConfigError: naming the file for an unreadable overlay, and the key for an invalid
            result.
    """
    try:
        overlay_source = overlay.read_text(encoding="utf-8")
        params_source = params_file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{exc.filename}: file not found") from None
    sections = load_sections(overlay_source, overlay)
    expected = {**load_sections(params_source, params_file), **sections}
    merged = overlay_text(params_source, overlay_source)
    if yaml.safe_load(merged) != expected:
        raise ConfigError(
            f"{overlay}: could not replace its sections in {params_file} as text (a section "
            "key must start a line, its content be indented); copy them over by hand"
        )
    try:
        params = Params.model_validate(expected)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, f"{params_file} with {overlay}")) from None
    params_file.write_text(merged, encoding="utf-8")
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__spec__.name if __spec__ else __name__}",
        description="Replace sections of params.yaml with those of a preset or profile.",
    )
    parser.add_argument("overlay", type=Path, help="e.g. configs/profiles/gpu-gigaword.yaml")
    parser.add_argument("--params", type=Path, default=PARAMS_FILE, help="default: params.yaml")
    args = parser.parse_args(argv)
    try:
        apply_overlay(args.overlay, args.params)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(load_sections(args.overlay.read_text(encoding="utf-8"), args.overlay))
    print(f"{args.params}: replaced {names} with those of {args.overlay}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
