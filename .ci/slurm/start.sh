#!/usr/bin/env bash
# A one-node SLURM cluster on localhost for the integration test (tests/workflow/test_slurm.py).
#   .ci/slurm/start.sh [STATE_DIR]     install (Debian/Ubuntu, as root) if needed, configure, start
#   .ci/slurm/stop.sh  [STATE_DIR]     stop what this started (by pid file)
# Everything lives under STATE_DIR (default /tmp/ftdojo-slurm): slurm.conf, gres.conf, the munge
# socket, spool, state, logs and pid files, so that it never touches /etc/slurm or another cluster.
# Clients find it through SLURM_CONF (printed last: `eval "$(.ci/slurm/start.sh)"` exports it).
# No accounting daemon: `sacct` cannot see jobs, so Snakemake must poll with squeue
# (slurm-status-command: squeue); MinJobAge=600 keeps finished jobs visible to squeue.
# A fake GPU is declared as GRES (File=/dev/null) so that --gpus/--gres requests are scheduled.
set -euo pipefail
STATE=${1:-/tmp/ftdojo-slurm}
PORT=${FTDOJO_SLURM_PORT:-16817}

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [ "$(id -u)" != 0 ]; then echo "start.sh: slurm-wlm and munge are not installed (needs root)" >&2; exit 3; fi
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2
fi
if [ "$(id -u)" != 0 ]; then echo "start.sh: must run as root (slurmd runs jobs as their users)" >&2; exit 3; fi

mkdir -p "$STATE"/{spool,state,log,munge}
NODE=$(hostname -s)
CPUS=8            # more than the machine may have (config_overrides): grouped jobs still fit
cat > "$STATE/slurm.conf" <<CONF
ClusterName=ftdojo
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=64000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
printf "NodeName=%s Name=gpu File=/dev/null\nNodeName=%s Name=gpu File=/dev/zero\n" "$NODE" "$NODE" > "$STATE/gres.conf"
export SLURM_CONF="$STATE/slurm.conf"

# munge: its own socket and pid file; the key the package created (or a fresh one)
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1k count=1 2>/dev/null; chmod 400 /etc/munge/munge.key; }
chown munge:munge /etc/munge/munge.key "$STATE/munge"
if ! [ -s "$STATE/munged.pid" ] || ! kill -0 "$(cat "$STATE/munged.pid")" 2>/dev/null; then
  runuser -u munge -- munged --socket="$STATE/munge/munge.socket" --pid-file="$STATE/munge/munged.pid" \
    --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed" >&2
  for _ in $(seq 50); do [ -s "$STATE/munge/munged.pid" ] && break; sleep 0.1; done
  cp "$STATE/munge/munged.pid" "$STATE/munged.pid"
fi

slurmctld -f "$SLURM_CONF" -i >&2
slurmd -f "$SLURM_CONF" -N "$NODE" >&2
for _ in $(seq 100); do
  state=$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)
  case "$state" in idle*|mix*|alloc*) break ;; esac
  sleep 0.2
done
case "$state" in idle*|mix*|alloc*) ;; *) echo "start.sh: node not idle (state '$state'); see $STATE/log" >&2; exit 4 ;; esac
echo "export SLURM_CONF=$SLURM_CONF"
