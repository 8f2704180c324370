"""Evaluation: decoding the test split, ROUGE scoring, baselines, checks and reports.

=============  ===============================================================================
``inputs``     the scored examples: ingested splits and extra test sets, with references
``scoring``    ROUGE with confidence intervals (:class:`ScoringOptions`, :func:`score_corpus`)
``tokenizer``  what ROUGE counts as words: the Unicode tokenizer, the check that text is kept
``files``      predictions and references from files, for ``summarizer score``
``baselines``  lead-N words or sentences
``checks``     degeneracy checks (repeats, empty or identical outputs, length ratio)
``reports``    predictions JSONL, ROUGE by source length, attention heatmaps
``tuning``     ``tune-decoding``: ranking decoding options on held-out data
=============  ===============================================================================

Scoring, files, baselines and checks import neither torch nor MLflow, so ``summarizer score``
and code that only scores stay light. The package imports nothing, so using one module does not
load the others. The ``evaluate`` stage is :mod:`summarizer.stages.evaluate`.
"""
