"""The training and decoding modules import, and a model trains and decodes, on a machine without
spaCy, MLflow, DVC, Great Expectations or rouge-score: what bench/gpu_run.py needs on the GPU
machine, which has torch and pydantic (carried) but none of those."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO_ROOT

ABSENT = ("spacy", "mlflow", "dvc", "great_expectations", "rouge_score")
DEVICE_MODULES = (
    "summarizer.training",
    "summarizer.training.trainer",
    "summarizer.stages.train",
    "summarizer.model",
    "summarizer.batching",
    "summarizer.inference",
)


def run_without(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter where importing any of :data:`ABSENT` fails."""
    prelude = f"import sys\nfor name in {ABSENT!r}:\n    sys.modules[name] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_blocking_works() -> None:
    result = run_without("import spacy")
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


@pytest.mark.parametrize("module", DEVICE_MODULES)
def test_module_imports_without_spacy_or_mlflow(module: str) -> None:
    result = run_without(f"import {module}")
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_model_trains_exports_and_decodes_without_spacy_or_mlflow(tmp_path) -> None:
    """The path of bench/gpu_run.py: the trainer, the model directory, Summarizer, beam search."""
    result = run_without(
        f"""
        from pathlib import Path
        from summarizer.batching import EncodedPairs
        from summarizer.config.data import TokenizeParams, VocabParams
        from summarizer.config.evaluation import DecodeParams
        from summarizer.config.training import ModelParams, TrainParams
        from summarizer.data.vocab import Vocab
        from summarizer.inference import Summarizer
        from summarizer.model_io import save_model_dir
        from summarizer.training import build_trainer, model_config

        sources = [f"the cat number {{i}} sat on the mat".split() for i in range(40)]
        targets = [f"cat {{i}} sat".split() for i in range(40)]
        vocab = Vocab.build(sources + targets, VocabParams(min_freq=1, max_size=30))
        pairs = EncodedPairs.from_tokens(sources, targets, vocab, vocab, extended=True)
        model = ModelParams(emb_dim=16, hidden_dim=16, enc_layers=1, dec_layers=1,
                            copy=True, coverage=True)
        trainer = build_trainer(
            TrainParams(device="cpu", max_epochs=1, batch_tokens=400, threads=1),
            model_config(model, len(vocab), len(vocab)),
        )
        trainer.fit(pairs, pairs.subset(8))
        folder = Path({str(tmp_path)!r}) / "model"
        save_model_dir(folder, trainer.model.state_dict(), trainer.config, TokenizeParams(),
                       vocab, vocab, {{}})
        summarizer = Summarizer.from_dir(folder)
        summaries = summarizer.summarize_tokens(
            sources[:3], DecodeParams(beam_size=2, max_length=5, no_repeat_content_words=False)
        )
        assert len(summaries) == 3 and all(isinstance(s.text, str) for s in summaries)
        # Which words are function words is spaCy's list: without it, a clear refusal.
        from summarizer.errors import ConfigError
        try:
            summarizer.summarize_tokens(sources[:1], DecodeParams(no_repeat_content_words=True))
        except ConfigError as error:
            assert "spaCy is not installed" in str(error), error
        else:
            raise AssertionError("decoded without the stop-word list")
        # bench/gpu_run.py's way: the list carried from a machine with spaCy.
        from summarizer.content_words import ContentWords
        summarizer.content_words = ContentWords.of_summaries(
            TokenizeParams(), vocab.specials, ["the", "on"]
        )
        (blocked,) = summarizer.summarize_tokens(
            sources[:1], DecodeParams(beam_size=2, max_length=5, no_repeat_content_words=True)
        )
        content = [w for w in blocked.tokens if w not in ("the", "on")]
        assert len(content) == len(set(content)), blocked.tokens
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
