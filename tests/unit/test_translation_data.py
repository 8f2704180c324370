"""What the translation preset needs of the data stages: tab-separated pairs without a header, a
test split carved by sentence, several translations as several references, and Chinese
tokenized into characters and written back without spaces."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from summarizer.config.data import DatasetSpec, IngestParams, TokenizeParams
from summarizer.config.params import Params
from summarizer.data.ingest import build_splits
from summarizer.data.tables import read_split
from summarizer.data.tokenization import TextProcessor, detokenize
from summarizer.errors import ConfigError, DataError
from tests.conftest import REPO_ROOT

ATTRIBUTION = "CC-BY 2.0 (France) Attribution: tatoeba.org #1 (a) & #2 (b)"


def tsv_spec(root: Path, **changes: object) -> DatasetSpec:
    values: dict = dict(
        name="pairs",
        path=root,
        format="tsv",
        columns=["english", "chinese", "attribution"],
        fields={"document": "english", "summary": "chinese"},
        splits={"train": {"file": "cmn.txt"}},
    )
    values.update(changes)
    return DatasetSpec(**values)


def write_pairs(root: Path, pairs: list[tuple[str, str]]) -> Path:
    lines = [f"{english}\t{chinese}\t{ATTRIBUTION}" for english, chinese in pairs]
    (root / "cmn.txt").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return root


# ------------------------------------------------------------------------------ tsv reading
def test_tsv_without_header_reads_named_columns_and_keeps_quotes(tmp_path: Path) -> None:
    write_pairs(tmp_path, [("Hi.", "嗨。"), ('He said "no".', "他说“不”。")])
    table = read_split(tsv_spec(tmp_path), "train")
    assert table.to_dict("records") == [
        {"id": "train-0000000", "document": "Hi.", "summary": "嗨。"},
        # No quoting in TSV: a quote is text (csv would have eaten it).
        {"id": "train-0000001", "document": 'He said "no".', "summary": "他说“不”。"},
    ]


def test_tsv_with_a_header_row(tmp_path: Path) -> None:
    (tmp_path / "cmn.txt").write_text("en\tzh\nHi.\t嗨。\n", encoding="utf-8")
    spec = tsv_spec(tmp_path, columns=None, fields={"document": "en", "summary": "zh"})
    assert read_split(spec, "train")["summary"].tolist() == ["嗨。"]
    spec = tsv_spec(tmp_path, columns=None, fields={"document": "english", "summary": "zh"})
    with pytest.raises(DataError, match=r"cmn\.txt, line 1: missing column\(s\) english"):
        read_split(spec, "train")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Hi.\t嗨。\t" + ATTRIBUTION + "\nRun.\t跑。\n", r"line 2: 2 tab-separated field\(s\)"),
        ("Hi.\t嗨。\tx\textra\n", r"line 1: 4 tab-separated field\(s\), but there are 3"),
        ("Hi.\t嗨。\tx\n\nRun.\t跑。\tx\n", r"line 2: blank line"),
    ],
)
def test_tsv_errors_name_the_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "cmn.txt").write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=rf"cmn\.txt, {message}"):
        read_split(tsv_spec(tmp_path), "train")


def test_columns_must_name_the_fields_and_belong_to_csv_or_tsv(tmp_path: Path) -> None:
    write_pairs(tmp_path, [("Hi.", "嗨。")])
    with pytest.raises(DataError, match=r"dataset\.columns: missing column\(s\) chinese"):
        read_split(tsv_spec(tmp_path, columns=["english", "mandarin", "attribution"]), "train")
    with pytest.raises(ValueError, match="columns names the columns of a csv or tsv file"):
        tsv_spec(tmp_path, format="jsonl")


# ----------------------------------------------------------------------------- the split
def many_translations(count: int) -> list[tuple[str, str]]:
    """``count`` English sentences, every third with two translations."""
    pairs = []
    for i in range(count):
        pairs.append((f"sentence {i}.", f"句子{i}。"))
        if i % 3 == 0:
            pairs.append((f"sentence {i}.", f"第{i}句。"))
    return pairs


def test_carved_test_and_validation_keep_each_sentence_on_one_side(tmp_path: Path) -> None:
    write_pairs(tmp_path, many_translations(90))
    params = IngestParams(
        validation_size=0.1, test_size=0.2, carve_by_document=True, merge_test_references=True
    )
    tables, report = build_splits(tsv_spec(tmp_path), params)
    documents = {split: set(table["document"]) for split, table in tables.items()}
    assert not documents["train"] & documents["test"]
    assert not documents["train"] & documents["validation"]
    assert not documents["validation"] & documents["test"]
    assert len(documents["test"]) == 18  # 20% of the 90 sentences, not of the 120 rows
    # Test: one example per sentence, all its translations its references.
    test = tables["test"]
    assert test["document"].is_unique and len(test) == 18
    for document, references in zip(test["document"], test["references"], strict=True):
        i = int(document.split()[1].rstrip("."))
        assert references == ([f"句子{i}。", f"第{i}句。"] if i % 3 == 0 else [f"句子{i}。"])
    assert report["test_carved_from_train"] is True
    assert report["test_set"]["rows"] - len(test) == report["test_set"]["merged_into_references"]
    assert report["test_set"]["modified"] is False
    # Fixed: the same file and seed give the same split.
    again, _ = build_splits(tsv_spec(tmp_path), params)
    assert again["test"]["id"].tolist() == test["id"].tolist()


def test_a_dataset_needs_a_test_split_or_a_test_size(tmp_path: Path) -> None:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params["dataset"]["splits"].pop("test")
    with pytest.raises(ValueError, match=r"no 'test' split: name one, or set ingest\.test_size"):
        Params.model_validate(params)
    params["ingest"]["test_size"] = 0.05
    Params.model_validate(params)
    params["dataset"]["splits"]["test"] = {"document": "a", "summary": "b"}
    with pytest.raises(ValueError, match=r"ingest\.test_size carves a test set, but"):
        Params.model_validate(params)


def test_a_split_of_one_sentence_cannot_be_carved(tmp_path: Path) -> None:
    write_pairs(tmp_path, [("Hi.", "嗨。"), ("Hi.", "你好。")])
    with pytest.raises(DataError, match="1 document\\(s\\); cannot carve a test split"):
        build_splits(tsv_spec(tmp_path), IngestParams(test_size=0.5, carve_by_document=True))


# ---------------------------------------------------------------------------- tokenization
def test_chinese_round_trips_through_tokenize_and_detokenize() -> None:
    processor = TextProcessor(
        TokenizeParams(lang="en", target_lang="zh", unknown_markers=[], mask_digits=False)
    )
    [source] = processor.tokenize_source(["Hello, world!"])
    assert source == ["hello", ",", "world", "!"]
    texts = ["你好，世界！", "汤姆在哪里？", "我有3个苹果。"]
    targets = processor.tokenize_target(texts)
    assert targets[0] == ["你", "好", "，", "世", "界", "！"]
    assert [processor.detokenize(tokens) for tokens in targets] == texts
    assert detokenize(["hello", ",", "world", "!"]) == "hello, world!"  # English as before


def test_an_unknown_spacy_language_is_a_clear_error() -> None:
    processor = TextProcessor(TokenizeParams(lang="en", target_lang="klingon"))
    with pytest.raises(ConfigError, match=r"tokenize: spaCy cannot build language 'klingon'"):
        processor.tokenize_target(["x"])


def test_the_preset_translates_into_chinese_ranked_by_bleu() -> None:
    preset = yaml.safe_load((REPO_ROOT / "configs/datasets/tatoeba-cmn.yaml").read_text())
    params = Params.model_validate(
        {**yaml.safe_load((REPO_ROOT / "params.yaml").read_text()), **preset}
    )
    assert params.tokenize.target_language == "zh"
    assert params.register_.metric == "bleu"
    assert params.evaluate.scoring.corpus_metrics == ["bleu", "chrf"]
