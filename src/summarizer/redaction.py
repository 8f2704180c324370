"""Credentials out of every URI that is written down: a file (``models/mlflow_run.json``,
``reports/register.json``, both pushed to the DVC remote), a log line, an error message, a run's
params or tags, a version's tags.

:func:`mask_uri` replaces each credential in a URI by ``***``: the password of ``user:password@``
(raw reserved characters such as ``/``, ``@``, ``#`` included, which :func:`urllib.parse.urlsplit`
reads as the end of the host), a user name that is itself the credential (a token such as
``https://ghp_...@github.com``), and query or fragment parameters named like a secret
(``password``, ``secret_access_key``, ``sig``, ``X-Amz-Signature``...). A URI without
credentials, a local path and ``sqlite:///...`` come back unchanged, and no input makes it
raise: what it cannot read is masked whole. :func:`redact` removes the same secrets from any
text, such as a library's error message that quotes the URI.

Code that connects keeps the real URI; only what is shown or stored goes through here.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

MASK = "***"
# Credentials MLflow's clients and stores, and the AWS SDK, read from the environment: their
# values are masked wherever a message could quote them.
SECRET_VARIABLES = (
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_AUTH_ADMIN_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


def environment_secrets() -> list[str]:
    """The values of :data:`SECRET_VARIABLES` set in this process's environment."""
    import os

    return [os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name)]


# scheme ":" rest; one letter is a Windows drive (C:\data), not a scheme.
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]+):(?P<rest>.*)$", re.DOTALL)
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")  # C:\data, C:/data
# user[:password]@ at the very start of a URI without "//" (scp-like host:path, mailto:).
_USERINFO_FIRST = re.compile(r"^(?P<userinfo>[^/@?#\s]+)@")
# What may follow the last "@" of an authority: a host (name, IPv4, [IPv6]), optional port,
# several of them for SQLAlchemy's multi-host PostgreSQL URIs.
_HOST = re.compile(r"^[^@/?#\s]*$")
# A URI quoted inside a longer text (an error message).
_URI_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]+://[^\s'"<>()]+""")
# Schemes whose lone user name is a token (https://TOKEN@host): git and DVC over HTTP(S).
_HTTP_SCHEMES = frozenset({"http", "https", "webdav", "webdavs", "dav", "davs"})
# Query or fragment keys, lowercased with "-" as "_", that hold a credential.
_SECRET_KEYS = frozenset(
    {
        "auth",
        "code",
        "key",
        "pass",
        "pwd",
        "sas",
        "sig",
        "x_amz_credential",
        "x_amz_security_token",
        "x_amz_signature",
        "x_goog_credential",
        "x_goog_signature",
    }
)
_SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "signature",
    "credential",
    "apikey",
    "api_key",
    "accesskey",
    "access_key",
    "accessid",
    "access_id",
    "private_key",
    "auth",
    "session",
)
# key=value pairs in a value or a string without a scheme (an ODBC or libpq connection string).
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b(?P<key>[a-z_\-]*(?:password|passwd|pwd|secret|token|api_?key|access_?key|"
    r"credential|signature|sig))(?P<eq>\s*=\s*)(?P<value>'[^']*'|\"[^\"]*\"|[^\s;&]*)"
)
_TOKEN_PREFIXES = (
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "hf_",
    "sk-",
    "xox",
    "akia",
    "asia",
)


def mask_uri(uri: str) -> str:
    """``uri`` with every credential in it replaced by ``***``; unchanged if it holds none."""
    try:
        return _mask(uri)[0]
    except Exception:  # never the reason a message is lost, never the reason a secret shows
        return MASK


def redact(text: str, *uris: str, secrets: Iterable[str] = ()) -> str:
    """``text`` (an error message, a log line) with each of ``uris`` masked, every secret they
    hold and every one of ``secrets`` (a password from the environment) removed wherever it
    appears on its own (raw or percent-decoded), and any other URI or ``password=...`` in it
    masked too."""
    try:
        hidden = {form for secret in secrets if secret for form in _forms(secret)}
        for uri in uris:
            if not uri:
                continue
            masked, found = _mask(uri)
            if masked != uri:
                text = text.replace(uri, masked)
            hidden.update(found)
        for secret in sorted(hidden, key=len, reverse=True):
            text = text.replace(secret, MASK)
        text = _URI_IN_TEXT.sub(lambda match: mask_uri(match[0]), text)
        return _SECRET_ASSIGNMENT.sub(lambda match: _assignment(match, set()), text)
    except Exception:
        return MASK


def looks_like_token(name: str) -> bool:
    """Whether a user name is a credential itself: a known token prefix, or long and random
    (``mlflow``, ``git``, ``ec2-user``, ``jane.doe`` are names)."""
    if not name:
        return False
    if name.lower().startswith(_TOKEN_PREFIXES):
        return True
    if len(name) >= 32:
        return True
    if len(name) < 16:
        return False
    has_digit = any(c.isdigit() for c in name)
    has_alpha = any(c.isalpha() for c in name)
    return has_digit and has_alpha and _entropy(name) >= 3.5


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _secret_key(key: str) -> bool:
    name = unquote_plus(key).strip().lower().replace("-", "_")
    if name in _SECRET_KEYS or name.endswith("key"):
        return True
    return any(part in name for part in _SECRET_KEY_PARTS)


def _forms(secret: str) -> set[str]:
    """A secret as it may appear: as written, and percent-decoded."""
    return {form for form in (secret, unquote(secret), unquote_plus(secret)) if form}


def _mask_value(value: str, secrets: set[str]) -> str:
    """A parameter's value: a URI inside it masked, an embedded ``pwd=...`` masked."""
    decoded = unquote_plus(value)
    if "://" in decoded or "@" in decoded:
        masked, found = _mask(decoded)
        if masked != decoded:
            secrets.update(found)
            if "://" in value or "@" in value:  # as written: masked in place
                return _mask(value)[0]
            secrets.update(_forms(value))
            return MASK
    if _SECRET_ASSIGNMENT.search(decoded):
        secrets.update(_forms(value))
        return MASK
    return value


def _mask_parameters(text: str, secrets: set[str]) -> str:
    """``a=1&password=x`` with the values of secret keys masked."""
    pieces = []
    for piece in re.split(r"([&;])", text):
        if piece in ("&", ";") or "=" not in piece:
            pieces.append(piece)
            continue
        key, value = piece.split("=", 1)
        if _secret_key(key):
            if value:
                secrets.update(_forms(value))
                value = MASK
        else:
            value = _mask_value(value, secrets)
        pieces.append(f"{key}={value}")
    return "".join(pieces)


def _mask_tail(tail: str, secrets: set[str]) -> str:
    """Path, query and fragment: the parameters of the last two masked."""
    path, query_mark, after = tail.partition("?")
    if query_mark:
        query, fragment_mark, fragment = after.partition("#")
    else:
        path, fragment_mark, fragment = tail.partition("#")
        query = ""
    out = path
    if query_mark:
        out += "?" + _mask_parameters(query, secrets)
    if fragment_mark:
        out += "#" + (_mask_parameters(fragment, secrets) if "=" in fragment else fragment)
    return out


def _mask_userinfo(userinfo: str, scheme: str, secrets: set[str]) -> str:
    user, colon, password = userinfo.partition(":")
    http = scheme.lower().rsplit("+", 1)[-1] in _HTTP_SCHEMES
    if user and (looks_like_token(unquote(user)) or (http and not colon)):
        secrets.update(_forms(user))
        user = MASK
    if password:
        secrets.update(_forms(password))
        password = MASK
    return user + colon + password


def _split_authority(rest: str) -> tuple[str | None, str, str]:
    """``userinfo@host:port/tail`` (what follows ``//``) as (userinfo or None, host, tail).

    A raw password may hold ``/``, ``?``, ``#`` and ``@``, so the userinfo ends at the *last*
    ``@`` that is followed by a host and preceded by ``user:...`` (a ``/``, ``?`` or ``#`` before
    any ``:`` means that ``@`` is in the path or query: ``s3://bucket/file@v2``). When a path or
    query also holds an ``@``, more is masked than needed, never less."""
    for at in range(len(rest) - 1, -1, -1):
        if rest[at] != "@":
            continue
        userinfo, after = rest[:at], rest[at + 1 :]
        host_end = min((i for i in (after.find(c) for c in "/?#") if i >= 0), default=len(after))
        if not _HOST.match(after[:host_end]):
            continue
        delimiters = [i for i in (userinfo.find(c) for c in "/?#") if i >= 0]
        colon = userinfo.find(":")
        if delimiters and (colon < 0 or colon > min(delimiters)):
            continue
        return userinfo, after[:host_end], after[host_end:]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return None, rest[:end], rest[end:]


def _mask(uri: str) -> tuple[str, set[str]]:
    """The masked URI and the secrets taken out of it."""
    if not isinstance(uri, str):
        raise TypeError(type(uri).__name__)
    secrets: set[str] = set()
    match = _SCHEME.match(uri)
    opaque = None if _DRIVE.match(uri) else _USERINFO_FIRST.match(uri)
    if match is not None and match["rest"].startswith("//"):
        scheme = match["scheme"]
        userinfo, host, tail = _split_authority(match["rest"][2:])
        authority = host
        if userinfo is not None:
            authority = _mask_userinfo(userinfo, scheme, secrets) + "@" + host
        masked = f"{scheme}://{authority}{_mask_tail(tail, secrets)}"
    elif opaque is not None:
        # user:password@host:path (scp-like), or an opaque URI such as mailto:user@host.
        userinfo = _mask_userinfo(opaque["userinfo"], "", secrets)
        masked = f"{userinfo}@{_mask_tail(uri[opaque.end() :], secrets)}"
    elif match is not None:
        # No authority: models:/name@alias, mlflow-artifacts:/path, ...
        masked = f"{match['scheme']}:{_mask_tail(match['rest'], secrets)}"
    else:
        # A path, or a connection string of key=value pairs (libpq, ODBC).
        masked = _SECRET_ASSIGNMENT.sub(lambda m: _assignment(m, secrets), uri)
    return (uri if masked == uri else masked), secrets


def _assignment(match: re.Match[str], secrets: set[str]) -> str:
    value = match["value"]
    if not value or value in ("''", '""'):
        return match[0]
    secrets.update(_forms(value.strip("'\"")))
    return f"{match['key']}{match['eq']}{MASK}"
