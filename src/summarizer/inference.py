"""Documents in, summaries out: the path shared by the evaluate stage, the CLI and the pyfunc.

Raw text goes through the model directory's own tokenizer settings and vocabulary, batched beam
(or greedy) search, UNK replacement from attention, and the one ``detokenize`` function, so that
``summarizer summarize``, ``mlflow models serve`` and the scores in ``reports/`` see the same
outputs for the same input.

A packaged model directory (``models/summarizer``) carries the decoding options it was evaluated
with (``decode.json``, :meth:`DecodeParams.read`); :meth:`Summarizer.from_dir` decodes with them
unless given others, so the directory alone, copied anywhere, writes the evaluated summaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from tqdm.auto import tqdm

from summarizer.batching import encode_source, extend_source, pad, token_batches
from summarizer.config.evaluation import DecodeParams
from summarizer.content_words import ContentWords
from summarizer.errors import ConfigError
from summarizer.model import beam_search, greedy_search, replace_unknowns

if TYPE_CHECKING:
    # model_io and tokenization import spaCy, which decoding token lists never needs (the GPU
    # machine of bench/gpu_run.py has none): imported where text is read or written.
    from summarizer.model_io import LoadedModel


@dataclass
class Summary:
    """One document's summary, with what produced it (for reports and attention plots)."""

    text: str
    tokens: list[str]
    source_tokens: list[str]  # what the model read (after truncation), for attention plots
    attention: Tensor  # [len(tokens), len(source_tokens)]
    score: float


class Summarizer:
    """A loaded model directory that turns documents into summaries with given decoding options.

    The evaluate stage, ``summarizer summarize`` and the pyfunc all decode through this class.
    ``options`` are the ones a call without its own decodes with.
    """

    def __init__(self, loaded: LoadedModel, options: DecodeParams | None = None) -> None:
        self.loaded = loaded
        self.options = options or DecodeParams()
        self.directory: Path | None = None  # the model directory, when loaded from one

    @classmethod
    def from_dir(
        cls,
        path: Path | str,
        device: str | torch.device = "cpu",
        fallback: DecodeParams | None = None,
    ) -> Summarizer:
        """Load a model directory (see :mod:`summarizer.model_io`) with the decoding options it
        carries (written by the package stage); one without them (as the train stage exports
        it) decodes with ``fallback``, else with the defaults of :class:`DecodeParams`."""
        from summarizer.model_io import load_model_dir

        carried = DecodeParams.read(path)  # before the weights: a bad file fails at once
        summarizer = cls(load_model_dir(path, device), carried or fallback)
        summarizer.directory = Path(path)
        return summarizer

    @cached_property
    def content_words(self) -> ContentWords:
        """The words a summary of this model stutters by repeating (its summaries' language,
        sparing its unknown markers and special tokens)."""
        settings = self.loaded.processor.settings
        return ContentWords.of_summaries(settings, self.loaded.tgt_vocab.specials)

    @cached_property
    def _unrepeatable(self) -> Tensor:
        mask = self.content_words.unrepeatable(self.loaded.tgt_vocab.itos)
        return torch.tensor(mask, dtype=torch.bool, device=self.loaded.device)

    def require_options(self, expected: DecodeParams, source: str) -> None:
        """A :class:`ConfigError` unless these options write what ``expected`` (from ``source``)
        would: a model directory packaged with other options than the ones a report is about to
        name. Speed-only settings may differ."""
        differ = [
            f"{name} {getattr(self.options, name)!r} (not {getattr(expected, name)!r})"
            for name in DecodeParams.output_options()
            if getattr(self.options, name) != getattr(expected, name)
        ]
        if differ:
            where = self.directory or "the model"
            raise ConfigError(
                f"{where} was packaged with other decoding options than {source}: "
                f"{', '.join(differ)}; run `summarizer package` with the same params first "
                "(`dvc repro` does)"
            )

    def summarize_tokens(
        self,
        sources: Sequence[Sequence[str]],
        options: DecodeParams | None = None,
        progress: str | None = None,
    ) -> list[Summary]:
        """Decode already tokenized (and truncated) documents, many at once."""
        options = options or self.options
        loaded = self.loaded
        ids = [encode_source(tokens, loaded.src_vocab) for tokens in sources]
        copies = loaded.model.config.copy
        # A copy model may write a source word outside its vocabulary: each document gets
        # temporary ids for its own unknown words (the target vocabulary extended).
        extended = [extend_source(tokens, loaded.tgt_vocab) for tokens in sources] if copies else []
        # Similar lengths together waste little padding; one "target" position per row.
        batches = token_batches(
            [len(seq) for seq in ids],
            [0] * len(ids),
            batch_tokens=options.batch_tokens,
            max_batch_size=max(1, 2048 // options.beam_size),
        )
        results: list[Summary | None] = [None] * len(ids)
        search_args = options.search_args()
        unrepeatable = self._unrepeatable if options.no_repeat_content_words else None
        bar = tqdm(total=len(ids), desc=progress, unit="doc", disable=None if progress else True)
        for indices in batches:
            src = pad([ids[i] for i in indices]).to(loaded.device)
            lengths = torch.tensor([len(ids[i]) for i in indices])
            src_ext: Tensor | None = None
            num_oov: int | None = None
            if copies:
                src_ext = pad([extended[i][0] for i in indices]).to(loaded.device)
                num_oov = max(len(extended[i][1]) for i in indices)
            with torch.inference_mode():
                if options.beam_size == 1:
                    hypotheses = greedy_search(
                        loaded.model, src, lengths, src_ext, num_oov, unrepeatable, **search_args
                    )
                else:
                    hypotheses = beam_search(
                        loaded.model,
                        src,
                        lengths,
                        src_ext,
                        num_oov,
                        unrepeatable,
                        beam_size=options.beam_size,
                        **search_args,
                    )
            for index, hypothesis in zip(indices, hypotheses, strict=True):
                source_tokens = list(sources[index])
                oovs = extended[index][1] if copies else ()
                tokens = loaded.tgt_vocab.decode(hypothesis.token_ids, oovs)
                attention = hypothesis.attention[:, : max(len(source_tokens), 1)].cpu()
                # A fixed-context model attends to nothing: its <unk> has no source word.
                if options.replace_unk and loaded.model.has_attention:
                    tokens = replace_unknowns(
                        tokens,
                        attention,
                        source_tokens,
                        loaded.tgt_vocab.unk_token,
                        self.content_words.is_content if options.no_repeat_content_words else None,
                    )
                results[index] = Summary(
                    loaded.processor.detokenize(tokens),
                    tokens,
                    source_tokens,
                    attention,
                    hypothesis.score,
                )
            bar.update(len(indices))
        bar.close()
        return [summary for summary in results if summary is not None]

    def summarize(
        self, documents: Sequence[str], options: DecodeParams | None = None
    ) -> list[Summary]:
        """Tokenize raw documents exactly as the training data was, then decode."""
        sources = self.loaded.processor.tokenize_source(list(documents))
        return self.summarize_tokens(sources, options)
