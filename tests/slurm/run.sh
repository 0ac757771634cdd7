#!/usr/bin/env bash
# A sharded run on a real Slurm: installs Slurm from Debian's packages (slurm-wlm, munge) if
# absent, starts a single-node cluster on this machine (controller and one node on localhost,
# a minimal slurm.conf) unless one runs already, submits a small image survey as the README's
# cluster section says (`whiten slurm FILE --tasks 3 --out DIR --submit`: a job array of 3
# shards and a merge job after it, through the real sbatch), waits for both jobs, and checks
# that the merged folder is byte-identical to an unsharded `whiten run`. It stops only the
# daemons it started, by their process ids.
#
# Usage: tests/slurm/run.sh [WHITEN_BINARY]   (default: ${CARGO_TARGET_DIR:-target}/debug/whiten)
#
# Needs root and apt-get (Debian). Without them it prints "SKIPPED slurm test: <why>" and
# exits 0; under CI=true, as root with apt-get, it must pass. Then a failed array task: the
# merge job is cancelled, `whiten merge` names the task id, and submitting again re-runs that
# shard alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

start_time=$(date +%s)
log() { echo "slurm test: $*"; }
skip() {
    echo "SKIPPED slurm test: $*"
    exit 0
}
fail() {
    echo "FAILED slurm test: $*" >&2
    exit 1
}

whiten=${1:-${CARGO_TARGET_DIR:-target}/debug/whiten}
[ -x "$whiten" ] || fail "no whiten binary at $whiten (cargo build -p whiten-cli first)"
whiten=$(readlink -f "$whiten")

[ "$(id -u)" = 0 ] || skip "not root (installing and starting Slurm needs root)"
command -v apt-get >/dev/null || skip "no apt-get (Slurm is installed from Debian's packages)"

# 1. Slurm and munge from Debian's packages.
if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null ||
    ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    log "installing slurm-wlm and munge (apt-get)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        slurm-wlm munge >/dev/null; }; then
        [ "${CI:-}" = true ] && fail "apt-get install slurm-wlm munge failed"
        skip "apt-get install slurm-wlm munge failed"
    fi
fi

# 2. A single-node cluster: controller and node on this host, unless one runs already.
host=$(hostname -s)
started=() # pid files of the daemons this script started
cleanup() {
    local status=$?
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do
        pid=$(cat "${started[i]}" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done
    if [ -n "${work:-}" ] && [ "$status" = 0 ]; then rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT

conf=/etc/slurm/slurm.conf
marker="# Written by whiten's tests/slurm/run.sh"
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
if [ ! -f "$conf" ] || head -1 "$conf" | grep -qF "$marker"; then
    cpus=$(nproc)
    mem=$(($(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 1024))
    cat >"$conf" <<EOF
$marker: a single-node cluster on this host.
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
else
    log "using the existing $conf"
fi

if ! pgrep -x munged >/dev/null; then
    if [ ! -f /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    chown munge:munge /run/munge
    su -s /bin/sh munge -c /usr/sbin/munged
    started+=(/run/munge/munged.pid)
    log "started munged"
fi
if ! pgrep -x slurmctld >/dev/null; then
    slurmctld
    started+=(/run/slurmctld.pid)
    log "started slurmctld"
fi
if ! pgrep -x slurmd >/dev/null; then
    slurmd
    started+=(/run/slurmd.pid)
    log "started slurmd"
fi
for _ in $(seq 60); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null | head -1 || true)
    case "$state" in
    idle* | mixed* | allocated*) break ;;
    down* | drain*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
done
case "$state" in
idle* | mixed* | allocated*) log "node $host is $state" ;;
*) fail "node $host did not come up (state '${state:-none}'); see /var/log/slurm/" ;;
esac

# 3. The README's two lines, on a small survey (3 generated images, short schedules).
work=$(mktemp -d /tmp/whiten-slurm-XXXXXX)
cat >"$work/survey.ron" <<'EOF'
(kind: "image_survey", name: "survey", seed: 3, params: (source: (generated: 3, crop: 64), learning_1d: Robust(max_iterations: 500), learning_2d: Robust(max_iterations: 500)))
EOF
cd "$work"
submitted=$("$whiten" slurm survey.ron --tasks 3 --out results --submit)
echo "$submitted"
array=$(sed -n 's/.*submitted array job \([0-9][0-9]*\).*/\1/p' <<<"$submitted")
merge=$(sed -n 's/.*merge job \([0-9][0-9]*\).*/\1/p' <<<"$submitted")
[ -n "$array" ] && [ -n "$merge" ] || fail "no job ids in the output of whiten slurm --submit"
squeue --me # the README's second line

# 4. Wait for the array and the merge (accounting is off: poll squeue), at most 5 minutes.
wait_for() {
    for _ in $(seq 300); do
        [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
        sleep 1
    done
    squeue
    scancel ${1//,/ } || true
    fail "jobs $1 did not finish within 5 minutes"
}
wait_for "$array,$merge"
logs=results/survey.slurm-logs
for f in "$logs"/*.out; do
    echo "--- $f"
    cat "$f"
done
[ -f results/survey/manifest.json ] || fail "the merge job wrote no results/survey/ (logs above)"
grep -q "3 tasks from 3 shards" "$logs/merge.out" || fail "the merge log does not count 3 tasks from 3 shards"
for i in 0 1 2; do
    grep -q "shard $i/3" "$logs/shard-$i.out" || fail "array task $i's log does not name its shard"
done

# 5. Byte-identical to one unsharded run.
"$whiten" run survey.ron --out single >/dev/null
diff -r single/survey results/survey || fail "the merged folder differs from the unsharded run's"
files=$(find results/survey -type f | wc -l)
log "array job $array (3 shards) and merge job $merge (afterok): results/survey/ ($files files) is byte-identical to the unsharded run"

# 6. A failed array task: array task 1 fails once (a wrapper in $WHITEN, which the jobs
# inherit), Slurm cancels the merge, the merge by hand names task id 1, and submitting again
# re-runs shard 1 alone (0 and 2 are up to date) and merges.
cat >wrapper.sh <<WRAPPER
#!/bin/bash
if [ "\${SLURM_ARRAY_TASK_ID:-}" = 1 ] && [ ! -f "$work/let-1-pass" ]; then
    echo "array task 1 fails on purpose" >&2
    exit 3
fi
exec "$whiten" "\$@"
WRAPPER
chmod +x wrapper.sh
rm -rf results
submit() {
    submitted=$(WHITEN="$work/wrapper.sh" "$whiten" slurm survey.ron --tasks 3 --out results --submit)
    echo "$submitted"
    array=$(sed -n 's/.*submitted array job \([0-9][0-9]*\).*/\1/p' <<<"$submitted")
    merge=$(sed -n 's/.*merge job \([0-9][0-9]*\).*/\1/p' <<<"$submitted")
    wait_for "$array,$merge"
}
submit
[ ! -e results/survey ] || fail "a merge ran although array task 1 failed"
if "$whiten" merge results results/survey.shard-*-of-3 >merge-by-hand.out 2>&1; then
    fail "the merge of shards 0 and 2 succeeded"
fi
cat merge-by-hand.out
grep -q "missing shard 1/3 (array task id 1)" merge-by-hand.out ||
    fail "the merge does not name the failed array task"
[ ! -e results/survey ] || fail "a refused merge wrote results/survey/"
touch let-1-pass
submit
for i in 0 2; do
    grep -q "skipped survey shard $i/3 (up to date" "$logs/shard-$i.out" ||
        fail "re-submitted shard $i was not skipped as up to date"
done
grep -q "shard 1/3: 1 of 3 tasks" "$logs/shard-1.out" || fail "shard 1 did not re-run"
diff -r single/survey results/survey || fail "after re-submitting, the merged folder differs"
log "failed array task 1: merge job cancelled, whiten merge names task id 1; submitted again: shards 0 and 2 skipped, 1 ran, merged byte-identical"
echo "PASSED slurm test in $(($(date +%s) - start_time)) s"
