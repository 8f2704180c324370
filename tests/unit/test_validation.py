"""The validation suite, run through real Great Expectations on small hand-made tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from summarizer.config.data import LengthBounds, ValidateParams
from summarizer.config.params import Params
from summarizer.config.paths import Paths
from summarizer.data.validation import (
    ValidationReport,
    text_lengths,
    validate_splits,
)
from summarizer.errors import DataError, ValidationFailed
from summarizer.stages.validate import run as run_validate

PARAMS = ValidateParams(
    length_unit="tokens",
    document_length=LengthBounds(min=3, max=40),
    summary_length=LengthBounds(min=1, max=30),
    summary_shorter_mostly=0.9,
    length_mostly=1.0,
    max_failed_examples=5,
)


def _split(name: str, rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"{name}-{i:02d}" for i in range(rows)],
            "document": [
                f"the {name} document number {i} says something long enough to summarize ."
                for i in range(rows)
            ],
            "summary": [f"{name} summary {i}" for i in range(rows)],
        }
    )


def clean_tables() -> dict[str, pd.DataFrame]:
    return {
        "train": _split("train", 20),
        "validation": _split("validation", 6),
        "test": _split("test", 6),
    }


def defective_tables() -> dict[str, pd.DataFrame]:
    """Train with one planted defect per row (ids noted); validation and test stay clean."""
    tables = clean_tables()
    train = tables["train"]
    train.loc[1, "document"] = None  # train-01: null document
    train.loc[2, "summary"] = "  \t "  # train-02: blank summary
    train.loc[4, "id"] = "train-03"  # train-03 twice: duplicate id
    train.loc[5, "document"] = "a bell \x07 rings in this document ."  # train-05: control char
    train.loc[6, "summary"] = "caf\ufffd closes"  # train-06: replacement character
    train.loc[7, "document"] = " ".join(["word"] * 50)  # train-07: 50 tokens > max 40
    train.loc[8, "document"] = tables["test"].loc[3, "document"]  # train-08: test leak
    for row in (9, 10, 11):  # 3 of 18 comparable rows (17%) > 10% allowed: summary too long
        train.loc[row, "document"] = "short four token document"
        train.loc[row, "summary"] = "a summary that is much longer than its own document here"
    return tables


def _failures(report: ValidationReport) -> set[tuple]:
    return {
        (f.split, f.expectation, f.column, f.unexpected_count, tuple(f.example_ids))
        for f in report.failures
    }


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ValidationReport, Path]:
    docs = tmp_path_factory.mktemp("defects") / "data_docs"
    return validate_splits(defective_tables(), PARAMS, docs), docs


def test_clean_tables_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # to see that GX leaves no project directory behind
    tables = clean_tables()
    before = {name: table.copy() for name, table in tables.items()}

    report = validate_splits(tables, PARAMS, tmp_path / "docs")

    assert report.success, report.format()
    assert report.failures == []
    assert {name: stats.rows for name, stats in report.splits.items()} == {
        "train": 20,
        "validation": 6,
        "test": 6,
    }
    for name, stats in report.splits.items():
        assert stats.failed == 0 and stats.passed == stats.expectations > 10, name
    # Only train and validation are checked against the test split.
    assert report.splits["train"].expectations == report.splits["test"].expectations + 1
    assert (tmp_path / "docs" / "index.html").is_file()
    assert report.docs_index == tmp_path / "docs" / "index.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]
    for name, table in tables.items():  # derived columns go on a copy
        pd.testing.assert_frame_equal(table, before[name])


def test_planted_defects_name_expectation_column_and_rows(
    defect_run: tuple[ValidationReport, Path],
) -> None:
    report, _ = defect_run
    assert not report.success
    regex = "expect_column_values_to_not_match_regex"
    assert _failures(report) == {
        ("train", "expect_column_values_to_not_be_null", "document", 1, ("train-01",)),
        ("train", regex, "summary", 1, ("train-02",)),  # blank
        ("train", "expect_column_values_to_be_unique", "id", 2, ("train-03", "train-03")),
        ("train", regex, "document", 1, ("train-05",)),  # control character
        ("train", regex, "summary", 1, ("train-06",)),  # U+FFFD
        ("train", "expect_column_values_to_be_between", "document_length", 1, ("train-07",)),
        ("train", "expect_column_values_to_be_in_set", "document_in_test", 1, ("train-08",)),
        (
            "train",
            "expect_column_pair_values_a_to_be_greater_than_b",
            "document_length, summary_length",
            3,
            ("train-09", "train-10", "train-11"),
        ),
    }
    checks = {f.example_ids[0]: f.check for f in report.failures}
    assert "blank" in checks["train-02"]
    assert "control characters" in checks["train-05"]
    assert "U+FFFD" in checks["train-06"]
    assert "between 3 and 40" in checks["train-07"]
    assert "90%" in checks["train-09"]
    assert all(f.element_count == 20 and f.error is None for f in report.failures)
    assert report.splits["train"].failed == 8
    assert report.splits["validation"].failed == report.splits["test"].failed == 0


def test_report_format_is_readable(defect_run: tuple[ValidationReport, Path]) -> None:
    report, docs = defect_run
    text = report.format()
    assert text.startswith("Data validation failed: 8 of ")
    assert "train: 20 rows" in text and "validation: 6 rows" in text
    assert "expect_column_values_to_be_unique on column 'id'" in text
    assert "2 of 20 rows" in text
    assert "example ids: train-09, train-10, train-11" in text
    assert str(docs / "index.html") in text


def test_summary_is_json_with_metrics(defect_run: tuple[ValidationReport, Path]) -> None:
    report, docs = defect_run
    summary = json.loads(json.dumps(report.to_summary()))
    assert summary["success"] is False
    assert summary["failed"] == 8
    assert summary["splits"]["train"]["rows"] == 20
    assert summary["splits"]["train"]["failed"] == 8
    assert summary["expectations"] == sum(s["expectations"] for s in summary["splits"].values())
    assert {f["column"] for f in summary["failures"]} >= {"id", "document", "summary"}
    assert (docs / "index.html").is_file()
    assert list((docs / "validations").rglob("*.html"))


def test_missing_column_is_one_failure_not_a_cascade(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["validation"] = tables["validation"].drop(columns=["summary"])
    report = validate_splits(tables, PARAMS, tmp_path / "docs")
    assert _failures(report) == {
        ("validation", "expect_column_to_exist", "summary", None, ()),
    }
    assert "expect_column_to_exist on column 'summary'" in report.format()


def test_thresholds_come_from_params(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["train"].loc[0, "document"] = "x" * 100  # 1 token but 100 characters
    tables["train"].loc[0, "summary"] = "short"

    by_chars = PARAMS.model_copy(
        update={"length_unit": "characters", "document_length": LengthBounds(min=3, max=90)}
    )
    report = validate_splits(tables, by_chars, tmp_path / "chars")
    assert _failures(report) == {
        ("train", "expect_column_values_to_be_between", "document_length", 1, ("train-00",)),
    }
    assert "in characters" in report.failures[0].check

    # The same row read in tokens is 1 token: below min 3, unless `mostly` forgives one row in 20.
    report = validate_splits(tables, PARAMS, tmp_path / "tokens")
    assert _failures(report) == {
        ("train", "expect_column_values_to_be_between", "document_length", 1, ("train-00",)),
    }
    lenient = PARAMS.model_copy(update={"length_mostly": 0.9})
    assert validate_splits(tables, lenient, tmp_path / "lenient").success


def test_example_ids_are_capped(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["test"]["summary"] = "caf\ufffd"
    report = validate_splits(
        tables, PARAMS.model_copy(update={"max_failed_examples": 2}), tmp_path / "docs"
    )
    (failure,) = report.failures
    assert failure.unexpected_count == 6
    assert failure.example_ids == ["test-00", "test-01"]


def test_text_lengths() -> None:
    text = pd.Series(["two words", "  ", None, "a\tb\nc "])
    assert text_lengths(text, "tokens").tolist() == [2, pd.NA, pd.NA, 3]
    assert text_lengths(text, "characters").tolist() == [9, pd.NA, pd.NA, 6]


def _stage_params(**validate: object) -> Params:
    return Params.model_validate(
        {
            "dataset": {
                "name": "tiny",
                "path": "raw",
                "format": "jsonl",
                "splits": {"train": {"file": "train.jsonl"}, "test": {"file": "test.jsonl"}},
            },
            "validate": {**PARAMS.model_dump(), **validate},
        }
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory as the current directory: stages read and write relative to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write_interim(tables: dict[str, pd.DataFrame]) -> None:
    Paths.interim.mkdir(parents=True)
    for name, table in tables.items():
        table.to_parquet(Paths.interim_split(name), index=False)


def test_run_validate_writes_summary_and_docs_then_raises(project: Path) -> None:
    _write_interim(defective_tables())

    with pytest.raises(ValidationFailed) as excinfo:
        run_validate(_stage_params())

    message = str(excinfo.value)
    assert "expect_column_values_to_not_be_null on column 'document'" in message
    assert "train-01" in message
    summary = json.loads(Paths.validation_summary.read_text(encoding="utf-8"))
    assert summary["success"] is False and summary["failed"] == 8
    assert (Paths.validation_docs / "index.html").is_file()


def test_run_validate_passes_on_clean_data(project: Path) -> None:
    _write_interim(clean_tables())
    report = run_validate(_stage_params())
    assert report.success
    assert json.loads(Paths.validation_summary.read_text(encoding="utf-8"))["success"] is True


def test_run_validate_names_missing_split_file(project: Path) -> None:
    tables = clean_tables()
    del tables["validation"]
    _write_interim(tables)
    with pytest.raises(DataError, match=r"validation\.parquet: not found; run the ingest stage"):
        run_validate(_stage_params())
    assert not Paths.validation_summary.exists()


def test_tokenize_refuses_data_that_failed_or_skipped_validation(project: Path) -> None:
    from summarizer.stages.tokenize import run as run_tokenize

    params = _stage_params()
    _write_interim(defective_tables())
    with pytest.raises(DataError, match=r"summary\.json: not found; run the validate stage first"):
        run_tokenize(params)
    with pytest.raises(ValidationFailed):
        run_validate(params)
    with pytest.raises(ValidationFailed, match=r"failed validation \(8 expectation\(s\)\)"):
        run_tokenize(params)
    assert not Paths.processed.exists()


def test_tokenize_refuses_data_changed_since_validation(project: Path) -> None:
    from summarizer.stages.tokenize import run as run_tokenize

    params = _stage_params()
    tables = clean_tables()
    _write_interim(tables)
    run_validate(params)
    tables["train"].head(3).to_parquet(Paths.interim_split("train"), index=False)
    with pytest.raises(ValidationFailed, match="describes other data"):
        run_tokenize(params)
    run_validate(params)
    counts = run_tokenize(params)
    assert counts == {
        "train": 3,
        "validation": len(tables["validation"]),
        "test": len(tables["test"]),
    }


# ------------------------------------------------------------- what a broken expectation does
NO_WORD_TEXTS = ["!!! ??? ... ,,,", "😀😀😀", ".", "\u200b\u200b"]


def test_text_without_a_letter_or_digit_is_a_row_failure(tmp_path: Path) -> None:
    tables = clean_tables()
    for row, text in enumerate(NO_WORD_TEXTS):
        tables["train"].loc[row, "summary"] = text
    tables["train"].loc[4, "document"] = "😀 " * 5
    # Letters and digits of any script are words.
    tables["train"].loc[5, "summary"] = "東京 ١٢٣"
    tables["train"].loc[6, "summary"] = "привет мир"

    report = validate_splits(tables, PARAMS, tmp_path / "docs")

    regex = "expect_column_values_to_match_regex"
    assert _failures(report) == {
        ("train", regex, "summary", 4, ("train-00", "train-01", "train-02", "train-03")),
        ("train", regex, "document", 1, ("train-04",)),
    }
    assert all("letter or digit" in f.check for f in report.failures)


def _cnndm_like_tables() -> dict[str, pd.DataFrame]:
    """What the public CNN/DM splits hold: blank train articles, over-long summaries in every
    split and U+FFFD in test articles."""
    tables = clean_tables()
    train, validation, test = tables["train"], tables["validation"], tables["test"]
    train.loc[[2, 5], "document"] = ""
    for table, row in ((train, 7), (validation, 1), (test, 0)):
        table.loc[row, "summary"] = " ".join(["long"] * 35)  # > max 30
        table.loc[row, "document"] += " more" * 28  # 40 tokens: still longer than that
    test.loc[4, "document"] = "the light in these images is \ufffd old ."
    return tables


def test_test_rows_are_reported_and_kept_and_the_run_passes(tmp_path: Path) -> None:
    tables = _cnndm_like_tables()
    for split in ("train", "validation"):  # only the test split's defects this time
        tables[split] = clean_tables()[split]

    report = validate_splits(tables, PARAMS, tmp_path / "docs")

    assert report.success, report.format()
    assert {(f.split, f.action, tuple(f.example_ids)) for f in report.failures} == {
        ("test", "keep", ("test-00",)),
        ("test", "keep", ("test-04",)),
    }
    assert report.dropped_ids == {}
    text = report.format()
    assert text.startswith("Data validation passed with findings: 2 of ")
    assert "REPORTED (rows kept) expect_column_values_to_not_match_regex" in text


def test_invalid_train_rows_stop_the_run_unless_dropped(tmp_path: Path) -> None:
    report = validate_splits(_cnndm_like_tables(), PARAMS, tmp_path / "stop")
    assert not report.success
    assert {(f.split, f.action) for f in report.failures} == {
        ("train", "stop"),
        ("validation", "stop"),
        ("test", "keep"),
    }

    dropping = PARAMS.model_copy(update={"drop_invalid_rows": True})
    report = validate_splits(_cnndm_like_tables(), dropping, tmp_path / "drop")

    assert report.success, report.format()
    assert report.dropped_ids == {
        "train": ["train-02", "train-05", "train-07"],
        "validation": ["validation-01"],
    }
    assert report.splits["train"].dropped_rows == 3
    assert report.splits["test"].dropped_rows == 0
    summary = json.loads(json.dumps(report.to_summary()))
    assert summary["success"] is True and summary["stopping"] == 0
    # Blank and length on train, length on validation, length and U+FFFD on test.
    assert summary["failed"] == 5
    assert summary["splits"]["train"]["dropped_rows"] == 3
    assert "DROPPED expect_column_values_to_not_match_regex on column 'document'" in report.format()
    assert "train: 20 rows, " in report.format() and "3 rows dropped" in report.format()


def test_all_ids_are_dropped_not_only_the_examples(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["train"].loc[:11, "summary"] = "."  # 12 rows, more than max_failed_examples
    params = PARAMS.model_copy(update={"drop_invalid_rows": True, "max_failed_examples": 2})
    report = validate_splits(tables, params, tmp_path / "docs")
    assert report.success, report.format()
    assert report.dropped_ids["train"] == [f"train-{i:02d}" for i in range(12)]
    (failure,) = report.failures
    assert failure.example_ids == ["train-00", "train-01"]


def test_structural_problems_stop_the_run_even_on_test_and_with_dropping(tmp_path: Path) -> None:
    params = PARAMS.model_copy(update={"drop_invalid_rows": True})
    tables = clean_tables()
    tables["test"] = tables["test"].drop(columns=["summary"])
    tables["test"].loc[1, "id"] = "test-00"
    tables["train"].loc[3, "document"] = tables["validation"].loc[0, "document"]
    tables["validation"].loc[0, "document"] = tables["test"].loc[2, "document"]  # a test leak
    report = validate_splits(tables, params, tmp_path / "docs")
    assert not report.success
    assert {(f.split, f.expectation, f.action) for f in report.failures} == {
        ("test", "expect_column_to_exist", "stop"),
        ("test", "expect_column_values_to_be_unique", "stop"),
        ("validation", "expect_column_values_to_be_in_set", "stop"),
    }


def test_a_distribution_check_is_not_fixed_by_dropping_rows(tmp_path: Path) -> None:
    params = PARAMS.model_copy(update={"drop_invalid_rows": True})
    tables = clean_tables()
    for split in ("train", "test"):
        tables[split].loc[:3, "summary"] = "a summary that is much longer than its own document"
        tables[split].loc[:3, "document"] = "short four token document"
    report = validate_splits(tables, params, tmp_path / "docs")
    assert not report.success
    assert {(f.split, f.action) for f in report.failures} == {("train", "stop"), ("test", "keep")}
    assert report.dropped_ids == {}


def test_a_split_with_every_row_dropped_stops_the_run(tmp_path: Path) -> None:
    tables = clean_tables()
    tables["validation"]["document"] = ""
    params = PARAMS.model_copy(update={"drop_invalid_rows": True})
    report = validate_splits(tables, params, tmp_path / "docs")
    assert not report.success
    assert report.emptied == ["validation"]
    assert "every one of the 6 rows breaks a row-level expectation" in report.format()


def test_tokenize_leaves_out_the_rows_validate_dropped(project: Path) -> None:
    from summarizer.stages.tokenize import run as run_tokenize

    params = _stage_params(drop_invalid_rows=True)
    _write_interim(_cnndm_like_tables())
    report = run_validate(params)
    assert report.success

    counts = run_tokenize(params)

    assert counts == {"train": 17, "validation": 5, "test": 6}
    processed = {s: pd.read_parquet(Paths.processed_split(s)) for s in counts}
    assert not {"train-02", "train-05", "train-07"} & set(processed["train"]["id"])
    assert "validation-01" not in set(processed["validation"]["id"])
    assert {"test-00", "test-04"} <= set(processed["test"]["id"])
    # The ingested tables stay as ingest wrote them.
    assert len(pd.read_parquet(Paths.interim_split("train"))) == 20
