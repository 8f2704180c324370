"""The one place serving depends on MLflow's private code: a wrap of
``mlflow.pyfunc.scoring_server.invocations``, the function ``mlflow models serve`` calls for every
request to ``/invocations``.

Why a wrap. The pyfunc's request checks need three things MLflow 3 offers no public way to get:
the body as it arrived, before ``invocations`` parses it (MLflow drops params the signature does
not declare and casts ``[null]`` to "None" on the way); a deadline for ``predict`` that exists
only for HTTP requests; and error bodies without the request echoed back and the stack trace
that ``invocations`` adds. ``mlflow models serve`` runs ``uvicorn
mlflow.pyfunc.scoring_server.app:app``, whose FastAPI app ``scoring_server.init`` builds with no
middleware or callback a model can add; a ``PythonModel`` sees only the parsed input; and the one
switch that skips the parsing, a signature from type hints, refuses ``dataframe_records`` and
``dataframe_split`` requests.

What the wrap relies on, read in MLflow :data:`REVIEWED_MLFLOW`:

- ``init``'s handler looks ``invocations`` up as a module global at each request and runs it in a
  worker thread (``asyncio.to_thread``): replacing it while the model loads, before ``init``
  runs, reaches every request, and the guard and ``predict`` share a thread;
- ``invocations(data, content_type, model, input_schema)`` gets the raw body and calls
  ``model.predict`` in that thread;
- it prefixes a failed prediction's message with ``Failed to predict data '<the input>'`` and
  makes any other exception a 400 carrying a stack trace.

:data:`REVIEWED_SOURCES` fingerprints both functions. A change fails
``tests/service/test_scoring_server_hook.py`` with the installed version in the message, and a
server with an unreviewed MLflow logs a warning when the model loads; ``pyproject.toml`` accepts
only :data:`SUPPORTED_MLFLOW`. To move to another MLflow: re-read both functions against the list
above, then update the fingerprints, :data:`REVIEWED_MLFLOW` and the range in pyproject.toml.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, ErrorCode
from mlflow.version import VERSION as MLFLOW_VERSION

SCORING_SERVER = "mlflow.pyfunc.scoring_server"
REVIEWED_MLFLOW = "3.17.2"
SUPPORTED_MLFLOW = ">=3.17.2,<3.18"  # what pyproject.toml declares; the test keeps them equal
# sha256 of inspect.getsource of each function of SCORING_SERVER the guard relies on.
REVIEWED_SOURCES = {
    "invocations": "f17a52d7c623e12791765e62cf86f7e6879d81cb4ad948df816f161ac5eed9ae",
    "init": "11d8954bf3486bc3f8e4ba6e86f4282bfe1673b5ef284932511fd369a3478088",
}
_GUARD_MARK = "summarizer_guard"

_logger = logging.getLogger(__name__)


def source_fingerprint(function: Callable[..., Any]) -> str:
    """sha256 of ``function``'s source, of the original when it is wrapped (guarded)."""
    return hashlib.sha256(inspect.getsource(inspect.unwrap(function)).encode()).hexdigest()


def changed_functions(server: ModuleType) -> list[str]:
    """The functions of ``server`` (the scoring server module) whose source is not the reviewed
    one; empty when the installed MLflow's are those :data:`REVIEWED_SOURCES` records."""
    changed = []
    for name, fingerprint in REVIEWED_SOURCES.items():
        function = getattr(server, name, None)
        try:
            same = function is not None and source_fingerprint(function) == fingerprint
        except (OSError, TypeError):  # no source installed: as unknown as a changed one
            same = False
        if not same:
            changed.append(name)
    return changed


def unreviewed_message(changed: list[str]) -> str:
    """Which of the reviewed functions (``changed``) differ, and under which MLflow."""
    names = ", ".join(f"{SCORING_SERVER}.{name}" for name in changed)
    return (
        f"MLflow {MLFLOW_VERSION}: {names} is not the code the request guard ({__name__}) was "
        f"reviewed against (MLflow {REVIEWED_MLFLOW}); supported: mlflow{SUPPORTED_MLFLOW}"
    )


def clean_error(exc: MlflowException) -> MlflowException:
    """``exc`` with its message only: MLflow prefixes a failed prediction with the whole input
    (``Failed to predict data '...'``) and attaches a stack trace to parse errors, both of which
    a client should not see. The full error goes to the server log."""
    message = exc.message
    if message.startswith(("Failed to predict data", "Failed to enforce schema")):
        message = message.rpartition("Error: ")[2]
    if exc.json_kwargs.get("stack_trace"):
        _logger.warning("request failed: %s\n%s", exc.message, exc.json_kwargs["stack_trace"])
    return MlflowException(message.strip(), error_code=ErrorCode.Value(exc.error_code))


def guard_running_server() -> None:
    """Guard the scoring server of this process, if it runs one: ``mlflow models serve``
    imports it before loading the model. Not imported here, so elsewhere this is a no-op."""
    guard_server(sys.modules.get(SCORING_SERVER))


def guard_server(server: ModuleType | None) -> None:
    """Replace ``server.invocations`` so that each JSON request to a model with ``check_request``
    and ``serving`` (:class:`~summarizer.registry.pyfunc.SummarizerModel`) is checked as it
    arrived, runs ``predict`` inside ``serving()``, and fails with a message and nothing else.
    No-op for ``None`` and when already guarded; other models are passed through untouched."""
    if server is None or getattr(server.invocations, _GUARD_MARK, False):
        return
    if changed := changed_functions(server):
        # Serve anyway: the tests are where an upgrade is stopped, and a warning points there.
        _logger.warning("%s", unreviewed_message(changed))
    invocations: Callable[..., Any] = server.invocations

    def guarded(data: Any, content_type: str | None, model: Any, input_schema: Any) -> Any:
        try:
            python_model = model.unwrap_python_model()
        except Exception:  # not a PythonModel: some other flavor, not ours to guard
            python_model = None
        # Duck-typed: each load runs the pyfunc file afresh, so a later model's class is another.
        if not hasattr(python_model, "serving") or not hasattr(python_model, "check_request"):
            return invocations(data, content_type, model, input_schema)
        try:
            if (content_type or "").split(";")[0].strip() == "application/json":
                python_model.check_request(data)
            with python_model.serving():
                return invocations(data, content_type, model, input_schema)
        except MlflowException as exc:
            raise clean_error(exc) from None
        except Exception:
            _logger.exception("request failed")
            raise MlflowException(
                "internal error while summarizing; the server log has the details",
                error_code=INTERNAL_ERROR,
            ) from None

    guarded.__wrapped__ = invocations  # type: ignore[attr-defined]
    setattr(guarded, _GUARD_MARK, True)
    server.invocations = guarded  # type: ignore[attr-defined]
