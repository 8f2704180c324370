"""The facts of a model card (:class:`~summarizer.registry.model_card.ModelCard`), gathered from
what the pipeline left in the workspace: the packaged model directory, the evaluate stage's
reports, ingest's and vocab's reports, and the training run's tags.

Nothing is typed by hand, and nothing is required beyond the evaluation: a report that is missing
(a workspace run stage by stage, an older run) leaves its facts out, and the card says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from summarizer.config.evaluation import DecodeParams
from summarizer.config.params import Params
from summarizer.config.paths import Paths
from summarizer.evaluation.report import EvaluationReport
from summarizer.io import read_json
from summarizer.model_io import CONFIG, META, TOKENIZER
from summarizer.project import project_root
from summarizer.registry.lineage import default_remote_url
from summarizer.registry.model_card import (
    Architecture,
    Data,
    Example,
    ModelCard,
    Provenance,
    Tokenization,
    Training,
    Vocabulary,
)

log = logging.getLogger(__name__)

PRESETS = Path("configs/datasets")
TYPICAL_EXAMPLES = 3  # nearest the median score; plus the best and the worst
FALLBACK_EXAMPLE_METRIC = "rougeL_f"  # per-example scores are ROUGE only (BLEU is corpus-level)


def _json(path: Path) -> dict[str, Any]:
    """The object in ``path``; empty when the file is missing or not an object (a card fact
    left out, never a failed registration)."""
    if not path.is_file():
        return {}
    try:
        content = read_json(path)
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable, left out of the model card (%s)", path, exc)
        return {}
    return content if isinstance(content, dict) else {}


def architecture(model_dir: Path, meta: Mapping[str, Any]) -> Architecture | None:
    config = _json(model_dir / CONFIG)
    if not config:
        return None
    return Architecture.model_validate({**config, "parameters": meta.get("parameters")})


def training(meta: Mapping[str, Any]) -> Training:
    return Training(
        seconds=meta.get("train_seconds"),
        device=meta.get("device"),
        precision=meta.get("precision"),
        best_epoch=meta.get("best_epoch"),
        epochs=meta.get("epochs"),
    )


def provenance(
    run_id: str | None, run_tags: Mapping[str, str], meta: Mapping[str, Any]
) -> Provenance:
    return Provenance(
        run_id=run_id,
        git_commit=run_tags.get("git_commit"),
        git_dirty=run_tags.get("git_dirty"),
        data_hash=run_tags.get("data_hash") or meta.get("data_hash"),
        dvc_remote=default_remote_url(),
    )


def preset_of(dataset: str) -> str | None:
    """The preset in ``configs/datasets`` whose dataset is named ``dataset``, if any."""
    for path in sorted((project_root() / PRESETS).glob("*.yaml")):
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        section = content.get("dataset") if isinstance(content, dict) else None
        if isinstance(section, dict) and section.get("name") == dataset:
            return (PRESETS / path.name).as_posix()
    return None


def data(dataset: str, model_dir: Path) -> Data:
    ingest, vocab = _json(Paths.ingest_report), _json(Paths.vocab_metrics)
    source, target = vocab.get("source") or {}, vocab.get("target") or {}
    tokenizer = _json(model_dir / TOKENIZER)
    return Data(
        dataset=dataset,
        preset=preset_of(dataset),
        rows={k: v for k, v in (ingest.get("rows") or {}).items() if isinstance(v, int)},
        validation_carved_from_train=ingest.get("validation_carved_from_train"),
        tokenization=Tokenization.model_validate(
            {k: tokenizer[k] for k in Tokenization.model_fields if k in tokenizer}
        ),
        vocabulary=Vocabulary(
            shared=vocab.get("shared"),
            source_size=source.get("size"),
            target_size=target.get("size"),
            source_oov_rate=source.get("validation_oov_rate"),
            target_oov_rate=target.get("validation_oov_rate"),
        ),
    )


def by_source_length(path: Path = Paths.rouge_by_length) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return pd.read_csv(path, dtype={"source_length": str}).to_dict(orient="records")


def examples(metric: str, path: Path = Paths.predictions) -> list[Example]:
    """Typical (nearest the median), best and worst test examples by the per-example score of
    ``metric`` (ROUGE-L where ``metric`` has none per example: BLEU and chrF are corpus-level)."""
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    scored = [r for r in records if isinstance(r.get("rouge"), dict)]
    if not scored:
        return []
    key = metric if metric in scored[0]["rouge"] else FALLBACK_EXAMPLE_METRIC
    if key not in scored[0]["rouge"]:
        return []
    order = sorted(range(len(scored)), key=lambda i: scored[i]["rouge"][key])
    median = scored[order[len(order) // 2]]["rouge"][key]
    typical = sorted(order, key=lambda i: abs(scored[i]["rouge"][key] - median))
    chosen: list[tuple[str, int]] = [("best", order[-1]), ("worst", order[0])]
    for index in typical:
        if len(chosen) == TYPICAL_EXAMPLES + 2:
            break
        if index not in (i for _, i in chosen):
            chosen.append(("typical", index))
    # Typical first: what a user will mostly see.
    chosen.sort(key=lambda pair: ("typical", "best", "worst").index(pair[0]))
    return [
        Example(
            kind=kind,
            id=str(scored[i]["id"]),
            document=scored[i]["document"],
            references=list(scored[i].get("references") or [scored[i]["reference"]]),
            prediction=scored[i]["prediction"],
            score=scored[i]["rouge"][key],
        )
        for kind, i in chosen
    ]


def gather(
    params: Params,
    evaluation: EvaluationReport,
    run_id: str | None = None,
    run_tags: Mapping[str, str] | None = None,
    model_dir: Path = Paths.model_dir,
) -> ModelCard:
    """The card's facts for the model in ``model_dir``, scored by ``evaluation`` and tracked in
    run ``run_id`` (whose tags hold the commit and the data hash)."""
    meta = _json(model_dir / META)
    evaluate = params.evaluate
    decode = DecodeParams.read(model_dir) or evaluate.decode
    return ModelCard(
        model_name=params.register_.model_name,
        metric=params.register_.metric,
        baseline=EvaluationReport.baseline_name(evaluate.baseline, evaluate.lead_n),
        architecture=architecture(model_dir, meta),
        training=training(meta),
        provenance=provenance(run_id, run_tags or {}, meta),
        data=data(params.dataset.name, model_dir),
        evaluation=evaluation.to_dict(),
        scoring=evaluate.scoring.model_dump(),
        decode=decode.model_dump(),
        by_source_length=by_source_length(),
        examples=examples(params.register_.metric),
    )
