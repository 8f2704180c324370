"""DecodeParams is the one definition of the decoding options: what it derives must agree with
the search functions it drives, and overrides are validated in one way for every caller."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import get_args

import pytest

from summarizer.config.evaluation import DECODE_FILE, DecodeParams, LengthPenalty
from summarizer.errors import ConfigError
from summarizer.model import LENGTH_PENALTIES, beam_search, greedy_search


def keyword_only(function: object) -> set[str]:
    return {
        name
        for name, parameter in inspect.signature(function).parameters.items()  # type: ignore[arg-type]
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def test_search_args_are_exactly_the_search_functions_options() -> None:
    args = DecodeParams().search_args()
    assert set(args) == keyword_only(greedy_search)
    assert set(args) | {"beam_size"} == keyword_only(beam_search)


def test_the_search_functions_have_no_defaults_of_their_own() -> None:
    """Every decoding option is DecodeParams's to default: a search called without one fails
    instead of quietly decoding with another value than the pipeline's."""
    for search in (greedy_search, beam_search):
        parameters = inspect.signature(search).parameters
        defaulted = [
            name
            for name in keyword_only(search)
            if parameters[name].default is not inspect.Parameter.empty
        ]
        assert defaulted == [], search.__name__


def test_length_penalties_match_the_search() -> None:
    assert set(get_args(LengthPenalty)) == set(LENGTH_PENALTIES)


def test_a_model_directory_carries_its_options_as_json(tmp_path: Path) -> None:
    assert DecodeParams.read(tmp_path) is None  # as train exports it: no options of its own
    options = DecodeParams(beam_size=3, alpha=0.9, min_length=0, replace_unk=False)
    options.write(tmp_path)
    assert json.loads((tmp_path / DECODE_FILE).read_text()) == options.model_dump()
    assert DecodeParams.read(tmp_path) == options


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"beam_size": 0}', "beam_size:"),
        ('{"beam_size": "5"}', "beam_size:"),  # strict, as params.yaml is
        ('{"temperature": 0.7}', "temperature: unknown key"),
        ('{"min_length": 30, "max_length": 20}', "must not exceed max_length"),
        ("{", "Invalid JSON"),
    ],
)
def test_bad_options_in_a_model_directory_name_the_file(
    tmp_path: Path, content: str, named: str
) -> None:
    (tmp_path / DECODE_FILE).write_text(content)
    with pytest.raises(ConfigError) as caught:
        DecodeParams.read(tmp_path)
    assert str(tmp_path / DECODE_FILE) in str(caught.value)
    assert named in str(caught.value)


def test_output_options_leave_out_only_speed_settings() -> None:
    assert set(DecodeParams.output_options()) == set(DecodeParams.model_fields) - {"batch_tokens"}


def test_with_overrides_applies_and_validates() -> None:
    base = DecodeParams(beam_size=4)
    assert base.with_overrides(None) is base
    changed = base.with_overrides({"alpha": 1.0, "length_penalty": "avg"})
    assert (changed.beam_size, changed.alpha, changed.length_penalty) == (4, 1.0, "avg")
    assert base.alpha != 1.0  # the original is untouched (frozen)


def test_with_overrides_names_unknown_options_and_bad_values() -> None:
    with pytest.raises(ConfigError, match=r"request: unknown option\(s\) temperature; allowed: "):
        DecodeParams().with_overrides({"temperature": 0.7}, source="request")
    with pytest.raises(ConfigError) as excinfo:
        DecodeParams().with_overrides({"beam_size": 0, "length_penalty": "long"})
    message = str(excinfo.value)
    assert "beam_size:" in message and "length_penalty:" in message


def test_min_length_above_max_length_is_refused_everywhere() -> None:
    with pytest.raises(ValueError, match=r"min_length \(50\) must not exceed max_length \(5\)"):
        DecodeParams(min_length=50, max_length=5)
    with pytest.raises(ConfigError, match=r"min_length \(50\) must not exceed max_length \(20\)"):
        DecodeParams(max_length=20).with_overrides({"min_length": 50})


def test_unknown_option_names_are_cut_in_the_error() -> None:
    """A request's param names reach this message: a huge key must not come back whole."""
    from summarizer.errors import ConfigError

    huge = "x" * 100_000
    with pytest.raises(ConfigError) as caught:
        DecodeParams().with_overrides({huge: 1, **{f"k{i}": 1 for i in range(8)}})
    message = str(caught.value)
    assert len(message) < 600
    assert "and 4 more" in message
