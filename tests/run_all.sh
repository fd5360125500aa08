#!/usr/bin/env bash
# Runs each GoogleTest suite given as an argument and ends with one line:
#   N passed, N failed, N skipped
# summed over all suites. A suite that crashes counts as one failure. The include check
# (tests/check_includes.sh: no #include points up a floor of src/) counts as one test.
set -u
passed=0; failed=0; skipped=0; crashed=""
echo "=== check_includes"
if out=$("$(dirname "$0")/check_includes.sh"); then passed=1; else echo "$out"; failed=1; fi
for bin in "$@"; do
  name=$(basename "$bin")
  echo "=== $name"
  log=$(mktemp)
  "$bin" --gtest_color=no 2>&1 | tee "$log" | grep -E '^\[  (FAILED|SKIPPED) |^\[==========\]|Skipped|SKIP:' || true
  rc=${PIPESTATUS[0]}
  p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | head -1)
  f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | head -1)
  s=$(grep -E '^\[  SKIPPED \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | head -1)
  p=${p:-0}; f=${f:-0}; s=${s:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "$name exited with status $rc"; tail -20 "$log"; f=1; crashed="$crashed $name"
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  rm -f "$log"
done
[ -n "$crashed" ] && echo "crashed:$crashed"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
