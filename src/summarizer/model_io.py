"""A self-describing model directory: weights, model config, vocabularies, tokenizer settings.

Everything needed to turn text into a summary sits in one directory, so the evaluate stage, the
CLI and the MLflow pyfunc all load exactly what was trained.

    model.pt          state dict (loadable with ``torch.load(..., weights_only=True)``)
    config.json       the Seq2SeqConfig
    tokenizer.json    the ``tokenize`` params the data was tokenized with
    vocab/source.json vocab/target.json
    meta.json         training summary (best epoch, validation loss, data hash, ...)
    decode.json       the decoding options, in a packaged directory only: the train stage
                      exports ``models/trained`` without them (so a beam size is no param of
                      training), the package stage copies it to ``models/summarizer`` and adds
                      ``evaluate.decode``; :meth:`Summarizer.from_dir
                      <summarizer.inference.Summarizer.from_dir>` decodes with them
                      (:meth:`DecodeParams.read <summarizer.config.evaluation.DecodeParams.read>`)
"""

from __future__ import annotations

import json
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from summarizer.config.data import TokenizeParams
from summarizer.data.tokenization import TextProcessor
from summarizer.data.vocab import Vocab
from summarizer.errors import SummarizerError, first_line
from summarizer.io import atomic_directory
from summarizer.model import Seq2Seq, Seq2SeqConfig

WEIGHTS = "model.pt"
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
META = "meta.json"

_REFUSED_GLOBAL = re.compile(r"unsupported global:? GLOBAL ([\w.]+)", re.IGNORECASE)


class ModelLoadError(SummarizerError):
    """A model directory is missing a file or its parts do not fit together."""


@dataclass
class LoadedModel:
    """Everything a model directory holds, loaded and checked to fit together."""

    model: Seq2Seq
    config: Seq2SeqConfig
    processor: TextProcessor
    src_vocab: Vocab
    tgt_vocab: Vocab
    meta: dict[str, Any]
    device: torch.device


def save_model_dir(
    path: Path,
    state_dict: dict[str, torch.Tensor],
    config: Seq2SeqConfig,
    tokenize: TokenizeParams,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    meta: dict[str, Any],
) -> None:
    """Write a self-describing model directory atomically (its files: see the module docstring)."""
    with atomic_directory(path) as tmp:
        (tmp / "vocab").mkdir(parents=True)
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, tmp / WEIGHTS)
        (tmp / CONFIG).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        (tmp / TOKENIZER).write_text(tokenize.model_dump_json(indent=2) + "\n")
        (tmp / META).write_text(json.dumps(meta, indent=2) + "\n")
        src_vocab.save(tmp / "vocab" / "source.json")
        tgt_vocab.save(tmp / "vocab" / "target.json")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: missing from the model directory") from None
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{path}: not valid JSON ({exc})") from None


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path``, read by the safe unpickler only: a weights file can come from
    anywhere a model directory is copied from, and a full unpickle would run any code in it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message is mostly advice to pass weights_only=False, the one thing not to do
        # with a file of unknown origin; only the refused object's name is worth repeating.
        refused = _REFUSED_GLOBAL.search(str(exc))
        what = f"it refers to {refused.group(1)}" if refused else "it holds more than tensors"
        raise ModelLoadError(
            f"{path}: refused by safe loading (weights_only): {what}, and unpickling it could "
            "run code; a weights file written by train holds tensors only"
        ) from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise ModelLoadError(
            f"{path}: not a readable PyTorch weights file: {first_line(exc)}"
        ) from None
    if not isinstance(state, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()
    ):
        raise ModelLoadError(
            f"{path}: expected a state dict (parameter names to tensors), "
            f"got {type(state).__name__}"
        )
    return state


def load_model_dir(path: Path | str, device: torch.device | str = "cpu") -> LoadedModel:
    """Load a model directory onto ``device``, checking that vocabularies, config and weights
    belong together."""
    path = Path(path)
    if not path.is_dir():
        raise ModelLoadError(f"{path}: model directory not found")
    try:
        config = Seq2SeqConfig.from_dict(_read_json(path / CONFIG))
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"{path / CONFIG}: invalid model config: {exc}") from None
    tokenize = TokenizeParams.model_validate(_read_json(path / TOKENIZER))
    src_vocab = Vocab.load(path / "vocab" / "source.json")
    tgt_vocab = Vocab.load(path / "vocab" / "target.json")
    for side, vocab, expected in (
        ("source", src_vocab, config.src_vocab_size),
        ("target", tgt_vocab, config.tgt_vocab_size),
    ):
        if len(vocab) != expected:
            raise ModelLoadError(
                f"{path / 'vocab' / (side + '.json')}: {len(vocab)} tokens, but the model was "
                f"trained with a {side} vocabulary of {expected}; the vocabulary does not "
                "belong to these weights"
            )
    weights = path / WEIGHTS
    if not weights.is_file():
        raise ModelLoadError(f"{weights}: missing from the model directory")
    device = torch.device(device)
    model = Seq2Seq(config)
    try:
        model.load_state_dict(_read_weights(weights))
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelLoadError(f"{weights}: weights do not fit {path / CONFIG}: {first}") from None
    model.to(device).eval()
    meta = _read_json(path / META) if (path / META).is_file() else {}
    return LoadedModel(model, config, TextProcessor(tokenize), src_vocab, tgt_vocab, meta, device)
