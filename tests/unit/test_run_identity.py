"""What an MLflow run is called and which params it records: what the runs table and the
compare view show first."""

from __future__ import annotations

from summarizer.config.params import UNTRACKED_PARAMS, load_params
from summarizer.stages.train_identity import fingerprint, resolved_precision, run_name
from tests.conftest import REPO_ROOT


def params_with(**model: object):
    params = load_params(REPO_ROOT / "params.yaml")
    return params.model_copy(update={"model": params.model.model_copy(update=model)})


def test_run_name_says_dataset_size_copy_coverage_and_configuration() -> None:
    params = load_params(REPO_ROOT / "params.yaml")
    configuration = fingerprint(params, "d" * 64)
    name = run_name(params, configuration)
    assert name == f"gigaword-e128h256-copy-cov-{configuration[:7]}"
    plain = params_with(copy=False, coverage=False, rnn_type="gru", enc_layers=2, dec_layers=1)
    assert run_name(plain, configuration).startswith("gigaword-gru-e128h256l2x1-nocopy-")


def test_equal_training_configurations_get_equal_names_and_others_differ() -> None:
    params = load_params(REPO_ROOT / "params.yaml")
    wider = params_with(hidden_dim=512)
    same = run_name(params, fingerprint(params, "d" * 64))
    assert same == run_name(params, fingerprint(params, "d" * 64))
    assert same != run_name(params, fingerprint(params, "e" * 64))  # other data
    assert "h512" in run_name(wider, fingerprint(wider, "d" * 64))


def test_tracked_params_are_the_knobs_grouped_by_section() -> None:
    params = load_params(REPO_ROOT / "params.yaml")
    tracked = params.to_tracked_dict()
    every = params.to_flat_dict()
    assert set(tracked) < set(every)
    left_out = set(every) - set(tracked)
    assert all(
        key.split(".")[0]
        in {"dataset", "evaluate", "register", "serve", "tracking", "tokenize", "train"}
        for key in left_out
    )
    for prefix in UNTRACKED_PARAMS:
        assert not any(key == prefix or key.startswith(prefix + ".") for key in tracked)
    # The knobs an experiment changes stay, under section-prefixed names that sort together.
    assert tracked["model.hidden_dim"] == 256 and tracked["train.lr"] == params.train.lr
    assert tracked["evaluate.decode.beam_size"] == 5 and tracked["dataset.name"] == "gigaword"


def test_the_fingerprint_holds_the_precision_that_trains() -> None:
    params = load_params(REPO_ROOT / "params.yaml")

    def precision(value: str):
        train = params.train.model_copy(update={"precision": value})
        return params.model_copy(update={"train": train})

    fp32, bf16, auto = (fingerprint(precision(p), "d" * 64) for p in ("fp32", "bf16", "auto"))
    assert fp32 != bf16  # a checkpoint never resumes in another precision
    # auto is whichever this machine trains in (bf16 on a CPU with AVX-512 BF16): same identity
    assert auto == {"fp32": fp32, "bf16": bf16}[resolved_precision(params.train)]
