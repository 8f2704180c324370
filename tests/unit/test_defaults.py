"""One owner per default: the params models (``summarizer.config``) hold every default and every
list of choices; ``params.yaml`` holds the same values, and the model code has none of its own.

A value ``params.yaml`` sets differently from its model's default is a failure unless it is in
:data:`ON_PURPOSE` with the reason; a declaration that no longer differs is a failure too, so the
list stays the list of what really differs. The dataset presets in ``configs/datasets`` set every
key of their sections (a key left out would fall back to the built-in default, not to what
``params.yaml`` had), as they do today.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from summarizer.config.params import Params
from summarizer.config.training import ModelParams
from summarizer.model import Seq2SeqConfig
from tests.conftest import REPO_ROOT

PARAMS_FILE = REPO_ROOT / "params.yaml"
PRESETS = sorted((REPO_ROOT / "configs" / "datasets").glob("*.yaml"))

PRESET = (
    "dataset preset: params.yaml holds configs/datasets/gigaword.yaml (a test keeps them equal); "
    "the built-in default is the dataset-neutral value for a dataset without one"
)
FEATURE = (
    "feature switch, off unless asked for: ModelParams() is the plain attention seq2seq every "
    "feature is measured against, and the value Seq2SeqConfig gives a config.json saved before "
    "the feature existed; params.yaml trains the pointer-generator with coverage"
)

# params.yaml's key -> why it differs from the default of its params model, on purpose.
ON_PURPOSE: dict[str, str] = {
    "validate.document_length.max": PRESET + " (Gigaword sentences: 200 words at most)",
    "validate.summary_length.max": PRESET + " (Gigaword headlines)",
    "tokenize.mask_digits": PRESET + " (Gigaword's own preprocessing wrote digits as '#'; "
    "elsewhere references keep their digits, which '#' would never match)",
    "tokenize.max_source_len": PRESET + " (the Gigaword sentence window)",
    "tokenize.max_target_len": PRESET + " (the Gigaword headline window)",
    "vocab.max_size": PRESET + " (sized for the Gigaword pool)",
    "tracking.experiment": PRESET + " (named after the dataset, as scores only compare within one)",
    "register.model_name": PRESET + " (named after the dataset, as scores only compare within one)",
    "evaluate.extra_test_sets.duc2004": PRESET + " (DUC-2004 is a headline test set)",
    "train.lr": "chosen on validation for the default model's six CPU epochs (README, 'How the "
    "defaults were chosen': 0.002, 0.003, 0.004); the built-in stays the value the GPU profile "
    "and the tests' small models train with",
    "model.tie_embeddings": FEATURE,
    # Also only valid with one shared vocabulary (vocab.shared), which ModelParams cannot see.
    "model.share_src_tgt_embeddings": FEATURE,
    "model.copy": FEATURE,
    "model.coverage": FEATURE,
}

# Keys a dataset preset may leave out, and why (every other key of its sections is set).
PRESET_MAY_OMIT: dict[str, str] = {
    "dataset.encoding": "every raw file of the presets is UTF-8, the default",
    "dataset.splits": "which files a split names depends on the format (DatasetSpec checks it)",
    "dataset.columns": "only a csv or tsv file without a header row has them (DatasetSpec checks)",
}
FIELDS_UNUSED_BY = {"parallel_text"}  # dataset.fields names columns: none in parallel text


def read_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def differences(default: Any, value: Any, key: str) -> list[str]:
    """Dotted keys under ``key`` where ``default`` and ``value`` (both plain data) differ,
    including keys one of them lacks."""
    if isinstance(default, dict) and isinstance(value, dict):
        found: list[str] = []
        for name in sorted(set(default) | set(value), key=str):
            child = f"{key}.{name}"
            if name not in default or name not in value:
                found.append(child)
            else:
                found += differences(default[name], value[name], child)
        return found
    return [] if default == value else [key]


def params_yaml_differences() -> dict[str, tuple[Any, Any]]:
    """Every key where ``params.yaml`` differs from the defaults of :class:`Params`' sections
    (``dataset`` has none: every params file names its own), with (default, value)."""
    raw = read_yaml(PARAMS_FILE)
    found: dict[str, tuple[Any, Any]] = {}
    for name, field in Params.model_fields.items():
        key = field.alias or name
        if field.is_required():
            continue
        default = field.get_default(call_default_factory=True).model_dump(mode="json")
        for path in differences(default, raw.get(key, {}), key):
            found[path] = (lookup(default, path, key), lookup(raw.get(key, {}), path, key))
    return found


def lookup(data: Any, path: str, section: str) -> Any:
    for part in path.removeprefix(section).strip(".").split(".") if path != section else []:
        if not isinstance(data, dict) or part not in data:
            return "<not set>"
        data = data[part]
    return data


def test_params_yaml_holds_the_defaults_but_where_declared() -> None:
    found = params_yaml_differences()
    undeclared = {key: found[key] for key in sorted(set(found) - set(ON_PURPOSE))}
    assert not undeclared, (
        "params.yaml differs from the params models' defaults (default, params.yaml): make "
        f"params.yaml's value the default, or declare it in ON_PURPOSE: {undeclared}"
    )
    stale = sorted(set(ON_PURPOSE) - set(found))
    assert not stale, f"declared in ON_PURPOSE but no longer different: {stale}"


def test_every_declared_difference_says_why() -> None:
    assert all(len(reason) > 40 for reason in ON_PURPOSE.values())


def dataclass_defaults(cls: type) -> dict[str, Any]:
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


def test_the_model_config_defaults_are_the_model_sections() -> None:
    """Seq2SeqConfig fills in what an older config.json lacks with the model section's own
    defaults, never with values of its own."""
    ours = dataclass_defaults(Seq2SeqConfig)
    section = ModelParams().model_dump()
    assert set(section) <= set(ours), "every model knob has the section's default"
    assert {name: ours[name] for name in section} == section


def choices(annotation: Any) -> tuple[str, ...] | None:
    """The values a ``Literal`` field (possibly optional) accepts, or None."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    for arg in get_args(annotation):
        found = choices(arg)
        if found is not None:
            return found
    return None


def field_annotation(model: type[BaseModel], path: list[str]) -> Any:
    annotation: Any = model
    for part in path:
        fields_by_key = {f.alias or n: f for n, f in annotation.model_fields.items()}
        annotation = fields_by_key[part].annotation
    return annotation


COMMENTED_CHOICES = re.compile(r"^(?P<indent> *)(?P<key>\w+):[^#]*#\s*(?P<choices>.+\|.+)$")
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>\w+):")


def commented_choices() -> list[tuple[str, list[str]]]:
    """``(dotted key, [choice, ...])`` for every ``key: value  # a | b (note) | c`` line of
    params.yaml: the choices a reader of the file is shown."""
    found = []
    stack: list[tuple[int, str]] = []
    for line in PARAMS_FILE.read_text(encoding="utf-8").splitlines():
        key_line = KEY_LINE.match(line)
        if not key_line:
            continue
        indent = len(key_line["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key_line["key"]))
        listed = COMMENTED_CHOICES.match(line)
        if listed:
            names = [part.split()[0] for part in listed["choices"].split("|")]
            found.append((".".join(key for _, key in stack), names))
    return found


def test_params_yaml_shows_the_choices_its_model_accepts() -> None:
    listed = commented_choices()
    assert "model.attention" in dict(listed)  # the parser reads the file's comments
    for key, names in listed:
        accepted = choices(field_annotation(Params, key.split(".")))
        assert accepted is not None, f"{key}: the comment lists choices, the model has none"
        assert names == list(accepted), f"params.yaml {key}: lists {names}, accepts {accepted}"


def test_the_choices_are_the_model_codes_own_lists() -> None:
    """The kinds the model implements are listed once, in summarizer.model; the params accept
    exactly those."""
    from summarizer.config.evaluation import DecodeParams
    from summarizer.model import ATTENTION_TYPES, LENGTH_PENALTIES, RNN_TYPES

    assert choices(ModelParams.model_fields["attention"].annotation) == ATTENTION_TYPES
    assert choices(ModelParams.model_fields["rnn_type"].annotation) == RNN_TYPES
    assert choices(DecodeParams.model_fields["length_penalty"].annotation) == LENGTH_PENALTIES


def unset_keys(model: type[BaseModel], data: dict[str, Any], prefix: str = "") -> list[str]:
    """Keys of ``model`` (at any depth, through nested sections and named entries such as
    extra test sets) that ``data`` does not set."""
    missing = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}{key}"
        if path in PRESET_MAY_OMIT:
            continue
        if key not in data:
            missing.append(path)
            continue
        annotation, value = field.annotation, data[key]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            missing += unset_keys(annotation, value, f"{path}.")
        elif get_origin(annotation) is dict and isinstance(value, dict):
            entry = get_args(annotation)[1]
            if isinstance(entry, type) and issubclass(entry, BaseModel):
                for entry_name, item in value.items():
                    missing += unset_keys(entry, item, f"{path}.{entry_name}.")
    return missing


@pytest.mark.parametrize("preset", PRESETS, ids=lambda path: path.stem)
def test_dataset_presets_set_every_key_of_their_sections(preset: Path) -> None:
    sections = read_yaml(preset)
    missing = []
    for name, field in Params.model_fields.items():
        key = field.alias or name
        if key not in sections:  # a section the preset leaves to params.yaml (test_presets)
            continue
        annotation = field.annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        missing += unset_keys(annotation, sections[key], f"{key}.")
    if sections["dataset"]["format"] in FIELDS_UNUSED_BY:
        missing = [key for key in missing if not key.startswith("dataset.fields")]
    assert not missing, (
        f"{preset.name} leaves out {missing}: they would fall back to the built-in defaults, "
        "not to params.yaml's values"
    )


def test_presets_name_all_sections_a_dataset_decides() -> None:
    """What test_presets checks by section, here by key: the sections no preset holds are the
    ones that do not depend on the dataset."""
    held = set().union(*(read_yaml(path) for path in PRESETS))
    assert set(read_yaml(PARAMS_FILE)) - held == {"model", "train", "serve"}
