"""The ``serve`` section: the most work one request to the served model may ask for.

A request that asks for more is refused with a 400 before any decoding starts, so no request
outlives the server's timeout and a client cannot tie up a worker with one huge beam.
"""

from __future__ import annotations

from pydantic import Field

from summarizer.config.base import Section


class ServeParams(Section):
    """Limits on a request to the pyfunc (``summarize`` and ``mlflow models serve``)."""

    max_rows: int = Field(64, ge=1)  # documents per request
    max_document_chars: int = Field(20_000, ge=1)
    max_beam_size: int = Field(10, ge=1)
    max_length: int = Field(200, ge=1)  # upper bound on the max_length a request may set
