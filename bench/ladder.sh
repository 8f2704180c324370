#!/usr/bin/env bash
# The ladder from the classic tutorial's model to the default one (README, "From the tutorial's
# model to this one"): each rung adds one thing to the one before, on the default Gigaword pool
# with the same training budget (params.yaml's `train` section: 6 epochs, same optimiser and
# schedule). The last rung is params.yaml as it is. Queued, then run one at a time so that the
# training times compare.
set -euo pipefail
cd "$(dirname "$0")/.."

no_copy=(-S model.copy=false -S model.coverage=false)
separate=(-S vocab.shared=false -S model.share_src_tgt_embeddings=false -S model.tie_embeddings=false)
half_teacher_forcing=(-S train.teacher_forcing=0.5 -S train.teacher_forcing_min=0.5)

dvc exp run --queue -n ladder-1-fixed-context -S model.attention=none \
  "${no_copy[@]}" "${separate[@]}" "${half_teacher_forcing[@]}"
dvc exp run --queue -n ladder-2-attention "${no_copy[@]}" "${separate[@]}" "${half_teacher_forcing[@]}"
dvc exp run --queue -n ladder-3-teacher-forcing "${no_copy[@]}" "${separate[@]}"
dvc exp run --queue -n ladder-4-shared-vocab "${no_copy[@]}"
dvc exp run --queue -n ladder-5-copy -S model.coverage=false
dvc exp run --queue -n ladder-6-coverage      # params.yaml as it is
dvc queue start -j 1
cat <<'DONE'
Queued and started. When `dvc queue status` shows them all done, the README's columns:
  dvc exp show --drop '.*' --keep 'Experiment|test_rouge(1|2|L)(_low|_high)?$|train_seconds'
and the table with example headlines:
  python bench/ladder_report.py
DONE
