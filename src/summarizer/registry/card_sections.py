"""The sections of a model card, each a list of Markdown lines from the card's facts."""

from __future__ import annotations

from typing import Any

from summarizer.registry.card_format import (
    baseline_scores,
    clip_words,
    count,
    escape,
    interval,
    label,
    number,
    scored_keys,
    share,
    table,
    test_scores,
)
from summarizer.registry.model_card import Example, ModelCard


def model_section(card: ModelCard) -> list[str]:
    arch, training, origin = card.architecture, card.training, card.provenance
    rows = []
    if arch is not None:
        encoder = f"{'bidirectional ' if arch.bidirectional else ''}{arch.rnn_type.upper()}"
        attention = (
            "no attention (fixed context)"
            if arch.attention == "none"
            else (f"{arch.attention} attention")
        )
        features = [
            name
            for name, on in (
                ("copy (pointer-generator)", arch.copy_source),
                ("coverage", arch.coverage),
                ("input feeding", arch.input_feeding),
                ("tied output embeddings", arch.tie_embeddings),
                ("shared source/target embeddings", arch.share_src_tgt_embeddings),
            )
            if on
        ]
        rows += [
            (
                "Architecture",
                f"{encoder} encoder ({arch.enc_layers} layer(s)) → {arch.rnn_type.upper()} "
                f"decoder ({arch.dec_layers} layer(s)) with {attention}",
            ),
            ("Features", ", ".join(features) or "none"),
            (
                "Size",
                f"{count(arch.parameters)} parameters; embeddings {arch.emb_dim}, hidden "
                f"{arch.hidden_dim}; vocabularies {arch.src_vocab_size:,} source / "
                f"{arch.tgt_vocab_size:,} target",
            ),
        ]
    epochs = (
        f", best epoch {training.best_epoch} of {training.epochs}"
        if training.best_epoch is not None
        else ""
    )
    seconds = "-" if training.seconds is None else f"{training.seconds:,.0f} s"
    rows.append(
        (
            "Training",
            f"{seconds} on {training.device or '-'}, {training.precision or '-'}{epochs}",
        )
    )
    dirty = {"True": " (with uncommitted changes)", "False": " (clean)"}.get(
        origin.git_dirty or "", ""
    )
    rows += [
        ("Code", f"git commit `{origin.git_commit or 'not recorded'}`{dirty}"),
        ("Data", f"DVC data hash `{origin.data_hash or 'not recorded'}`"),
        ("DVC remote", escape(origin.dvc_remote) if origin.dvc_remote else "none configured"),
        ("MLflow run", f"`{origin.run_id or 'not recorded'}`"),
    ]
    return ["## Model", "", *table(["", ""], ((f"**{k}**", v) for k, v in rows)), ""]


def data_section(card: ModelCard) -> list[str]:
    data, tokens, vocab = card.data, card.data.tokenization, card.data.vocabulary
    test_set = card.evaluation.get("test_set") or {}
    rows = [
        (
            "Dataset",
            escape(data.dataset or "not recorded")
            + (f" (preset `{data.preset}`)" if data.preset else " (no preset: params.yaml)"),
        ),
        (
            "Rows",
            " · ".join(f"{split} {count(n)}" for split, n in data.rows.items()) or "not recorded",
        ),
    ]
    if data.validation_carved_from_train:
        rows.append(("Validation", "carved from the training split (ingest.validation_size)"))
    documented = test_set.get("documented_examples")
    scored = test_set.get("examples")
    if documented is None:
        standard = f"{count(scored)} examples scored; no standard size is documented"
    elif scored == documented and not test_set.get("modified_rows"):
        standard = f"the standard test set, whole ({count(scored)} examples)"
    else:
        standard = (
            f"{count(scored)} of the standard {count(documented)} examples scored "
            f"({count(test_set.get('modified_rows') or 0)} rows modified): not comparable with "
            "published scores"
        )
    rows.append(("Test set", standard))
    text = [
        f"language {tokens.lang}" + (f" → {tokens.target_language}" if tokens.translates else ""),
        "lowercased" if tokens.lowercase else "case kept",
        "digits masked as #" if tokens.mask_digits else "digits kept",
    ]
    if tokens.max_source_len is not None:
        text.append(f"documents cut at {tokens.max_source_len} tokens")
    if tokens.max_target_len is not None:
        text.append(f"summaries trained at ≤ {tokens.max_target_len} tokens")
    rows.append(("Tokenizer", "spaCy blank pipeline; " + ", ".join(text)))
    sizes = (
        f"{count(vocab.source_size)} words, shared"
        if vocab.shared
        else f"{count(vocab.source_size)} source / {count(vocab.target_size)} target"
    )
    rows.append(
        (
            "Vocabulary",
            f"{sizes}; validation OOV rate {share(vocab.source_oov_rate)} source, "
            f"{share(vocab.target_oov_rate)} target",
        )
    )
    return ["## Data", "", *table(["", ""], ((f"**{k}**", v) for k, v in rows)), ""]


def results_section(card: ModelCard) -> list[str]:
    test, baseline = test_scores(card), baseline_scores(card)
    confidence = card.scoring.get("confidence", 0.95)
    scorer = (
        f"rouge-score, {'stemmed' if card.scoring.get('use_stemmer', True) else 'not stemmed'}, "
        f"{card.scoring.get('tokenizer', 'default')} tokenizer"
    )
    lines = [
        "## Results",
        "",
        f"Test split of {escape(card.data.dataset or 'the dataset')}, "
        f"{count(test.get('n_examples'))} examples. ROUGE F1 ×100 ({scorer}); "
        f"{100 * confidence:g}% bootstrap intervals. Decoding: "
        + (", ".join(f"{k} {v}" for k, v in card.decode.items() if k != "batch_tokens") or "-")
        + ".",
        "",
    ]
    baseline_name = escape(card.baseline or "baseline")
    rows = []
    for key in scored_keys(test):
        name = label(key) + (" (ranks versions)" if key == card.metric else "")
        rows.append((name, number(test[key]), interval(test, key), number(baseline.get(key))))
    lines += table(["Metric", "This model", "Interval", f"Baseline: {baseline_name}"], rows)
    for name, entry in extra_test_sets(card).items():
        model, lead = entry.get("model") or {}, entry.get("baseline") or {}
        measure = {"r": "recall", "p": "precision", "f": "F1"}.get(entry.get("measure", "f"), "")
        convention = measure + (
            f", predictions cut to {entry['truncate_bytes']} bytes"
            if entry.get("truncate_bytes")
            else ""
        )
        lines += [
            "",
            f"**{escape(name)}** ({count(model.get('n_examples'))} examples; {convention}):",
            "",
        ]
        keys = [k for k in model if k.endswith(f"_{entry.get('measure', 'f')[:1]}")]
        rows = [(label(k.rsplit("_", 1)[0]), number(model[k]), number(lead.get(k))) for k in keys]
        lines += table(["Metric", "This model", "Baseline"], rows)
    lines.append("")
    return lines


def extra_test_sets(card: ModelCard) -> dict[str, dict[str, Any]]:
    return {
        key: value
        for key, value in card.evaluation.items()
        if isinstance(value, dict) and "model" in value and "baseline" in value
    }


def evidence_section(card: ModelCard) -> list[str]:
    """The paired test against the best version registered before it (register.significance)."""
    evidence = card.evidence
    if not evidence:
        return []
    against = f"version {escape(str(evidence.get('against')))}"
    lines = ["## Against the best earlier version", ""]
    comparison = evidence.get("comparison")
    if not comparison:
        why = escape(str(evidence.get("why_not_compared", "")))
        return [*lines, f"Not compared with {against}: {why}", ""]
    confidence = f"{100 * comparison['confidence']:g}%"
    rows = [
        (
            label(comparison["metric"]),
            number(comparison["score_a"]),
            number(comparison["score_b"]),
            f"{comparison['difference']:+.2f}",
            f"{number(comparison['low'])}–{number(comparison['high'])}",
            f"{comparison['p_value']:.3g}",
            f"{comparison['wins_b']} / {comparison['wins_a']} / {comparison['ties']}",
        )
    ]
    header = [
        "Metric",
        against.capitalize(),
        "This model",
        "Difference",
        f"{confidence} interval",
        "p",
        "Examples won / lost / tied",
    ]
    verdict = str(evidence.get("verdict"))
    return [
        *lines,
        f"**{escape(verdict)}** (paired test over the same {comparison['examples']:,} test "
        f"examples: bootstrap interval, approximate randomization p-value, one-sided; "
        f"register.significance {evidence.get('significance')}).",
        "",
        *table(header, rows),
        "",
    ]


def checks_section(card: ModelCard) -> list[str]:
    if not card.gate:
        return []
    rows = []
    for row in card.gate:
        value = "-" if row.value is None else f"{row.value:.4g}"
        threshold = "-" if row.threshold is None else f"{row.threshold:.4g}"
        rows.append((escape(row.name), value, threshold, "pass" if row.passed else "**fail**"))
    return [
        "## Registration gate",
        "",
        "Degenerate-output checks on the test predictions and the baseline, against the "
        "thresholds of `register` when it ran:",
        "",
        *table(["Check", "Measured", "Threshold", ""], rows),
        "",
    ]


# evaluation.json "checks": (what the model writes, what the references have) per row.
STUTTER_ROWS = (
    (
        "Summaries that say a content word twice",
        "repeated_word_share",
        "reference_repeated_word_share",
    ),
    (
        "Summaries that say two consecutive words twice",
        "repeated_bigram_share",
        "reference_repeated_bigram_share",
    ),
)


def stutter_section(card: ModelCard) -> list[str]:
    checks = card.evaluation.get("checks") or {}
    rows = [
        (name, share(checks.get(model_key)), share(checks.get(reference_key)))
        for name, model_key, reference_key in STUTTER_ROWS
        if checks.get(model_key) is not None
    ]
    if not rows:
        return []
    lengths = (
        "Mean length in words",
        number(checks.get("mean_prediction_length"), 1),
        number(checks.get("mean_reference_length"), 1),
    )
    return [
        "## Repetition and length",
        "",
        "On the test set, beside the references' own rates (function words and the data's "
        "markers such as `UNK` and `#` may repeat):",
        "",
        *table(["", "This model", "References"], [*rows, lengths]),
        "",
    ]


def length_section(card: ModelCard) -> list[str]:
    if not card.by_source_length:
        return []
    metric = next((k for k in card.by_source_length[0] if k.startswith("rougeL")), None)
    if metric is None:
        return []
    rows = [
        (escape(str(row.get("source_length"))), str(row.get("examples", "-")), number(row[metric]))
        for row in card.by_source_length
    ]
    return [
        "## ROUGE by source length",
        "",
        *table(["Source tokens", "Examples", label(metric)], rows),
        "",
    ]


def example_lines(example: Example) -> list[str]:
    score = "" if example.score is None else f", {number(example.score)}"
    lines = [f"**{example.kind}** (`{escape(example.id)}`{score})", ""]
    lines.append(f"- Document: {escape(clip_words(example.document))}")
    for reference in example.references:
        lines.append(f"- Reference: {escape(reference)}")
    lines += [f"- Model: {escape(example.prediction) or '*(empty)*'}", ""]
    return lines


def examples_section(card: ModelCard) -> list[str]:
    if not card.examples:
        return []
    lines = [
        "## Examples",
        "",
        f"Test examples by {label(card.metric)}: typical (nearest the median), best and worst.",
        "",
    ]
    for example in card.examples:
        lines += example_lines(example)
    return lines
