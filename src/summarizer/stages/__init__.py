"""One module per stage of ``dvc.yaml``: the only code that reads ``params.yaml`` sections,
:class:`~summarizer.config.paths.Paths` and the files stages hand each other, and that calls the
libraries (``data``, ``model``, ``training``, ``evaluation``, ``registry``) with plain values.

A stage's DVC deps are its module and what that imports, so a change re-runs only what it can
affect (``tests/unit/test_dvc_deps.py`` holds both directions). This package imports nothing, so
importing one stage does not pull in the others.
"""
