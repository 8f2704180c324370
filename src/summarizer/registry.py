"""Stage ``register`` and the registry commands: keep the best model registered, promote it by
alias with guard rails, roll back, list versions.

The registry is the source of truth: every comparison reads the metric stored as a tag on each
version (``metric.<key>``), never a value remembered by this process or a local file, so two
workspaces sharing one store agree on what "the best" is.

Aliases (MLflow 3 has no stages):

- ``@challenger``: the best version registered so far, moved by the ``register`` stage;
- ``@champion``: what users and ``mlflow models serve`` get, moved only by ``promote`` and
  ``rollback``. Each promotion tags the new champion with the previous one, so a rollback knows
  where to go back to.
"""

from __future__ import annotations

import getpass
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.config import DecodeParams, Params, Paths
from summarizer.errors import SummarizerError
from summarizer.io import read_json, write_json

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models import ModelSignature
    from mlflow.pyfunc import PyFuncModel

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
MODEL_ARTIFACT_NAME = "model"  # the pyfunc's name inside the run
REGISTER_REPORT = Paths.reports / "register.json"
SERVING_CODE = Path(__file__).with_name("serving.py")

# Version tags. Metrics are tags (not MLflow metrics) because tags are what a model version has.
METRIC_TAG = "metric."
SELECTION_TAG = "selection_metric"
PREVIOUS_CHAMPION_TAG = "previous_champion"

# A short news sentence for the input example and the promotion smoke test: any model trained on
# news headlines must turn it into a non-empty summary.
SMOKE_DOCUMENT = (
    "the european union 's finance ministers agreed on tuesday to cut the budget deficit of "
    "member states by half over the next three years , officials said ."
)

# What the serving process imports (``summarizer.inference`` and below), pinned to the versions
# installed here, which are the versions the model was trained and evaluated with.
RUNTIME_PACKAGES = ("mlflow", "torch", "numpy", "pandas", "spacy", "pydantic", "pyyaml", "tqdm")


class RegistryError(SummarizerError):
    """A registered model, alias or version is missing, or the registry refused a change."""


class PromotionRefused(RegistryError):
    """A guard rail (load, smoke prediction, metric) stopped a promotion."""


# ------------------------------------------------------------------------------ the MLflow model
def pip_requirements() -> list[str]:
    """``package==version`` for the serving runtime, as installed in this environment."""
    pins = []
    for package in RUNTIME_PACKAGES:
        version = metadata.version(package)
        # A local label such as torch's "+cpu" names a build on a separate index; pip on another
        # machine could not resolve it, and any build of the same release loads the weights.
        pins.append(f"{package}=={version.split('+')[0]}")
    return pins


def model_signature(decode: DecodeParams) -> ModelSignature:
    """Input ``document`` (string), output one summary string per document, and every decoding
    option as an optional request param whose default is the training run's value."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema

    kinds = {
        bool: DataType.boolean,
        int: DataType.long,
        float: DataType.double,
        str: DataType.string,
    }
    params = [
        ParamSpec(name, kinds[type(value)], value) for name, value in decode.model_dump().items()
    ]
    return ModelSignature(
        inputs=Schema([ColSpec(DataType.string, "document")]),
        outputs=Schema([ColSpec(DataType.string)]),
        params=ParamSchema(params),
    )


def use_store(uri: str) -> None:
    """Point MLflow's module-level API (model logging and loading) at the store."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def log_model(uri: str, run_id: str, model_dir: Path, decode: DecodeParams) -> Any:
    """Log the model directory as a pyfunc from code into an existing run; returns ModelInfo."""
    import mlflow
    import pandas as pd

    import summarizer

    use_store(uri)
    mlflow_client = tracking.client(uri)
    status = _get_run(mlflow_client, uri, run_id).info.status
    mlflow.start_run(run_id=run_id)
    try:
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT_NAME,
            python_model=str(SERVING_CODE),
            artifacts={"model_dir": str(model_dir)},
            model_config={"decode": decode.model_dump()},
            signature=model_signature(decode),
            input_example=pd.DataFrame({"document": [SMOKE_DOCUMENT]}),
            pip_requirements=pip_requirements(),
            # The package travels with the model, so a serving machine needs only the pinned
            # requirements, and serves the code this model was trained and evaluated with.
            code_paths=[str(Path(summarizer.__file__).parent)],
        )
    finally:
        # Resuming the run marked it RUNNING; give it back the status training left it in.
        mlflow.end_run(status=status if status in ("FINISHED", "FAILED", "KILLED") else "FINISHED")
    return info


def load_model(uri: str, model_uri: str) -> PyFuncModel:
    import mlflow

    use_store(uri)
    return mlflow.pyfunc.load_model(model_uri)


def smoke_test(model: PyFuncModel) -> str:
    """One prediction through the full pyfunc path; the summary, or an error saying what failed."""
    import pandas as pd

    try:
        output = model.predict(pd.DataFrame({"document": [SMOKE_DOCUMENT]}))
    except Exception as exc:
        raise RegistryError(f"smoke prediction failed: {_first_line(exc)}") from None
    if (
        not isinstance(output, list)
        or len(output) != 1
        or not isinstance(output[0], str)
        or not output[0].strip()
    ):
        raise RegistryError(f"smoke prediction returned {output!r}; expected one non-empty summary")
    return output[0]


# ------------------------------------------------------------------------------------ helpers
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _error_code(exc: Exception) -> str | None:
    return getattr(exc, "error_code", None)


def _not_found(exc: Exception) -> bool:
    return (
        _error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")
        or "not found" in str(exc).lower()
    )


def _get_run(mlflow_client: Any, uri: str, run_id: str) -> Any:
    try:
        return mlflow_client.get_run(run_id)
    except Exception as exc:
        if _not_found(exc):
            raise RegistryError(
                f"MLflow run {run_id} (from {Paths.train_run}) not found in {uri}; was the model "
                "trained against another tracking store ($MLFLOW_TRACKING_URI)?"
            ) from None
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _metric_tags(test_metrics: Mapping[str, Any]) -> dict[str, str]:
    # Point estimates only: confidence bounds would double the tags for little use in a table.
    return {
        f"{METRIC_TAG}{key}": str(value)
        for key, value in test_metrics.items()
        if isinstance(value, (int, float)) and not key.endswith(("_low", "_high"))
    }


def _stored_metric(version: ModelVersion, metric: str) -> float | None:
    value = version.tags.get(f"{METRIC_TAG}{metric}")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _better(value: float, than: float, greater_is_better: bool) -> bool:
    return value > than if greater_is_better else value < than


def _version_key(version: ModelVersion) -> int:
    return int(version.version)


def registered_model(uri: str, name: str) -> Any:
    """The registered model, or an error that says how to get one."""
    try:
        return tracking.client(uri).get_registered_model(name)
    except Exception as exc:
        if _not_found(exc):
            raise RegistryError(
                f"no registered model '{name}' in {uri}; run the register stage "
                "(`dvc repro`) to register one"
            ) from None
        raise RegistryError(f"registry at {uri}: {_first_line(exc)}") from None


def all_versions(uri: str, name: str) -> list[ModelVersion]:
    """Every version of ``name``, oldest first (search pages through all of them)."""
    mlflow_client = tracking.client(uri)
    versions: list[ModelVersion] = []
    token = None
    while True:
        page = mlflow_client.search_model_versions(
            f"name = '{name}'", max_results=1000, page_token=token
        )
        versions.extend(page)
        token = page.token
        if not token:
            break
    return sorted(versions, key=_version_key)


def get_version(uri: str, name: str, version: str | int) -> ModelVersion:
    model = registered_model(uri, name)
    try:
        return tracking.client(uri).get_model_version(name, str(version))
    except Exception as exc:
        if not _not_found(exc) and _error_code(exc) != "INVALID_PARAMETER_VALUE":
            raise RegistryError(f"registry at {uri}: {_first_line(exc)}") from None
    known = ", ".join(str(v.version) for v in all_versions(uri, model.name)) or "none"
    raise RegistryError(f"model '{name}' has no version {version} (versions: {known})")


def version_by_alias(uri: str, name: str, alias: str) -> ModelVersion | None:
    model = registered_model(uri, name)
    version = model.aliases.get(alias)
    if version is None:
        return None
    return tracking.client(uri).get_model_version(name, str(version))


# ---------------------------------------------------------------------------- stage: register
@dataclass
class RegisterOutcome:
    model_name: str
    run_id: str
    metric: str
    value: float
    greater_is_better: bool
    registered: bool
    reason: str
    model_uri: str
    version: str | None = None
    best_before: dict[str, Any] | None = None  # {"version": ..., "value": ...}
    challenger: str | None = None
    incomparable_versions: list[str] = field(default_factory=list)
    tracking_uri: str = ""
    at: str = field(default_factory=_now)


def best_version(
    versions: list[ModelVersion], metric: str, greater_is_better: bool
) -> tuple[ModelVersion | None, float | None, list[str]]:
    """The version with the best stored metric, its value, and versions that have none."""
    best, best_value, incomparable = None, None, []
    for version in versions:
        value = _stored_metric(version, metric)
        if value is None:
            incomparable.append(str(version.version))
        elif best_value is None or _better(value, best_value, greater_is_better):
            best, best_value = version, value
    return best, best_value, incomparable


def log_and_register(
    *,
    uri: str,
    run_id: str,
    model_name: str,
    model_dir: Path,
    test_metrics: Mapping[str, Any],
    metric: str = "rougeL_f",
    greater_is_better: bool = True,
    decode: DecodeParams | None = None,
    report: Path | None = REGISTER_REPORT,
) -> RegisterOutcome:
    """Log the model into the training run; register it only if it beats every version."""
    if metric not in test_metrics:
        available = ", ".join(k for k in test_metrics if not k.endswith(("_low", "_high")))
        raise RegistryError(
            f"register.metric '{metric}' is not among the test metrics ({available})"
        )
    value = float(test_metrics[metric])
    tracking.ensure_reachable(uri)
    mlflow_client = tracking.client(uri)
    run = _get_run(mlflow_client, uri, run_id)
    decode = decode or DecodeParams()

    info = log_model(uri, run_id, model_dir, decode)
    # A model that cannot load or predict must never reach the registry.
    smoke_test(load_model(uri, info.model_uri))

    try:
        mlflow_client.create_registered_model(
            model_name,
            description=(
                "Abstractive summarizer. @challenger: best registered version (moved by the "
                "register stage); @champion: the version in use (moved by promote / rollback)."
            ),
        )
    except Exception as exc:
        if _error_code(exc) not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    versions = all_versions(uri, model_name)
    best, best_value, incomparable = best_version(versions, metric, greater_is_better)
    outcome = RegisterOutcome(
        model_name=model_name,
        run_id=run_id,
        metric=metric,
        value=value,
        greater_is_better=greater_is_better,
        registered=False,
        reason="",
        model_uri=info.model_uri,
        best_before=None if best is None else {"version": str(best.version), "value": best_value},
        incomparable_versions=incomparable,
        tracking_uri=uri,
    )
    if incomparable:
        log.warning(
            "version(s) %s of '%s' have no stored %s; they are left out of the comparison",
            ", ".join(incomparable),
            model_name,
            metric,
        )

    if best is not None and not _better(value, best_value, greater_is_better):  # type: ignore[arg-type]
        same_run = [str(v.version) for v in versions if v.run_id == run_id]
        outcome.reason = (
            f"{metric} {value:.4f} does not beat version {best.version} ({best_value:.4f})"
            + (f"; this run is already version {', '.join(same_run)}" if same_run else "")
        )
        challenger = registered_model(uri, model_name).aliases.get(CHALLENGER)
        outcome.challenger = None if challenger is None else str(challenger)
    else:
        tags = run.data.tags
        commit = tags.get("git_commit") or tracking.git_tags().get("git_commit", "unknown")
        meta_file = Path(model_dir) / "meta.json"
        meta = read_json(meta_file) if meta_file.is_file() else {}
        data_hash = tags.get("data_hash") or meta.get("data_hash", "unknown")
        previous = (
            f"previous best: version {best.version} ({best_value:.4f})"
            if best is not None
            else "first version"
        )
        description = (
            f"{metric} {value:.4f} on {test_metrics.get('n_examples', '?')} test examples; "
            f"{previous}. Run {run_id}, commit {commit[:12]}, data {data_hash[:12]}."
        )
        version_tags = {
            **_metric_tags(test_metrics),
            SELECTION_TAG: metric,
            "git_commit": commit,
            "git_dirty": tags.get("git_dirty", "unknown"),
            "data_hash": data_hash,
            "dataset": tags.get("dataset") or str(meta.get("dataset", "unknown")),
            "registered_at": _now(),
        }
        created = mlflow_client.create_model_version(
            model_name,
            source=info.model_uri,
            run_id=run_id,
            tags=version_tags,
            description=description,
            model_id=info.model_id,
        )
        mlflow_client.set_registered_model_alias(model_name, CHALLENGER, created.version)
        outcome.registered = True
        outcome.version = outcome.challenger = str(created.version)
        outcome.reason = f"{metric} {value:.4f} beats every earlier version ({previous})"

    decision = (
        f"registered as version {outcome.version}" if outcome.registered else "not registered"
    )
    mlflow_client.set_tag(run_id, "register.decision", decision)
    mlflow_client.set_tag(run_id, "register.reason", outcome.reason)
    mlflow_client.set_tag(run_id, "register.model", model_name)
    if report is not None:
        write_json(report, asdict(outcome))
    return outcome


def run_register(params: Params) -> RegisterOutcome:
    """The DVC stage: read what train and evaluate left behind, then log and register."""
    settings = params.register_  # type: ignore[attr-defined]
    for needed in (Paths.train_run, Paths.metrics):
        if not needed.is_file():
            raise RegistryError(f"{needed}: not found; run the train and evaluate stages first")
    run_info = read_json(Paths.train_run)
    if not run_info.get("finished"):
        raise RegistryError(f"{Paths.train_run}: training did not finish; run the train stage")
    metrics = read_json(Paths.metrics)
    if not isinstance(metrics.get("test"), dict):
        raise RegistryError(f"{Paths.metrics}: no 'test' entry; run the evaluate stage")
    return log_and_register(
        uri=tracking.tracking_uri(params.tracking.uri),
        run_id=run_info["run_id"],
        model_name=settings.model_name,
        model_dir=Paths.model_dir,
        test_metrics=metrics["test"],
        metric=settings.metric,
        greater_is_better=settings.greater_is_better,
        decode=params.evaluate.decode,
    )


# ------------------------------------------------------------------------- promote / rollback
@dataclass
class AliasChange:
    model_name: str
    alias: str
    version: str
    previous: str | None  # the version the alias pointed to before (None: it did not exist)
    changed: bool  # False for a dry run, or when the version already holds the alias
    dry_run: bool
    forced: bool = False
    checks: dict[str, str] = field(default_factory=dict)  # check name -> outcome
    smoke_summary: str | None = None
    notes: list[str] = field(default_factory=list)


def promote(
    uri: str,
    name: str,
    version: str | int | None = None,
    *,
    metric: str | None = None,
    greater_is_better: bool = True,
    force: bool = False,
    dry_run: bool = False,
    reason: str = "",
    user: str | None = None,
) -> AliasChange:
    """Move ``@champion`` to ``version`` (default: ``@challenger``) if it passes the guard rails.

    Guard rails: the model loads through the pyfunc, a smoke prediction gives a non-empty summary,
    and its metric is not worse than the current champion's. ``force`` overrides the metric
    guard only: a model that cannot load or summarize is never worth serving.
    """
    tracking.ensure_reachable(uri)
    if version is None:
        target = version_by_alias(uri, name, CHALLENGER)
        if target is None:
            raise RegistryError(
                f"model '{name}' has no @{CHALLENGER} version; pass --version to choose one"
            )
    else:
        target = get_version(uri, name, version)
    champion = version_by_alias(uri, name, CHAMPION)
    change = AliasChange(
        model_name=name,
        alias=CHAMPION,
        version=str(target.version),
        previous=None if champion is None else str(champion.version),
        changed=False,
        dry_run=dry_run,
        forced=force,
    )
    if champion is not None and str(champion.version) == str(target.version):
        change.notes.append(f"version {target.version} is already @{CHAMPION}")
        return change

    try:
        model = load_model(uri, f"models:/{name}/{target.version}")
    except Exception as exc:
        raise PromotionRefused(
            f"version {target.version} of '{name}' does not load: {_first_line(exc)}"
        ) from None
    change.checks["load"] = "ok"
    try:
        change.smoke_summary = smoke_test(model)
    except RegistryError as exc:
        raise PromotionRefused(f"version {target.version} of '{name}': {exc}") from None
    change.checks["smoke"] = "ok"

    metric = metric or target.tags.get(SELECTION_TAG) or "rougeL_f"
    value = _stored_metric(target, metric)
    if champion is None:
        change.checks["metric"] = "ok (no current champion)"
    else:
        champion_value = _stored_metric(champion, metric)
        if value is None or champion_value is None:
            outcome = (
                f"cannot compare: {metric} missing on version "
                f"{target.version if value is None else champion.version}"
            )
            worse = value is None  # a champion without the metric does not block
        else:
            worse = _better(champion_value, value, greater_is_better)
            outcome = (
                f"{metric} {value:.4f} vs champion version {champion.version} {champion_value:.4f}"
            )
        if worse and not force:
            raise PromotionRefused(
                f"version {target.version} of '{name}' is worse than the champion ({outcome}); "
                "use --force to promote it anyway"
            )
        change.checks["metric"] = ("overridden by --force: " if worse else "ok: ") + outcome

    if dry_run:
        return change
    tags = {
        "promoted_at": _now(),
        "promoted_by": user or getpass.getuser(),
        "promotion_reason": reason or "-",
        "promotion_forced": str(force).lower(),
        "promotion_checks": json.dumps(change.checks),
        # Written before the alias moves, so the champion always knows where rollback goes.
        PREVIOUS_CHAMPION_TAG: change.previous or "",
    }
    mlflow_client = tracking.client(uri)
    for key, tag_value in tags.items():
        mlflow_client.set_model_version_tag(name, target.version, key, tag_value)
    mlflow_client.set_registered_model_alias(name, CHAMPION, target.version)
    change.changed = True
    return change


def rollback(
    uri: str, name: str, *, reason: str = "", dry_run: bool = False, user: str | None = None
) -> AliasChange:
    """Move ``@champion`` back to the version it replaced (recorded at promotion)."""
    tracking.ensure_reachable(uri)
    champion = version_by_alias(uri, name, CHAMPION)
    if champion is None:
        raise RegistryError(f"model '{name}' has no @{CHAMPION}; nothing to roll back")
    previous = champion.tags.get(PREVIOUS_CHAMPION_TAG)
    if not previous:
        raise RegistryError(
            f"@{CHAMPION} (version {champion.version} of '{name}') replaced no earlier champion; "
            "nothing to roll back to (use promote --version to choose one)"
        )
    try:
        target = get_version(uri, name, previous)
    except RegistryError as exc:
        raise RegistryError(f"cannot roll back to the previous champion: {exc}") from None
    change = AliasChange(
        model_name=name,
        alias=CHAMPION,
        version=str(target.version),
        previous=str(champion.version),
        changed=False,
        dry_run=dry_run,
    )
    if dry_run:
        return change
    mlflow_client = tracking.client(uri)
    for key, value in {
        "rolled_back_at": _now(),
        "rolled_back_by": user or getpass.getuser(),
        "rollback_reason": reason or "-",
    }.items():
        mlflow_client.set_model_version_tag(name, champion.version, key, value)
    mlflow_client.set_registered_model_alias(name, CHAMPION, target.version)
    change.changed = True
    return change


# ------------------------------------------------------------------------------------- listing
@dataclass
class VersionRow:
    version: str
    aliases: list[str]
    metrics: dict[str, float]
    selection_metric: str | None
    git_commit: str
    data_hash: str
    created: datetime
    run_id: str | None
    description: str
    promoted_by: str | None = None


def list_versions(uri: str, name: str) -> list[VersionRow]:
    """Every version of ``name`` with its stored metrics and aliases, newest first."""
    tracking.ensure_reachable(uri)
    model = registered_model(uri, name)
    # Search results may omit aliases, so they come from the registered model itself.
    aliases: dict[str, list[str]] = {}
    for alias, version in model.aliases.items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for version in reversed(all_versions(uri, name)):
        metrics = {}
        for key, value in version.tags.items():
            if key.startswith(METRIC_TAG):
                try:
                    metrics[key.removeprefix(METRIC_TAG)] = float(value)
                except ValueError:
                    continue
        rows.append(
            VersionRow(
                version=str(version.version),
                aliases=sorted(aliases.get(str(version.version), [])),
                metrics=metrics,
                selection_metric=version.tags.get(SELECTION_TAG),
                git_commit=version.tags.get("git_commit", "unknown"),
                data_hash=version.tags.get("data_hash", "unknown"),
                created=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC),
                run_id=version.run_id,
                description=version.description or "",
                promoted_by=version.tags.get("promoted_by"),
            )
        )
    return rows


# ----------------------------------------------------------------------------- model references
_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))?$")


def check_model_uri(uri: str, model_uri: str) -> None:
    """Turn a missing model, alias or version behind ``models:/...`` into a clear error before
    MLflow's own (long and generic) one."""
    match = _MODELS_URI.match(model_uri)
    if match is None:
        return  # runs:/, models:/<model id>, remote stores: let MLflow resolve them
    name, alias, version = match["name"], match["alias"], match["version"]
    tracking.ensure_reachable(uri)
    if name.startswith("m-") and alias is None and version is None:
        return  # a logged model id (MLflow 3), not a registered name
    if alias is not None:
        if version_by_alias(uri, name, alias) is None:
            known = registered_model(uri, name).aliases
            listed = ", ".join(f"@{a} (v{v})" for a, v in sorted(known.items())) or "none"
            hint = " (promote a version first)" if alias == CHAMPION else ""
            raise RegistryError(f"model '{name}' has no alias @{alias}{hint}; aliases: {listed}")
    elif version is not None:
        get_version(uri, name, version)
    else:
        registered_model(uri, name)
