"""Errors a user can act on. The CLI prints their message without a traceback and exits non-zero."""


class SummarizerError(Exception):
    """Base class: the message names the file, row or field and what was expected."""


class ConfigError(SummarizerError):
    """``params.yaml`` is missing, malformed, or has a wrong type or unknown key."""


class DataError(SummarizerError):
    """Raw or intermediate data is missing or malformed."""


class ValidationFailed(SummarizerError):
    """The data validation suite found rows that break an expectation."""
