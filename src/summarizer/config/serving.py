"""The ``serve`` section: the most work one request to the served model may ask for.

The limits are stored with the logged model (its pyfunc model config), so ``mlflow models serve``
enforces them without reading ``params.yaml``. A request that asks for more is refused with a 400
before any decoding starts, and decoding that runs out of time stops with a 504, so no request
outlives the server's timeout and a client cannot tie up a worker with one huge beam. They apply
to HTTP requests only: ``summarize -m models:/...`` calls the same pyfunc without them.
"""

from __future__ import annotations

from pydantic import Field

from summarizer.config.base import Section


class ServeParams(Section):
    """Limits on a request to the served pyfunc (``mlflow models serve``)."""

    max_rows: int = Field(64, ge=1)  # documents per request
    max_document_chars: int = Field(20_000, ge=1)
    max_beam_size: int = Field(10, ge=1)
    max_length: int = Field(200, ge=1)  # upper bound on the max_length a request may set
    # Decoding time per request; the pyfunc also keeps under 80% of the scoring server's timeout
    # (MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT, 60 s by default).
    max_seconds: float = Field(45.0, gt=0)
