"""CSV rows with more or fewer fields than the header are errors that name the file and line,
not rows read askew (extra fields dropped, missing ones reported as "got NoneType")."""

from __future__ import annotations

from pathlib import Path

import pytest

from summarizer.config.data import DatasetSpec
from summarizer.data.tables import read_split
from summarizer.errors import DataError

HEADER = "id,document,summary\n"


def _spec(root: Path) -> DatasetSpec:
    return DatasetSpec(
        name="toy",
        path=root,
        format="csv",
        splits={"train": {"file": "train.csv"}, "test": {"file": "train.csv"}},
        fields={"id": "id", "document": "document", "summary": "summary"},
    )


def _read(tmp_path: Path, body: str):
    (tmp_path / "train.csv").write_text(HEADER + body, encoding="utf-8")
    return read_split(_spec(tmp_path), "train")


def test_row_with_an_extra_field_is_an_error(tmp_path: Path) -> None:
    # An unquoted comma in the document: the kind of row that used to lose its tail silently.
    body = "a,first document,first summary\nb,second, document,second summary\n"
    with pytest.raises(DataError) as excinfo:
        _read(tmp_path, body)
    message = str(excinfo.value)
    assert "train.csv, line 3: 4 field(s), but the header (line 1) has 3" in message
    assert "quote" in message


def test_short_row_is_an_error_naming_the_missing_field(tmp_path: Path) -> None:
    body = "a,first document,first summary\nb,second document\n"
    with pytest.raises(DataError) as excinfo:
        _read(tmp_path, body)
    message = str(excinfo.value)
    assert "train.csv, line 3: 2 field(s), but the header (line 1) has 3" in message
    assert "no value for summary" in message
    assert "NoneType" not in message


def test_line_number_counts_physical_lines_of_quoted_fields(tmp_path: Path) -> None:
    body = 'a,"a document\nover two lines",its summary\nb,x,y,z\n'
    with pytest.raises(DataError, match=r"train\.csv, line 4: 4 field\(s\)"):
        _read(tmp_path, body)


def test_quoted_commas_and_empty_cells_are_still_fine(tmp_path: Path) -> None:
    table = _read(tmp_path, 'a,"one, two",s\nb,doc,\n')
    assert table["document"].tolist() == ["one, two", "doc"]
    assert table["summary"].tolist() == ["s", ""]
