#!/usr/bin/env bash
# A one-node SLURM cluster on localhost for the integration test (tests/workflow/test_slurm.py).
#   .ci/slurm/start.sh [STATE_DIR]     install (Debian/Ubuntu, as root) if needed, configure, start
#   .ci/slurm/stop.sh  [STATE_DIR]     stop what this started (by pid file)
# Everything lives under STATE_DIR (default /tmp/ftdojo-slurm): slurm.conf, gres.conf, spool, state,
# logs and pid files (munged's socket in a /tmp folder of its own), so that it never touches /etc/slurm,
# the system's munged or another cluster.
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

mkdir -p "$STATE"/{spool,state,log}
# munged runs as the munge user, which may not reach STATE (e.g. under a 0700 pytest folder): its socket,
# pid and log live in a folder of their own under /tmp, recorded in STATE/munge_dir
if [ -s "$STATE/munge_dir" ]; then MUNGE_DIR=$(cat "$STATE/munge_dir"); else
  MUNGE_DIR=$(mktemp -d /tmp/ftdojo-munge.XXXXXX); echo "$MUNGE_DIR" > "$STATE/munge_dir"; fi
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
AuthInfo=socket=$MUNGE_DIR/munge.socket
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
# The SLURM executor plugin's job steps run `srun` with every SLURM_* variable but the job's identity
# removed, SLURM_CONF included, so srun reads the compiled-in /etc/slurm/slurm.conf: make it a link to
# this cluster's. Only a missing file, a dangling link or a link to another ftdojo cluster is replaced;
# stop.sh removes the link.
touch "$STATE/.ftdojo-slurm"
SYS_CONF=/etc/slurm/slurm.conf
if [ -e "$SYS_CONF" ] || [ -L "$SYS_CONF" ]; then
  if ! [ -L "$SYS_CONF" ] || { [ -e "$SYS_CONF" ] && ! [ -e "$(dirname "$(readlink "$SYS_CONF")")/.ftdojo-slurm" ]; }; then
    echo "start.sh: $SYS_CONF belongs to another SLURM; job steps would use it (remove it first)" >&2
    exit 5
  fi
fi
mkdir -p /etc/slurm
ln -sfn "$STATE/slurm.conf" "$SYS_CONF"
printf "NodeName=%s Name=gpu File=/dev/null\nNodeName=%s Name=gpu File=/dev/zero\n" "$NODE" "$NODE" > "$STATE/gres.conf"
export SLURM_CONF="$STATE/slurm.conf"

# munge: its own socket and pid file; the key the package created (or a fresh one)
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1k count=1 2>/dev/null; chmod 400 /etc/munge/munge.key; }
chown munge:munge /etc/munge/munge.key "$MUNGE_DIR"
chmod 755 "$MUNGE_DIR"
if ! [ -s "$STATE/munged.pid" ] || ! kill -0 "$(cat "$STATE/munged.pid")" 2>/dev/null; then
  runuser -u munge -- munged --socket="$MUNGE_DIR/munge.socket" --pid-file="$MUNGE_DIR/munged.pid" \
    --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed" >&2
  for _ in $(seq 50); do [ -s "$MUNGE_DIR/munged.pid" ] && break; sleep 0.1; done
  cp "$MUNGE_DIR/munged.pid" "$STATE/munged.pid"
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
