"""The option lists of the model and its decoding, written once: the params models accept exactly
these (as ``Literal`` types), and the model checks its own configuration against them. Plain
tuples, so that reading params imports no torch."""

RNN_TYPES = ("lstm", "gru")
# "none": the fixed-context model of the classic tutorial (Sutskever et al., Cho et al.): the
# encoder's final state starts the decoder, which never looks at the source again.
NO_ATTENTION = "none"
ATTENTION_TYPES = (NO_ATTENTION, "dot", "general", "concat", "bahdanau")
LENGTH_PENALTIES = ("none", "avg", "gnmt")
# sacrebleu's corpus metrics (evaluation/corpus_metrics.py), scored beside ROUGE when asked for.
CORPUS_METRICS = ("bleu", "chrf")

# The switches that read the attention: a model without attention cannot have them.
ATTENTION_FEATURES = ("copy", "coverage", "input_feeding")


def attention_needed_message(features: list[str], prefix: str = "") -> str:
    """Why ``features`` (names of :data:`ATTENTION_FEATURES`) cannot go with no attention; the
    one wording of the model's and the params' check (``prefix``: ``"model."`` there)."""
    names = " and ".join(f"{prefix}{name}" for name in features)
    verb = "read" if len(features) > 1 else "reads"
    return (
        f"{names} {verb} the attention, but {prefix}attention is {NO_ATTENTION!r} (the "
        f"fixed-context model computes none): set {prefix}attention to one of "
        f"{ATTENTION_TYPES[1:]} or turn {names} off"
    )
