# latco build.  make | make test | make run | make bench | make clean
#   CUDA=0       force a CPU-only build (default: auto-detect nvcc)
#   SANITIZE=1   build and test under AddressSanitizer + UBSan
#   BUILD=dir    build directory (default build/)
#   THREADS=n    threads used by tests and benchmarks (default 2)
#   PORTABLE=1   x86-64-v3 code (AVX2 + FMA) instead of -march=native, in build-portable/: one binary whose
#                arithmetic does not depend on the CPU it was built on (see README, Reliability)
#   make fuzz    libFuzzer targets under ASan + UBSan (FUZZ_SECONDS=60 each; FUZZ_RUNS=N for a fixed count)
#   CUDA_ARCH=nn GPU architecture of the kernels (default 90: H100/H200; 80 for A100)
#   USE_BUNDLE=1 MuJoCo, GoogleTest and stb from cuda/bundle/ (make gpu-bundle) instead of the Debian packages
BUILD    ?= build
# Compile on every core unless a -j was given (make -j1 still builds serially).
ifeq ($(filter -j%,$(MAKEFLAGS)),)
  MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
THREADS  ?= 2
CXX      ?= g++
CXXFLAGS ?= -O3 -march=native -g
CXXFLAGS += -std=c++17 -Wall -Wextra -Wno-unused-parameter -pthread -MMD -MP -Isrc -I. -I/usr/include/stb
LDLIBS   := -lmujoco -pthread

ifeq ($(PORTABLE),1)
  CXXFLAGS := $(filter-out -march=native,$(CXXFLAGS)) -march=x86-64-v3
  override BUILD := $(BUILD)-portable
endif

ifeq ($(SANITIZE),1)
  CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS  += -fsanitize=address,undefined
  override BUILD := $(BUILD)-sanitize
  CUDA     := 0
endif

# ----- CUDA detection: nvcc on PATH or in /usr/local/cuda -----
# The kernels are compiled wherever nvcc exists. They are linked in (HAVE_CUDA) only where
# libcudart and libcublas link too; otherwise the build says so and links the CPU build.
NVCC := $(shell command -v nvcc 2>/dev/null || ( test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc ))
ifeq ($(CUDA),0)
  NVCC :=
endif
ifneq ($(NVCC),)
  CUDA_HOME   := $(patsubst %/bin/nvcc,%,$(shell readlink -f $(NVCC)))
  CUDA_LIBDIR ?= $(shell for d in $(CUDA_HOME)/lib64 $(CUDA_HOME)/lib $(CUDA_HOME)/targets/x86_64-linux/lib \
                   /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64; do \
                   if [ -e $$d/libcudart.so ] && [ -e $$d/libcublas.so ]; then echo $$d; break; fi; done)
  # A trial link decides, so a machine with nvcc but without the libraries still builds.
  CUDA_LINK   := $(shell [ -n "$(CUDA_LIBDIR)" ] && echo 'int main(){}' | $(CXX) -x c++ - -o /dev/null \
                   -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcudart -lcublas >/dev/null 2>&1 && echo 1)
  CUDA_ARCH   ?= 90
  NVCCFLAGS   := -O3 -std=c++17 -Isrc -DHAVE_CUDA=1 -gencode arch=compute_$(CUDA_ARCH),code=sm_$(CUDA_ARCH) \
                 -gencode arch=compute_$(CUDA_ARCH),code=compute_$(CUDA_ARCH) -Xcompiler -fPIC -MMD -MP
  CUDA_SRCS   := $(wildcard cuda/*.cu)
endif
ifeq ($(CUDA_LINK),1)
  CXXFLAGS   += -DHAVE_CUDA=1 -I$(CUDA_HOME)/include
  LDLIBS     += -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcudart -lcublas
  CUDA_OBJS   = $(CUDA_SRCS:%.cu=$(OBJ)/%.cu.o)
  CUDA_CHECK  :=
  CUDA_MSG   := CUDA: on ($(NVCC), libraries in $(CUDA_LIBDIR)), kernels for sm_$(CUDA_ARCH) + PTX
else ifneq ($(NVCC),)
  CUDA_OBJS  :=
  CUDA_CHECK  = $(CUDA_SRCS:%.cu=$(OBJ)/%.cu.o)
  CUDA_MSG   := CUDA: nvcc found ($(NVCC)) but -lcudart -lcublas do not link; kernels compiled as a check, CPU build linked
else
  CUDA_OBJS  :=
  CUDA_CHECK :=
  CUDA_MSG   := CUDA: off (no nvcc found or CUDA=0); CPU build
endif
# ----- a GPU node without the Debian packages: the bundle `make gpu-bundle` staged -----
# (an RPATH, not a RUNPATH, so that it also serves the libraries libmujoco loads)
GPU_BUNDLE := cuda/bundle
ifeq ($(USE_BUNDLE),1)
  CXXFLAGS := $(filter-out -I/usr/include/stb,$(CXXFLAGS)) -I$(GPU_BUNDLE)/include -I$(GPU_BUNDLE)/include/stb
  LDFLAGS  += -L$(GPU_BUNDLE)/lib -Wl,--disable-new-dtags,-rpath,$(abspath $(GPU_BUNDLE)/lib)
endif
# Objects of each flavour live apart, so switching CUDA=0/1 never mixes them.
OBJ := $(BUILD)/obj-$(if $(CUDA_LINK),cuda,cpu)

# Run manifests record the commit, whether the tree was dirty, and the build flags; manifest.o is
# rebuilt when the commit or the dirty flag changes ("unknown" outside a git checkout).
GIT_STATE := $(shell c=$$(git rev-parse HEAD 2>/dev/null) || c=unknown; [ "$$c" != unknown ] && [ -n "$$(git status --porcelain 2>/dev/null)" ] && c=$$c-dirty; echo $$c)
$(shell mkdir -p $(BUILD); [ "$$(cat $(BUILD)/.git-state 2>/dev/null)" = "$(GIT_STATE)" ] || echo "$(GIT_STATE)" > $(BUILD)/.git-state)
MANIFEST_FLAGS := -DLATCO_GIT_STATE='"$(GIT_STATE)"' -DLATCO_BUILD_FLAGS='"CXX=$(CXX) $(filter-out -MMD -MP -I%,$(CXXFLAGS))"'
$(OBJ)/src/app/manifest.o: CXXFLAGS += $(MANIFEST_FLAGS)
$(OBJ)/src/app/manifest.o: $(BUILD)/.git-state

# ONLY="src/core src/kernels" restricts the library to some folders (quick partial test builds).
ONLY      ?= src
SRCS      := $(shell find $(ONLY) -name '*.cpp' ! -name main.cpp | sort)
LIB_OBJS  := $(SRCS:%.cpp=$(OBJ)/%.o) $(CUDA_OBJS)
MAIN_OBJ  := $(OBJ)/src/app/main.o
TEST_SRCS := $(sort $(wildcard tests/test_*.cpp))
TEST_BINS := $(TEST_SRCS:tests/%.cpp=$(BUILD)/tests/%)

.PHONY: all deps test run bench clean cuda-info test-cuda-emu fuzz fuzz-build test-cluster gpu-bundle gpu-check
all: deps cuda-info $(BUILD)/latco $(CUDA_CHECK)

cuda-info:
	@echo "$(CUDA_MSG)"

# ----- Debian packages the project needs; installs the missing ones -----
DEB_PKGS := libmujoco-dev libstb-dev libgtest-dev
deps: $(BUILD)/.deps-ok
$(BUILD)/.deps-ok:
	@mkdir -p $(BUILD)
	@if [ "$(USE_BUNDLE)" = 1 ]; then \
	  test -f $(GPU_BUNDLE)/STAGED || { echo "deps: USE_BUNDLE=1 but no $(GPU_BUNDLE)/: run make gpu-bundle where the packages are installed" >&2; exit 1; }; \
	  echo "deps: from $(GPU_BUNDLE) ($$(cat $(GPU_BUNDLE)/STAGED))"; touch $@; exit 0; \
	fi; \
	missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; \
	  else echo "deps: missing$$missing and not root, no sudo: install them with apt-get install -y$$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null || \
	  { echo "deps: apt-get install -y$$missing failed" >&2; exit 1; }; \
	fi; \
	echo "deps: $(DEB_PKGS) present"; touch $@

# Generated sources: the config keys' meanings for `latco CMD --help`, taken from the comments on
# the settings structs' fields, and the commit `latco --version` names (rewritten only on change).
CXXFLAGS += -I$(BUILD)/gen
KEY_HELP_SRCS := $(shell grep -rl 'void visit' src)
$(BUILD)/gen/key_help.inc: src/app/key_help.awk $(KEY_HELP_SRCS)
	@mkdir -p $(dir $@)
	@awk -f src/app/key_help.awk $(KEY_HELP_SRCS) > $@.tmp && mv $@.tmp $@
$(OBJ)/src/app/key_help.o: $(BUILD)/gen/key_help.inc
$(BUILD)/gen/latco_commit.h: FORCE
	@mkdir -p $(dir $@)
	@c=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown); \
	 echo "#define LATCO_COMMIT \"$$c\"" > $@.tmp; cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
$(OBJ)/src/app/command.o: $(BUILD)/gen/latco_commit.h
.PHONY: FORCE
FORCE:

$(BUILD)/latco: $(LIB_OBJS) $(MAIN_OBJ)
	@echo "LINK $@"
	@$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OBJ)/%.o: %.cpp | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "CXX  $<"
	@$(CXX) $(CXXFLAGS) -c $< -o $@

$(OBJ)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	@echo "NVCC $<"
	@$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.cpp $(LIB_OBJS) | $(BUILD)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "TEST $@"
	@$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) -lgtest_main -lgtest $(LDLIBS)

# Runs every suite, then one summary line "N passed, N failed".
test: deps cuda-info $(TEST_BINS) $(BUILD)/latco $(CUDA_CHECK)
	@LATCO_THREADS=$(THREADS) LATCO_BIN=$(BUILD)/latco tests/run_all.sh $(TEST_BINS)

# `latco sweep slurm` on a throwaway single-node Slurm cluster (installs slurm-wlm and munge when
# missing; root or sudo, else a visible skip); ends with a line "cluster: N passed, N failed".
test-cluster: deps $(BUILD)/latco $(BUILD)/tests/cluster/ckpt_equal
	@LATCO_BIN=$(BUILD)/latco CKPT_EQUAL=$(BUILD)/tests/cluster/ckpt_equal tests/cluster/run.sh

# tests/test_cuda*.cpp against cuda/*.cu run by the CPU emulation in cuda/emu (no GPU or nvcc needed).
test-cuda-emu:
	cuda/emu/run_tests.sh $(BUILD)-emu

# Stages MuJoCo, GoogleTest and stb from the installed Debian packages into cuda/bundle/ (git-ignored),
# for GPU nodes without them; checks that a program builds and runs against the bundle alone.
gpu-bundle:
	cuda/gpu_bundle.sh $(GPU_BUNDLE)

# On a GPU node: build, CUDA tests, benchmarks, a 2-minute training run, the figures (cuda/gpu_check.sh).
gpu-check:
	BUILD=$(BUILD)-gpu cuda/gpu_check.sh

run: all
	$(BUILD)/latco demo --config configs/demo.yaml

bench: all
	@for b in gemm conv env rssm jacobian lm planners agent; do $(BUILD)/latco bench $$b --threads $(THREADS) || exit 1; done

clean:
	rm -rf build build-*

# ----- fuzzing: clang's libFuzzer with AddressSanitizer + UBSan -----
# make fuzz                  each target for FUZZ_SECONDS seconds (default 60)
# make fuzz FUZZ_RUNS=20000  each target for a fixed number of inputs with seed 1 (deterministic; CI)
# Each target parses mutated inputs; an input may only be rejected with latco::Error: any other
# exception, a sanitizer report or a signal is a crash, and the input is kept in $(FUZZ_DIR)/crashes/.
FUZZ_CXX     ?= clang++
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?=
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_FLAGS   := -O1 -g -std=c++17 -pthread -Isrc -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined -ffunction-sections -fdata-sections
FUZZ_TARGETS := npz npy checkpoint params config
FUZZ_LIB     := src/io/byte_reader.cpp src/io/atomic_file.cpp src/io/npz.cpp src/env/episode.cpp src/io/checkpoint.cpp src/io/config.cpp \
                src/nn/serialize.cpp src/core/tensor.cpp src/core/device_cpu.cpp
FUZZ_OBJS    := $(FUZZ_LIB:%.cpp=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

$(FUZZ_DIR)/.clang-ok:
	@mkdir -p $(FUZZ_DIR)
	@if ! command -v $(FUZZ_CXX) >/dev/null; then \
	  echo "fuzz: installing clang (libFuzzer)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; \
	  else echo "fuzz: $(FUZZ_CXX) missing and not root, no sudo: apt-get install -y clang" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq clang >/dev/null || \
	  { echo "fuzz: apt-get install -y clang failed" >&2; exit 1; }; \
	fi; touch $@

$(FUZZ_DIR)/obj/%.o: %.cpp | $(FUZZ_DIR)/.clang-ok
	@mkdir -p $(dir $@)
	@echo "FUZZCXX $<"
	@$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.cpp tests/fuzz/fuzz_common.h $(FUZZ_OBJS)
	@echo "FUZZ $@"
	@$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer -Wl,--gc-sections -o $@ $< $(FUZZ_OBJS)

$(FUZZ_DIR)/make_corpus: tests/fuzz/make_corpus.cpp $(FUZZ_OBJS)
	@$(FUZZ_CXX) $(FUZZ_FLAGS) -Wl,--gc-sections -o $@ $< $(FUZZ_OBJS)

fuzz-build: $(FUZZ_BINS) $(FUZZ_DIR)/make_corpus

# Prints one line per target and a summary "N passed, N failed" (a target that crashes fails).
fuzz: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run.sh $(FUZZ_TARGETS)

-include $(shell find $(OBJ) $(BUILD)/tests $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
