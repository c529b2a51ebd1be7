#!/usr/bin/env bash
# Stop the one-node SLURM cluster started by .ci/slurm/start.sh (by pid file; nothing else).
set -uo pipefail
STATE=${1:-/tmp/ftdojo-slurm}
for f in slurmd slurmctld munged; do
  pid_file="$STATE/$f.pid"
  [ -s "$pid_file" ] || continue
  pid=$(cat "$pid_file")
  kill "$pid" 2>/dev/null && for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pid_file"
done
if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$STATE/slurm.conf" ]; then rm -f /etc/slurm/slurm.conf; fi
if [ -s "$STATE/munge_dir" ]; then rm -rf "$(cat "$STATE/munge_dir")"; rm -f "$STATE/munge_dir"; fi
exit 0
