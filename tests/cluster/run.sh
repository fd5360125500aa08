#!/usr/bin/env bash
# Slurm integration test of `latco sweep`: starts a throwaway single-node cluster (munged,
# slurmctld, slurmd) under a temporary folder with its own slurm.conf, submits the tiny sweep
# (2 tasks x 2 planners x 2 seeds) with `latco sweep slurm --submit`, cancels one array task after
# its first checkpoint, re-submits, and checks that every run finished, that the cancelled one
# resumed (not restarted) and ended bit-identical to an uninterrupted run of the same entry, and
# that `latco report` aggregates all eight. Stops every daemon it started.
# Installs slurm-wlm and munge when missing (root or sudo); without both it prints a skip.
# Last line: "cluster: N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/../.."
BIN=$(readlink -f "${LATCO_BIN:-build/latco}")
CKPT_EQUAL=$(readlink -f "${CKPT_EQUAL:-build/tests/cluster/ckpt_equal}")
VICTIM=0  # the array index cancelled after its first checkpoint

say() { echo "cluster: $*"; }
if [ "$(id -u)" = 0 ]; then SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"
else
  say "SKIP: needs root or sudo to install and start slurm-wlm and munge"
  echo "cluster: 0 passed, 0 failed, 1 skipped"
  exit 0
fi
[ -x "$BIN" ] && [ -x "$CKPT_EQUAL" ] || { say "FAIL: build $BIN and $CKPT_EQUAL first (make test-cluster)"; echo "cluster: 0 passed, 1 failed"; exit 1; }

missing=""
for p in slurm-wlm munge; do dpkg -s $p >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  say "installing$missing"
  $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null ||
    { say "FAIL: apt-get install$missing failed"; echo "cluster: 0 passed, 1 failed"; exit 1; }
fi

T=$(mktemp -d /tmp/latco-cluster.XXXXXX)
chmod 755 "$T"
HOST=$(hostname -s)
export SLURM_CONF=$T/slurm.conf
KEEP=0

stop_pidfile() {  # kill the daemon whose pid is in $1, wait for it to go
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$($SUDO cat "$f" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  $SUDO kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do $SUDO kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  $SUDO kill -9 "$pid" 2>/dev/null
}
cleanup() {
  [ -n "${JOBS:-}" ] && scancel $JOBS 2>/dev/null
  stop_pidfile "$T/slurmd.pid"
  stop_pidfile "$T/slurmctld.pid"
  stop_pidfile "$T/munge/munged.pid"
  if [ "$KEEP" = 1 ]; then say "logs kept in $T"; else $SUDO rm -rf "$T"; fi
}
trap cleanup EXIT
fail() {
  say "FAIL: $*"
  for f in slurmctld.log slurmd.log; do [ -f "$T/$f" ] && { echo "--- $f (tail)"; $SUDO tail -5 "$T/$f"; }; done
  KEEP=1
  echo "cluster: 0 passed, 1 failed"
  exit 1
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: until the command succeeds
  local limit=$1 what=$2
  shift 2
  for _ in $(seq $((limit * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "timed out after ${limit}s waiting for $what"
}

# ----- munge: its own key, socket, pid and log under $T -----
mkdir -p "$T/munge"
$SUDO mungekey -c -k "$T/munge/munge.key" >/dev/null 2>&1 || $SUDO dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 2>/dev/null
$SUDO chown -R munge:munge "$T/munge"
$SUDO chmod 755 "$T/munge"  # the socket inside must be reachable by the submitting user
$SUDO chmod 400 "$T/munge/munge.key"
SOCK=$T/munge/munge.socket.2
$SUDO runuser -u munge -- munged --force --socket="$SOCK" --key-file="$T/munge/munge.key" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed" ||
  fail "munged did not start"
wait_for 10 "munged" bash -c "munge -n -S '$SOCK' | unmunge -S '$SOCK'"

# ----- slurm.conf, slurmctld, slurmd -----
mkdir -p "$T/state" "$T/spool"
cat > "$SLURM_CONF" <<EOF
ClusterName=latcotest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
SlurmUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
$SUDO env SLURM_CONF="$SLURM_CONF" slurmctld || fail "slurmctld did not start"
$SUDO env SLURM_CONF="$SLURM_CONF" slurmd || fail "slurmd did not start"
wait_for 60 "the node to be idle" bash -c "sinfo -h -o %t | grep -q idle"
say "cluster up: $(sinfo -h -o '%P %D %t %c')"

# ----- the sweep: longer runs than in make test, so the cancel lands between checkpoints -----
S=$T/runs/tiny
sed "s|^include: .*|include: $PWD/tests/cluster/tiny.yaml|" tests/cluster/tiny_sweep.yaml > "$T/sweep.yaml"
echo "episodes: 12" >> "$T/sweep.yaml"
"$BIN" sweep plan "$T/sweep.yaml" --out "$S" > "$T/plan.log" || fail "sweep plan: $(tail -1 "$T/plan.log")"
VDIR=$S/$(awk -F'\t' -v i=$VICTIM '$1 == i {print $2}' "$S/sweep.tsv")
out=$("$BIN" sweep slurm "$S" --cpus 1 --submit) || fail "sweep slurm --submit: $out"
JOB1=$(echo "$out" | sed -n 's/.*submitted job \([0-9]*\).*/\1/p')
[ -n "$JOB1" ] || fail "no job id in: $out"
JOBS=$JOB1
say "submitted job $JOB1"

# Cancel the victim once it has a checkpoint and before it ends.
first_ckpt() { ls "$VDIR/checkpoints" 2>/dev/null | grep -q '^ckpt-.*\.bin$'; }
wait_for 120 "the first checkpoint of array task $VICTIM" first_ckpt
scancel "${JOB1}_${VICTIM}"
ck_at_cancel=$(ls "$VDIR/checkpoints" | grep '^ckpt-.*\.bin$' | sort | tail -1)
say "cancelled ${JOB1}_${VICTIM} after $ck_at_cancel"
job_gone() { [ -z "$(squeue -h -j "$1" 2>/dev/null)" ]; }
wait_for 300 "job $JOB1 to finish" job_gone "$JOB1"
grep -q '^end_time: .' "$VDIR/manifest.yaml" && ! grep -q '^interrupted: true' "$VDIR/manifest.yaml" &&
  fail "the cancel came after array task $VICTIM had finished (a slower run is needed)"

out=$("$BIN" sweep slurm "$S" --cpus 1 --submit) || fail "re-submit: $out"
JOB2=$(echo "$out" | sed -n 's/.*submitted job \([0-9]*\).*/\1/p')
JOBS="$JOB1 $JOB2"
say "re-submitted as job $JOB2"
wait_for 300 "job $JOB2 to finish" job_gone "$JOB2"

# ----- checks -----
"$BIN" sweep status "$S" > "$T/status.txt"
grep -q '^8 runs: 8 finished' "$T/status.txt" || { cat "$T/status.txt"; fail "not every run finished"; }
grep -q '^attempts: 2$' "$VDIR/manifest.yaml" || fail "the cancelled run was not run a second time"
grep -q "^resumed_from: ckpt-" "$VDIR/manifest.yaml" || fail "the cancelled run restarted instead of resuming"
say "array task $VICTIM resumed from $(sed -n 's/^resumed_from: //p' "$VDIR/manifest.yaml")"
for f in $(awk -F'\t' '!/^#/ {print $2}' "$S/sweep.tsv"); do
  [ "$S/$f" = "$VDIR" ] && continue
  grep -q '^attempts: 1$' "$S/$f/manifest.yaml" || fail "$f ran again on the re-submission"
done
grep -q 'resume' "$S/logs/$VICTIM.log" || fail "logs/$VICTIM.log does not show the resume"
# An uninterrupted run of the same entry ends with the same parameters, bit for bit.
"$BIN" train --config "$VDIR/config.sweep.yaml" --out "$T/straight" --threads 1 > "$T/straight.log" 2>&1 ||
  fail "the uninterrupted reference run failed"
last() { ls "$1/checkpoints" | grep '^ckpt-.*\.bin$' | sort | tail -1; }
"$CKPT_EQUAL" "$VDIR/checkpoints/$(last "$VDIR")" "$T/straight/checkpoints/$(last "$T/straight")" ||
  fail "the resumed run's final checkpoint differs from the uninterrupted run's"
"$BIN" report "$S" > "$T/report.log" || fail "latco report: $(tail -1 "$T/report.log")"
grep -q '^8 results' "$S/report/report.md" || fail "report.md does not aggregate 8 runs"
[ "$(grep -c '"task"' "$S/report/scores.json")" = 8 ] || fail "scores.json does not hold 8 curves"
[ -s "$S/report/curves.png" ] || fail "no curves.png"
sed -n '/^## Final success rate/,/^## Final return/p' "$S/report/report.md" | head -6
say "PASS: 8 runs through Slurm, one cancelled and resumed bit-identically, report of all 8"
echo "cluster: 1 passed, 0 failed"
