"""Credentials never leave a URI that is shown or stored: :mod:`summarizer.redaction`, and the
places that write URIs down (the DVC remote tag of a version, the tracking server's messages,
the CLI's errors)."""

from __future__ import annotations

import random
from pathlib import Path
from urllib.parse import quote

import pytest

from summarizer.redaction import MASK, looks_like_token, mask_uri, redact

# (uri, masked, secrets that must not be in the masked form)
CASES = [
    # PostgreSQL through SQLAlchemy, raw reserved characters in the password.
    (
        "postgresql+psycopg://mlflow:s3cr/et@db:5432/mlflow",
        "postgresql+psycopg://mlflow:***@db:5432/mlflow",
        ["s3cr", "et@db"],
    ),
    (
        "postgresql+psycopg://mlflow:p@ss#w/rd@db:5432/mlflow",
        "postgresql+psycopg://mlflow:***@db:5432/mlflow",
        ["p@ss", "ss#w", "rd@"],
    ),
    (
        "postgresql://mlflow:we?ird:pw@127.0.0.1:5433/mlflow",
        "postgresql://mlflow:***@127.0.0.1:5433/mlflow",
        ["we?ird", "ird:pw"],
    ),
    (
        "postgresql+psycopg://mlflow:s%40cr%2Fet@db/mlflow",
        "postgresql+psycopg://mlflow:***@db/mlflow",
        ["s%40cr%2Fet", "s@cr/et", "s%40cr"],
    ),
    ("postgresql://u:p4ss@[::1]:5432/db", "postgresql://u:***@[::1]:5432/db", ["p4ss"]),
    (
        "postgresql://u:p4ss@h1:5432,h2:5432/db?sslmode=require",
        "postgresql://u:***@h1:5432,h2:5432/db?sslmode=require",
        ["p4ss"],
    ),
    ("postgresql://mlflow@db/mlflow", "postgresql://mlflow@db/mlflow", []),
    (
        "postgresql://db/mlflow?user=mlflow&password=pw123",
        "postgresql://db/mlflow?user=mlflow&password=***",
        ["pw123"],
    ),
    ("mysql+pymysql://root:pw@localhost/mlflow", "mysql+pymysql://root:***@localhost/mlflow", []),
    (
        "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC%7D%3BPWD%3Dodbcpw%3B",
        "mssql+pyodbc:///?odbc_connect=***",
        ["odbcpw"],
    ),
    # HTTP(S): a lone user name is the token; user:token keeps the user.
    ("https://ghp_abc123@host/dvc", "https://***@host/dvc", ["ghp_abc123"]),
    ("https://TOKEN123@example.invalid/dvc", "https://***@example.invalid/dvc", ["TOKEN123"]),
    (
        "https://x-access-token:ghs_tok9@github.com/o/r",
        "https://x-access-token:***@github.com/o/r",
        ["ghs_tok9"],
    ),
    ("https://user:tok123@host:8443/dvc", "https://user:***@host:8443/dvc", ["tok123"]),
    (
        "git+https://ghp_abc123@github.com/o/r.git",
        "git+https://***@github.com/o/r.git",
        ["ghp_abc123"],
    ),
    ("webdavs://someuser@host/dav", "webdavs://***@host/dav", ["someuser"]),
    # Object stores: keys and signatures in the query.
    (
        "s3://bucket/path?access_key_id=AKIAEXAMPLE&secret_access_key=abcSECRET",
        "s3://bucket/path?access_key_id=***&secret_access_key=***",
        ["AKIAEXAMPLE", "abcSECRET"],
    ),
    (
        "https://acct.blob.core.windows.net/c?sv=2020-08-04&sp=r&sig=abc%2Fdef%3D",
        "https://acct.blob.core.windows.net/c?sv=2020-08-04&sp=r&sig=***",
        ["abc%2Fdef", "abc/def"],
    ),
    (
        "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAX%2F2024&X-Amz-Signature=f00d&X-Amz-Date=1",
        "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Date=1",
        ["AKIAX", "f00d"],
    ),
    (
        "https://storage.googleapis.com/b/o?GoogleAccessId=svc%40p.iam&Signature=sIgN",
        "https://storage.googleapis.com/b/o?GoogleAccessId=***&Signature=***",
        ["svc%40p", "sIgN"],
    ),
    (
        "https://host/cb#access_token=tok55&state=1",
        "https://host/cb#access_token=***&state=1",
        ["tok55"],
    ),
    (
        "https://host/x?next=https://u:inner9@inner/y",
        "https://host/x?next=https://u:***@inner/y",
        ["inner9"],
    ),
    # SSH: a password goes, a plain user name such as git stays.
    ("ssh://user:pw9z@host:22/path", "ssh://user:***@host:22/path", ["pw9z"]),
    ("ssh://git@host/path", "ssh://git@host/path", []),
    ("ghp_abcdef0123456789@github.com:o/r.git", "***@github.com:o/r.git", ["ghp_abcdef"]),
    ("git@github.com:o/r.git", "git@github.com:o/r.git", []),
    # A libpq connection string.
    ("host=db user=x password='a b' dbname=y", "host=db user=x password=*** dbname=y", ["a b"]),
    # Nothing to mask: unchanged, byte for byte.
    ("sqlite:///tmp/mlflow.db", "sqlite:///tmp/mlflow.db", []),
    ("sqlite:////abs/path/mlflow.db?timeout=30", "sqlite:////abs/path/mlflow.db?timeout=30", []),
    ("/tmp/dvc-remote", "/tmp/dvc-remote", []),
    ("/data/snapshots@v2/file", "/data/snapshots@v2/file", []),
    ("relative/dir", "relative/dir", []),
    ("C:\\data\\x@y", "C:\\data\\x@y", []),
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000", []),
    ("https://mlflow.example.lan:5000/", "https://mlflow.example.lan:5000/", []),
    ("s3://bucket/file@v2", "s3://bucket/file@v2", []),
    ("https://host/path?email=a@b.com&q=1", "https://host/path?email=a@b.com&q=1", []),
    ("models:/summarizer-gigaword@champion", "models:/summarizer-gigaword@champion", []),
    ("mlflow-artifacts:/1/abc/artifacts", "mlflow-artifacts:/1/abc/artifacts", []),
    ("file:///srv/mlflow/artifacts", "file:///srv/mlflow/artifacts", []),
    ("", "", []),
]


@pytest.mark.parametrize(("uri", "expected", "secrets"), CASES, ids=[c[0][:60] for c in CASES])
def test_mask_uri(uri: str, expected: str, secrets: list[str]) -> None:
    masked = mask_uri(uri)
    assert masked == expected
    for secret in secrets:
        assert secret not in masked
    assert mask_uri(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # What registry/lineage.py:without_password did, kept.
        ("https://user:pass@host/dvc", "https://user:***@host/dvc"),
        ("https://user:pass@host:8443/dvc", "https://user:***@host:8443/dvc"),
        ("ssh://user:pass@host/dvc", "ssh://user:***@host/dvc"),
        ("ssh://user@host/dvc", "ssh://user@host/dvc"),
        ("s3://bucket/dvc", "s3://bucket/dvc"),
        ("/mnt/team/summarizer-dvc", "/mnt/team/summarizer-dvc"),
    ],
)
def test_the_former_without_password_cases(url: str, expected: str) -> None:
    assert mask_uri(url) == expected


SCHEMES = ["postgresql+psycopg", "mysql+pymysql", "https", "ssh", "mssql+pyodbc"]
RESERVED = "/@#?:%&=;+ $!'\"[]"


def test_no_password_shape_leaks_a_piece() -> None:
    # Random passwords: distinctive pieces joined by reserved characters, raw or percent-encoded.
    rng = random.Random(21)
    for _ in range(2000):
        pieces = [
            "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(6))
            for _ in range(rng.randint(1, 4))
        ]
        password = "".join(p + rng.choice(RESERVED) for p in pieces)[: rng.choice([-1, None])]
        if rng.random() < 0.3:
            password = quote(password, safe="")
        scheme = rng.choice(SCHEMES)
        port = rng.choice(["", ":5432"])
        uri = f"{scheme}://mlflow:{password}@db.internal{port}/mlflow"
        masked = mask_uri(uri)
        leaked = [p for p in pieces if p in masked]
        assert not leaked, (uri, masked)
        assert masked == f"{scheme}://mlflow:***@db.internal{port}/mlflow"


def test_never_raises_and_masks_what_it_cannot_read() -> None:
    rng = random.Random(3)
    alphabet = "ab:/@?#=&%[]\\ \n\x00é"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert isinstance(mask_uri(text), str)
        assert isinstance(mask_uri("https://" + text), str)
    assert mask_uri(None) == MASK  # type: ignore[arg-type]
    assert mask_uri(b"https://u:p@h") == MASK  # type: ignore[arg-type]


def test_an_at_sign_in_the_path_masks_more_never_less() -> None:
    # Ambiguous: the password may end at either "@". The safe reading hides the most.
    masked = mask_uri("https://user:pw1@host/path@v2")
    assert "pw1" not in masked and masked.startswith("https://user:***@")


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("mlflow", False),
        ("git", False),
        ("ec2-user", False),
        ("jane.doe", False),
        ("x-access-token", False),
        ("ghp_abc", True),
        ("glpat-abc", True),
        ("AKIAIOSFODNN7EXAMPLE", True),
        ("q8Zk2LmP0xR7vT3n", True),
        ("a" * 40, True),
    ],
)
def test_looks_like_token(name: str, token: bool) -> None:
    assert looks_like_token(name) is token


def test_redact_removes_the_secrets_of_a_uri_from_any_text() -> None:
    uri = "postgresql+psycopg://mlflow:s3cr%2Fet@db/mlflow"
    message = (
        f"could not parse {uri!r}: bad password 's3cr/et' (raw s3cr%2Fet); "
        "also https://ghp_tok123@host/x and token=abc9"
    )
    redacted = redact(message, uri)
    for secret in ("s3cr", "ghp_tok123", "abc9"):
        assert secret not in redacted
    assert "postgresql+psycopg://mlflow:***@db/mlflow" in redacted
    assert redact("nothing secret here: http://127.0.0.1:5000", uri) == (
        "nothing secret here: http://127.0.0.1:5000"
    )
    assert "hunter22" not in redact("wrong login hunter22", secrets=["hunter22"])


def test_cli_errors_hide_the_credentials_of_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from summarizer.cli.app import shown

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql://u:envpw77@db/mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "loginpw88")
    message = shown("store postgresql://u:envpw77@db/mlflow refused: envpw77 / loginpw88")
    assert "envpw77" not in message and "loginpw88" not in message
    assert "postgresql://u:***@db/mlflow" in message


def test_tracking_server_masks_the_backend_uri() -> None:
    from summarizer.tracking_server import backend_uri, masked

    url = backend_uri("postgresql://mlflow:s3cr%2Fet@127.0.0.1:5432/mlflow?sslpassword=kp9")
    shown = masked(url)
    assert shown == "postgresql+psycopg://mlflow:***@127.0.0.1:5432/mlflow?sslpassword=***"


@pytest.mark.parametrize(
    ("url", "tag"),
    [
        ("https://TOKEN123@example.invalid/dvc", "https://***@example.invalid/dvc"),
        ("https://user:pa/ss@example.invalid/dvc", "https://user:***@example.invalid/dvc"),
        ("s3://bucket/dvc?secret_access_key=k3y", "s3://bucket/dvc?secret_access_key=***"),
    ],
)
def test_the_version_tag_of_the_dvc_remote_holds_no_credential(
    url: str, tag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from summarizer.registry.lineage import remote_tags

    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("[core]\n    no_scm = true\n")
    # Written as `dvc remote add --local -d` would, without DVC's check of the URL's plugin.
    (tmp_path / ".dvc" / "config.local").write_text(
        f"[core]\n    remote = storage\n['remote \"storage\"']\n    url = {url}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert remote_tags() == {"dvc_remote": tag}
