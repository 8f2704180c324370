"""The option lists of the model and its decoding, written once: the params models accept exactly
these (as ``Literal`` types), and the model checks its own configuration against them. Plain
tuples, so that reading params imports no torch."""

RNN_TYPES = ("lstm", "gru")
ATTENTION_TYPES = ("dot", "general", "concat", "bahdanau")
LENGTH_PENALTIES = ("none", "avg", "gnmt")
