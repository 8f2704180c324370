"""A DVC stage's code deps are exactly the modules it runs: changing code re-runs what it
affects, and nothing else (a comment in the validation suite must not re-train the model).

The walk starts from the stage module behind each ``summarizer <command>``: the modules that
command's body imports, then everything those import from the package, at any depth and inside
functions too (heavy imports are deferred there). The CLI package itself is left out on purpose:
it parses options and calls the stage function, and a help text edit must not re-run training.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import yaml

from summarizer.cli import app
from tests.conftest import REPO_ROOT

PACKAGE = "summarizer"
SOURCE_ROOT = REPO_ROOT / "src"


def module_file(name: str) -> Path | None:
    """The file behind an importable ``summarizer.*`` module name, or None if there is none."""
    base = SOURCE_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(tree: ast.AST, current: str) -> set[str]:
    """``summarizer.*`` modules named by the imports in ``tree`` (absolute or relative)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = current.split(".")[: -node.level]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            found.add(base)
            # `from package import module` imports a module, not only a name.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == PACKAGE and module_file(name)}


def closure(start: set[str]) -> set[Path]:
    """Files of ``start`` and of every package module they import, transitively."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        assert path is not None
        current = name if path.name != "__init__.py" else f"{name}.__init__"
        todo.extend(imported_modules(ast.parse(path.read_text()), current))
        # Importing a submodule runs its parent packages' __init__ first.
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    return {module_file(name) for name in seen if not name.startswith(f"{PACKAGE}.cli")}  # type: ignore[misc]


def command_modules(command: str) -> set[str]:
    callbacks = {
        info.name or info.callback.__name__.replace("_", "-"): info.callback
        for info in app.registered_commands
    }
    callback = inspect.unwrap(callbacks[command])
    tree = ast.parse(inspect.getsource(callback).lstrip())
    return imported_modules(tree, callback.__module__)


def stages() -> dict[str, dict]:
    """Every stage definition; a ``foreach`` stage by its ``do`` template."""
    definitions = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    return {name: spec.get("do", spec) for name, spec in definitions.items()}


def start_modules(stage: str, cmd: str) -> set[str]:
    """The modules a stage command runs: ``summarizer <command>`` or ``python -m <module>``."""
    words = cmd.split()
    if words[:2] == ["python", "-m"]:
        assert words[2].split(".")[0] == PACKAGE, f"stage {stage}: runs {words[2]}, not ours"
        return {words[2]}
    assert words[0] == PACKAGE, f"stage {stage}: expected `summarizer <command>`"
    return command_modules(words[1])


@pytest.mark.parametrize("stage", sorted(stages()))
def test_stage_deps_cover_every_module_it_runs(stage: str) -> None:
    spec = stages()[stage]
    start = start_modules(stage, spec["cmd"])
    assert start, f"stage {stage}: `{spec['cmd']}` imports no stage module"
    deps = [REPO_ROOT / dep for dep in spec.get("deps", []) if "$" not in dep]
    missing = sorted(
        str(path.relative_to(REPO_ROOT))
        for path in closure(start)
        if not any(path == dep or dep in path.parents for dep in deps)
    )
    assert not missing, (
        f"dvc.yaml stage '{stage}' runs these modules but does not list them: {missing}"
    )


@pytest.mark.parametrize("stage", sorted(stages()))
def test_stage_code_deps_exist(stage: str) -> None:
    code_deps = [dep for dep in stages()[stage].get("deps", []) if dep.startswith("src/")]
    gone = [dep for dep in code_deps if not (REPO_ROOT / dep).exists()]
    assert not gone, f"dvc.yaml stage '{stage}' depends on code that no longer exists: {gone}"


def listed_files(dep: str) -> set[Path]:
    """The Python files a code dep of ``dvc.yaml`` names: the file, or every one under the
    directory."""
    path = REPO_ROOT / dep
    return set(path.rglob("*.py")) if path.is_dir() else {path}


@pytest.mark.parametrize("stage", sorted(stages()))
def test_stage_deps_list_no_module_it_does_not_run(stage: str) -> None:
    spec = stages()[stage]
    runs = closure(start_modules(stage, spec["cmd"]))
    extra = sorted(
        str(path.relative_to(REPO_ROOT))
        for dep in spec.get("deps", [])
        if dep.startswith("src/")
        for path in listed_files(dep)
        if path not in runs
    )
    assert not extra, (
        f"dvc.yaml stage '{stage}' lists code it does not run (an edit there would re-run it "
        f"for nothing): {extra}"
    )


# What the model must never depend on: its re-training costs hours on a GPU, and none of these
# can change what it learns.
NOT_TRAINING = (
    "src/summarizer/data/validation.py",
    "src/summarizer/data/validation_report.py",
    "src/summarizer/data/validation_suite.py",
    "src/summarizer/registry",
    "src/summarizer/evaluation",
    "src/summarizer/config/serving.py",
    "src/summarizer/config/registry.py",
    "src/summarizer/config/evaluation.py",
    "src/summarizer/tracking_server.py",
    "src/summarizer/tracking_auth.py",
    "src/summarizer/stages/headline.py",
    "src/summarizer/stages/evaluate.py",
)


def test_train_runs_no_validation_registry_serving_or_report_code() -> None:
    runs = closure(start_modules("train", stages()["train"]["cmd"]))
    reached = sorted(
        str(path.relative_to(REPO_ROOT))
        for path in runs
        if any(
            path == REPO_ROOT / name or REPO_ROOT / name in path.parents for name in NOT_TRAINING
        )
    )
    assert not reached, f"the train stage runs code that cannot change the model: {reached}"


def test_where_runs_are_recorded_is_no_param_of_train() -> None:
    # The store and the experiment name are recorded with each run; a new experiment name must
    # not re-train the model.
    train_params = stages()["train"].get("params", [])
    assert not [p for p in train_params if str(p).split(".")[0] == "tracking"], train_params
