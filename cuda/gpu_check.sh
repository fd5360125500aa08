#!/usr/bin/env bash
# `make gpu-check`: the first command to run on a GPU node. Builds with CUDA (against cuda/bundle/
# when MuJoCo, GoogleTest and stb are not installed: see cuda/gpu_bundle.sh), runs the CUDA test
# suites, the benchmarks `bench gemm|conv|rssm|lm|planners device=cuda` (RSSM at B=50, L=50; LatCo's
# LM iteration at Z=230, H=30 with its assembly and solve on the device; CEM, MPPI, LatCo and
# shooting GD at the paper's settings),
# a 2-minute `latco train` on a paper config with device=cuda, and prints every figure with the
# card's name and an estimate of a paper-scale tabletop run's hours. Needs no network.
# Without a GPU it says so in one line and fails. Output also in build-gpu/gpu-check/.
# Usage (from the repository root): cuda/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-gpu}
OUT=$BUILD/gpu-check
CONFIG=${GPU_CHECK_CONFIG:-configs/paper/button_latco.yaml}
TRAIN_SECONDS=${GPU_CHECK_TRAIN_SECONDS:-120}
t0=$(date +%s)

# ----- a GPU, nvcc, the project's libraries -----
card=$(nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv,noheader 2>/dev/null | head -1)
if [ -z "$card" ]; then
  echo "gpu-check: no usable NVIDIA GPU here (nvidia-smi lists none); nothing checked"
  exit 1
fi
NVCC=$(command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; })
[ -n "$NVCC" ] || { echo "gpu-check: GPU $card, but no nvcc (CUDA toolkit) on PATH or in /usr/local/cuda"; exit 1; }
arch=$(echo "$card" | cut -d, -f2 | tr -d ' .')
bundle=""
if ! dpkg -s libmujoco-dev libgtest-dev libstb-dev >/dev/null 2>&1; then
  [ -f cuda/bundle/STAGED ] || {
    echo "gpu-check: MuJoCo, GoogleTest or stb missing and no cuda/bundle/: run 'make gpu-bundle' where they are installed, then copy the tree here"
    exit 1
  }
  bundle="USE_BUNDLE=1"
fi
mkdir -p "$OUT"
echo "gpu-check: $card; CUDA $("$NVCC" --version | sed -n 's/.*release \([^,]*\).*/\1/p')${bundle:+; libraries from cuda/bundle ($(cat cuda/bundle/STAGED))}"

# ----- build -----
mk="make -j$(nproc) BUILD=$BUILD CUDA_ARCH=$arch $bundle"
info=$($mk cuda-info)
case "$info" in
  *"CUDA: on"*) ;;
  *) echo "gpu-check: the build would not link CUDA: $info"; exit 1 ;;
esac
tests="test_cuda test_cuda_autodiff test_cuda_training test_cuda_planning test_cuda_latco test_cuda_eval"
if ! $mk "$BUILD/latco" $(for t in $tests; do echo "$BUILD/tests/$t"; done) > "$OUT/build.log" 2>&1; then
  tail -20 "$OUT/build.log"
  echo "gpu-check: the build failed (log: $OUT/build.log)"
  exit 1
fi
echo "gpu-check: built in $(( $(date +%s) - t0 )) s"
status=0

# ----- the CUDA test suites, on the device -----
for t in $tests; do
  "$BUILD/tests/$t" --gtest_brief=1 > "$OUT/$t.log" 2>&1
  if grep -q "no CUDA device:" "$OUT/$t.log"; then  # the suites skip without a device: nothing was checked
    echo "gpu-check: the build finds no usable device: $(grep -m1 -o 'no CUDA device:.*' "$OUT/$t.log")"
    exit 1
  fi
  if grep -q '^\[  PASSED  \]' "$OUT/$t.log" && ! grep -q '^\[  FAILED  \]' "$OUT/$t.log"; then
    echo "test $t: $(grep -E '^\[  PASSED  \]' "$OUT/$t.log")$(grep -E '^\[  SKIPPED \]' "$OUT/$t.log" | head -1 | sed 's/^/, /')"
  else
    echo "test $t: FAILED (log: $OUT/$t.log)"; grep -E 'FAILED|Failure' "$OUT/$t.log" | head -5; status=1
  fi
done

# ----- benchmarks (the figures are lines "name value unit") -----
bench() {  # name, then the arguments of latco bench
  local name=$1; shift
  if ! "$BUILD/latco" bench "$@" > "$OUT/bench_$name.log" 2>&1; then
    echo "bench $name: FAILED (log: $OUT/bench_$name.log)"; tail -3 "$OUT/bench_$name.log"; status=1; return
  fi
  grep -E '^[a-z0-9_]+ [-0-9.e+]+ |: ' "$OUT/bench_$name.log" | grep -v '^rssm: step' | sed "s/^/[$name] /"
}
bench gemm gemm device=cuda require_device=true
bench conv conv device=cuda require_device=true
bench rssm rssm device=cuda require_device=true bench_batch=50 bench_length=50 bench_steps=5
bench lm lm device=cuda require_device=true
for p in cem mppi latco shooting_gd; do bench "planners_$p" planners --paper --planner "$p" device=cuda require_device=true; done

# ----- a 2-minute run of the paper config on the device (schedule shortened to reach planning) -----
rm -rf "$OUT/train"
timeout "$TRAIN_SECONDS" "$BUILD/latco" train --config "$CONFIG" --out "$OUT/train" device=cuda require_device=true \
  prefill_episodes=2 pretrain_steps=20 eval_every=0 > "$OUT/train.log" 2>&1
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then
  echo "train: FAILED (rc $rc, log: $OUT/train.log)"; tail -5 "$OUT/train.log"; status=1
fi
grep -E '^train: device' "$OUT/train.log" | head -1
csv=$OUT/train/metrics.csv
[ -f "$csv" ] && awk -F, -v secs="$TRAIN_SECONDS" 'NR > 1 { rows++; g = $4; if ($12 > 0) { p += $12; np++ } }
  END { printf "train: %d s of %s: %d episodes logged, %d gradient steps%s\n", secs, "'"$CONFIG"'", rows, g,
        np ? sprintf(", planning %.3f s per agent step (planning as train runs it)", p / np) : ", no planned episode finished" }' "$csv"

# ----- estimate of a paper-scale tabletop run: its gradient steps and plans at the measured speeds -----
key() {  # a key of $CONFIG, else of the files it includes
  local f=$CONFIG v inc
  while [ -n "$f" ]; do
    v=$(awk -F': *' -v k="$1" '$1 == k { sub(/ *#.*/, "", $2); print $2; exit }' "$f")
    [ -n "$v" ] && { echo "$v"; return; }
    inc=$(awk -F': *' '$1 == "include" { print $2; exit }' "$f")
    if [ -n "$inc" ]; then f=$(dirname "$f")/$inc; else f=""; fi
  done
}
step_s=$(awk '$1 == "rssm_step_s" { print $2 }' "$OUT/bench_rssm.log")
plan_s=$([ -f "$csv" ] && awk -F, 'NR > 1 && $12 > 0 { p += $12; n++ } END { if (n) print p / n }' "$csv")
steps_per_ep=$([ -f "$csv" ] && awk -F, 'NR > 1 && $12 > 0 { print $3 - prev } { prev = $3 }' "$csv" | tail -1)
if [ -n "$step_s" ]; then
  awk -v s="$step_s" -v p="${plan_s:-}" -v n="${steps_per_ep:-}" -v pre="$(key pretrain_steps)" \
      -v eps="$(key episodes)" -v upd="$(key updates_per_episode)" -v every="$(key eval_every)" \
      -v evals="$(key eval_episodes)" -v card="$card" 'BEGIN {
    g = pre + eps * upd; train_h = g * s / 3600
    planned = eps + (every > 0 ? int(eps / every) * evals : 0)  # training and evaluation episodes
    printf "estimate (%s): %d gradient steps x %.4f s = %.2f h of model training", card, g, s, train_h
    if (p != "" && n != "") printf "; %d episodes x %d agent steps x %.3f s planning = %.2f h; total %.2f h (environment time excluded)\n",
                                   planned, n, p, planned * n * p / 3600, train_h + planned * n * p / 3600
    else printf "; planning not measured in the 2 minutes\n"
  }'
fi
echo "gpu-check: $( [ $status -eq 0 ] && echo passed || echo FAILED ) in $(( $(date +%s) - t0 )) s on $card"
exit $status
