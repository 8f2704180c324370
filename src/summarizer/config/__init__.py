"""Typed view of ``params.yaml`` and every path the pipeline reads or writes.

One module per group of sections, imported from where it is defined (this package imports
nothing, so a stage depends only on the sections it reads). Models forbid unknown keys and coerce
nothing, so a typo in ``params.yaml`` stops the stage with a message naming the key instead of
being silently ignored and leaving the run unreproducible.
"""
