"""Commands that write a file never delete a folder the user named by mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from summarizer.cli import app


def test_score_output_that_is_a_folder_is_refused_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("p.txt").write_text("police arrest man\n", encoding="utf-8")
    Path("r.txt").write_text("man arrested by police\n", encoding="utf-8")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "notes.txt").write_text("x", encoding="utf-8")

    result = CliRunner().invoke(app, ["score", "p.txt", "r.txt", "--output", "d"])

    assert result.exit_code == 1
    assert "d: is a directory; give the path of a file to write" in result.output
    assert (tmp_path / "d" / "notes.txt").read_text(encoding="utf-8") == "x"
    assert (tmp_path / "d" / "sub").is_dir()
