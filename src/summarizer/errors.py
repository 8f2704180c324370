"""Errors a user can act on. The CLI prints their message without a traceback and exits non-zero."""


class SummarizerError(Exception):
    """Base class: the message names the file, row or field and what was expected."""


class ConfigError(SummarizerError):
    """``params.yaml`` is missing, malformed, or has a wrong type or unknown key."""


class DataError(SummarizerError):
    """Raw or intermediate data is missing or malformed."""


class ValidationFailed(SummarizerError):
    """The data validation suite found rows that break an expectation."""


def first_line(exc: BaseException) -> str:
    """An error's first line (library messages can run to pages), or its type if it is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
