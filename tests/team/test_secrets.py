"""Credentials in the tracking store's URI and in the DVC remote's URL are never written down.

The tiny ``dvc repro``, down to register, straight against PostgreSQL (no tracking server: the
clients hold the database password) with a default DVC remote whose URL carries a token. Then
neither secret may appear in any file of the workspace but ``.dvc/config.local``, where the user
put the token (the DVC cache, reports, MLflow's artifacts wherever they went, DVC's site cache;
git's objects are compressed, but nothing is committed after the remote is added), in what the
repro and ``summarizer models`` printed, or in any row of the database: runs' params and tags,
versions' tags, everything a teammate reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import write_gigaword_slice
from tests.pipeline.workspace import Workspace
from tests.team.conftest import MODEL, PARAMS, Postgres

pytestmark = pytest.mark.slow

ROLE = "direct"
DATABASE = "mlflow_direct"
# Reserved characters a raw password may hold: '/' ends urlsplit's netloc early, '@' and '#'
# split it elsewhere. Every piece starts with the marker searched for, so any fragment shows.
MARKER = "sEcr3tPart"
PASSWORD = f"{MARKER}0ne/{MARKER}2@{MARKER}3#x"
TOKEN_MARKER = "t0kenT0ken"
TOKEN = f"ghp_{TOKEN_MARKER}4567abcdEFGH"
REMOTE = f"https://{TOKEN}@example.invalid/dvc"
# A login in the environment (unused by a database store): nothing may copy the environment out.
LOGIN_MARKER = "envL0ginPw"
MARKERS = (MARKER, TOKEN_MARKER, LOGIN_MARKER)


def needles() -> list[bytes]:
    """Every form a leaked secret could take: as typed, percent-encoded, as bytea hex."""
    found = []
    for marker in MARKERS:
        found += [marker.encode(), quote(marker).encode(), marker.encode().hex().encode()]
    return list(dict.fromkeys(found))


def leaks(data: bytes) -> list[str]:
    """The secrets' forms in ``data``, each with a little context (the secret itself masked)."""
    shown = []
    for needle in needles():
        at = data.find(needle)
        if at >= 0:
            context = data[max(0, at - 60) : at + 60].replace(needle, b"<SECRET>")
            shown.append(repr(context.decode("utf-8", "replace")))
    return shown


def files_under(root: Path, skip: set[Path]) -> list[Path]:
    """Every regular file under ``root``, symlinks not followed."""
    found = []
    for directory, _, names in os.walk(root, followlinks=False):
        for name in names:
            path = Path(directory) / name
            if path not in skip and path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def create_database(postgres: Postgres) -> str:
    """A role whose password holds reserved characters, its own database; the store's URI."""
    import psycopg
    from psycopg import sql

    admin = postgres.uri().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(PASSWORD)
            )
        )
        connection.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DATABASE), sql.Identifier(ROLE)
            )
        )
    # Percent-encoded as SQLAlchemy (and MLflow) expect it; the raw form is what a user means.
    return (
        f"postgresql+psycopg://{ROLE}:{quote(PASSWORD, safe='')}@127.0.0.1:{postgres.port}"
        f"/{DATABASE}"
    )


def database_rows(postgres: Postgres) -> dict[str, list[str]]:
    """Every row of every table of the store's database, as JSON text, by table."""
    import psycopg
    from psycopg import sql

    superuser = postgres.uri().rsplit("/", 1)[0] + f"/{DATABASE}"
    rows: dict[str, list[str]] = {}
    with psycopg.connect(superuser) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            query = sql.SQL("SELECT row_to_json(t)::text FROM {}.{} AS t").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            rows[f"{schema}.{table}"] = [row[0] for row in connection.execute(query)]
    return rows


def test_no_secret_is_written_anywhere(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory, datasets_dir: Path
) -> None:
    store = create_database(postgres)
    root = tmp_path_factory.mktemp("secrets")
    raw = write_gigaword_slice(root / "raw" / "gigaword", train_pairs=400, test_pairs=20)
    workspace = Workspace.create(root / "repo", params={**PARAMS, "dataset": {"path": str(raw)}})
    # Where a user keeps a remote's credentials: the untracked .dvc/config.local. `dvc repro`
    # never pushes, and the host does not resolve (.invalid), so nothing is sent there.
    added = workspace.dvc("remote", "add", "--local", "-d", "storage", REMOTE)
    assert added.returncode == 0, added.stderr
    config_local = workspace.root / ".dvc" / "config.local"
    assert TOKEN in config_local.read_text()

    env = {
        "MLFLOW_TRACKING_URI": store,
        "MLFLOW_REGISTRY_URI": store,
        "MLFLOW_TRACKING_PASSWORD": f"{LOGIN_MARKER}-42",
    }
    repro = workspace.dvc("repro", env=env, timeout=1200)
    output = repro.stdout + repro.stderr
    shown_output = output
    for marker in MARKERS:
        shown_output = shown_output.replace(marker, "<SECRET>")
    assert repro.returncode == 0, shown_output[-3000:]
    assert "Running stage 'register'" in repro.stdout
    # And the registry's listing, which reads every version's tags.
    listing = workspace.run("summarizer", "models", env=env)
    assert listing.returncode == 0, listing.stderr
    output += listing.stdout + listing.stderr

    found: dict[str, list[str]] = {}
    if leaks(output.encode()):
        found["dvc repro and summarizer models output"] = leaks(output.encode())

    # The artifacts of a store without a server go where the experiment says (./mlruns of the
    # stage's working directory, the workspace, unless set): scanned wherever that is.
    rows = database_rows(postgres)
    locations = [json.loads(row)["artifact_location"] for row in rows["public.experiments"]]
    artifacts = [Path(location.removeprefix("file://")) for location in locations]
    assert any(path.is_dir() and any(path.rglob("MLmodel")) for path in artifacts), locations
    # MLflow's default for a database store used directly: ./mlruns of the stage's working
    # directory (tracking.py sets a location for SQLite only). Scanned wherever it is all the same.
    assert all(workspace.root / "mlruns" in (p, *p.parents) for p in artifacts), locations
    scanned = [workspace.root]
    scanned += [p for p in artifacts if workspace.root not in (p, *p.parents)]
    from dvc.repo import Repo

    with Repo(str(workspace.root)) as repo:
        site_cache = Path(repo.site_cache_dir)  # DVC's index and state, outside the workspace
    if site_cache.is_dir():
        scanned.append(site_cache)

    files = [path for base in scanned for path in files_under(base, skip={config_local})]
    assert any(".dvc/cache" in str(path) for path in files), "nothing in the DVC cache"
    for path in files:
        shown = leaks(path.read_bytes())
        if shown:
            found[str(path)] = shown

    for table, texts in rows.items():
        shown = [context for text in texts for context in leaks(text.encode())]
        if shown:
            found[f"table {table}"] = shown

    assert not found, "secrets written down:\n" + "\n".join(
        f"  {where}: {', '.join(shown)}" for where, shown in found.items()
    )

    masked_store = f"postgresql+psycopg://{ROLE}:***@127.0.0.1:{postgres.port}/{DATABASE}"
    run_record = json.loads((workspace.root / "models" / "mlflow_run.json").read_text())
    assert run_record["tracking_uri"] == masked_store
    report = json.loads((workspace.root / "reports" / "register.json").read_text())
    assert report["registered"] is True, report["reason"]
    assert report["tracking_uri"] == masked_store

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store, registry_uri=store)
    version = client.get_model_version(MODEL, report["version"])
    assert version.tags["dvc_remote"] == "https://***@example.invalid/dvc"
