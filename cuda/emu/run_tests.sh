#!/usr/bin/env bash
# Builds tests/test_cuda*.cpp against cuda/*.cu executed on the CPU by the emulation in this
# folder (fibers for threads, loops for cuBLAS) and runs them: the CUDA kernels' indexing,
# barriers and reductions, the autodiff's device dispatch, the world model's training on the
# device, the planner's latent model there, LatCo's LM step and evaluation on the device,
# checked against the CPU references on machines without a GPU.
# Usage (from the repository root): cuda/emu/run_tests.sh [build-dir] [gtest flags...]
set -euo pipefail
BUILD=${1:-build-emu}
shift || true
CXX=${CXX:-g++}
FLAGS="-O2 -march=native -g -std=c++17 -pthread -w -DHAVE_CUDA=1 -Isrc -I. -I/usr/include/stb"
OUT=$BUILD/emu
mkdir -p "$OUT/obj"

# ----- kernels: rewrite launches, compile against the emulated runtime -----
$CXX -O1 -std=c++17 -o "$OUT/launch_rewrite" cuda/emu/launch_rewrite.cpp
jobs=()
objs=()
for cu in cuda/*.cu; do
  name=$(basename "$cu" .cu)
  "$OUT/launch_rewrite" "$cu" > "$OUT/$name.cu.cpp"
  jobs+=("$CXX $FLAGS -Icuda/emu -Icuda -c $OUT/$name.cu.cpp -o $OUT/obj/$name.cu.o")
  objs+=("$OUT/obj/$name.cu.o")
done
# ----- the CPU library parts the test uses (HAVE_CUDA: the emulated device.cu owns the hooks) -----
for cpp in src/core/*.cpp src/kernels/*.cpp src/autodiff/*.cpp src/linalg/*.cpp src/nn/*.cpp \
  src/io/checkpoint.cpp src/io/npz.cpp src/io/config.cpp src/io/byte_reader.cpp src/io/atomic_file.cpp \
  src/model/rssm.cpp src/model/elbo.cpp \
  src/model/transition_weights.cpp src/model/rssm_latent_model.cpp src/model/device_latent_model.cpp \
  src/plan/*.cpp src/plan/*/*.cpp \
  src/env/*.cpp \
  src/agent/episode_runner.cpp src/agent/evaluation.cpp src/io/progress.cpp; do
  obj=$OUT/obj/$(echo "${cpp%.cpp}" | tr / _).o
  objs+=("$obj")
  if [ ! -f "$obj" ] || [ "$cpp" -nt "$obj" ] || [ -n "$(find src -name '*.h' -newer "$obj" -print -quit)" ]; then
    jobs+=("$CXX $FLAGS -c $cpp -o $obj")
  fi
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I{} sh -c '{}'
tests=(test_cuda test_cuda_autodiff test_cuda_training test_cuda_planning test_cuda_latco test_cuda_eval)
printf '%s\n' "${tests[@]}" |
  xargs -P 2 -I{} $CXX $FLAGS -o "$OUT/{}_emu" "tests/{}.cpp" "${objs[@]}" -lgtest_main -lgtest -lmujoco
echo "CUDA: emulated on the CPU (cuda/emu); nothing here ran on a GPU"
# Without gtest flags: every suite through tests/run_all.sh, which ends with "N passed, N failed, N skipped".
if [ $# -eq 0 ]; then
  bins=()
  for t in "${tests[@]}"; do bins+=("$OUT/${t}_emu"); done
  exec tests/run_all.sh "${bins[@]}"
fi
status=0
for t in "${tests[@]}"; do
  "$OUT/${t}_emu" "$@" || status=1
done
exit $status
