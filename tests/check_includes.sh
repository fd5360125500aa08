#!/bin/bash
# The floors of src/, from the bottom: a file may include headers of its own floor and of the
# floors below it, never of one above. Prints each include that points up and fails if any does;
# ends with one line "includes: N passed, N failed" (files checked) for tests/run_all.sh.
cd "$(dirname "$0")/.." || exit 2
floor() {
  case "$1" in
    core) echo 0 ;;                  # tensor, errors, random streams, thread pool
    kernels | linalg | io) echo 1 ;; # GEMM and convolution kernels, dense and block solves, files
    autodiff | cuda) echo 2 ;;       # the graph and its ops; cuda/: the device behind it
    nn) echo 3 ;;                    # layers, modules, Adam, parameter files
    model | env) echo 4 ;;           # the world model; the environments (and Episode)
    plan) echo 5 ;;                  # the planners
    agent) echo 6 ;;                 # the MBRL loop, replay, evaluation
    app) echo 7 ;;                   # commands, benchmarks, main
    *) echo "" ;;
  esac
}
passed=0 failed=0
for f in $(find src cuda \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) \
             ! -path 'cuda/emu/*' ! -path 'cuda/bundle/*' | sort); do
  area=${f#*/}; [ "${f%%/*}" = cuda ] && area=cuda || area=${area%%/*}
  own=$(floor "$area")
  if [ -z "$own" ]; then echo "includes: $f: folder '$area' has no floor in tests/check_includes.sh"; failed=$((failed + 1)); continue; fi
  bad=0
  while IFS=: read -r line inc; do
    dir=${inc%%/*}
    [ "$dir" = "$inc" ] && continue  # a header beside the file, or a generated one
    to=$(floor "$dir")
    [ -z "$to" ] && continue         # not a folder of src/ (a system or third-party header)
    if [ "$to" -gt "$own" ]; then
      echo "includes: $f:$line includes \"$inc\": floor $area ($own) may not include $dir ($to)"
      bad=1
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed -E 's/^([0-9]+):[^"]*"([^"]*)".*/\1:\2/')
  if [ $bad = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "includes: $passed passed, $failed failed"
[ $failed = 0 ]
