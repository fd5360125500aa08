#!/usr/bin/env bash
# Runs each fuzz target ($FUZZ_DIR/fuzz_<name>) from a fresh seed corpus, for
# $FUZZ_RUNS inputs with -seed=1 if set (deterministic), else for $FUZZ_SECONDS
# seconds; prints one line per target (inputs tried, crashes) and ends with
#   N passed, N failed
set -u
dir=${FUZZ_DIR:?}
corpus=$dir/corpus
rm -rf "$corpus"
"$dir/make_corpus" "$corpus" >/dev/null || { echo "fuzz: make_corpus failed"; echo "0 passed, 1 failed"; exit 1; }
cp configs/*.yaml "$corpus/config/" 2>/dev/null
rm -rf "$dir/crashes"; mkdir -p "$dir/crashes"
passed=0; failed=0
for t in "$@"; do
  if [ -n "${FUZZ_RUNS:-}" ]; then limit="-runs=$FUZZ_RUNS -seed=1"; else limit="-max_total_time=${FUZZ_SECONDS:-60}"; fi
  log=$dir/fuzz_$t.log
  work=$dir/work_$t
  rm -rf "$work"; mkdir -p "$work"
  # -max_len: episode seeds are ~1 KB; -rss_limit_mb: an allocation beyond it is a failure.
  "$dir/fuzz_$t" "$work" "$corpus/$t" $limit -max_len=4096 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -artifact_prefix="$dir/crashes/$t-" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  crashes=$(ls "$dir/crashes" 2>/dev/null | grep -c "^$t-" || true)
  if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
    printf 'fuzz %-10s %9s inputs, crashes: 0\n' "$t" "${runs:-?}"; passed=$((passed + 1))
  else
    printf 'fuzz %-10s %9s inputs, FAILED (exit %d; %d crash inputs in %s/crashes)\n' "$t" "${runs:-?}" "$rc" "$crashes" "$dir"
    grep -E 'ERROR|runtime error|uncaught|Assertion|deadly' "$log" | head -5
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
