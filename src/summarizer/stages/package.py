"""Stage ``package``: the model ``train`` exported (``models/trained``) with the decoding options
it is evaluated and served with (``evaluate.decode``, written into it as ``decode.json``), as
``models/summarizer``.

A stage of its own, so that the decoding options are no param of training: a new beam size
re-runs this copy and ``evaluate``, never ``train``. Everything that reads ``models/summarizer``
(``evaluate``, ``register``, ``summarizer summarize -m``, a copy of the directory anywhere)
decodes with the options it carries (:meth:`Summarizer.from_dir
<summarizer.inference.Summarizer.from_dir>`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from summarizer.config.evaluation import PackageStageParams
from summarizer.config.paths import Paths
from summarizer.errors import DataError
from summarizer.io import atomic_directory


def run(params: PackageStageParams) -> Path:
    """Stage ``package``: write ``models/summarizer``, all or nothing; returns its path."""
    source = Paths.trained_model
    if not source.is_dir():
        raise DataError(f"{source}: not found; run the train stage first")
    with atomic_directory(Paths.model_dir) as staged:
        shutil.copytree(source, staged)
        params.evaluate.decode.write(staged)
    return Paths.model_dir
