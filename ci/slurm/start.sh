#!/usr/bin/env bash
# A real single-node SLURM on this machine, for tests/test_slurm.py: installs Debian's
# slurm-wlm and munge, writes a slurm.conf sized from `nproc` and the memory, starts
# munged, slurmctld and slurmd, and waits until `sinfo` shows the node idle.
#
# Run as root on a fresh Debian (CI). The pids of the daemons this script starts are
# written to $STATE/pids so that ci/slurm/stop.sh stops exactly those and nothing else;
# a munged that was already running is used, not restarted, and left alone.
#
# No accounting daemon (slurmdbd) on purpose: `AccountingStorageType=none` plus a
# long MinJobAge keeps finished jobs in slurmctld's memory, so `squeue --states=all`
# (the status command our profile uses) and `scontrol show job` see every job of a run.
set -euo pipefail

STATE=${OPIOIDSOCIAL_SLURM_STATE:-/run/opioidsocial-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by opioidsocial ci/slurm/start.sh"

if [[ $(id -u) -ne 0 ]]; then
  echo "ci/slurm/start.sh: run as root (it installs packages and starts daemons)" >&2
  exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101: the packages must not start their own daemons (we start them
  # below and keep their pids); an existing policy is left as it is.
  own_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
  if [[ -n $own_policy ]]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if [[ -e $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
  echo "ci/slurm/start.sh: $CONF exists and is not ours; refusing to overwrite a real cluster's configuration" >&2
  exit 1
fi

if [[ -s $STATE/pids ]]; then
  echo "ci/slurm/start.sh: daemons already started (pids in $STATE/pids); run ci/slurm/stop.sh first" >&2
  exit 1
fi
mkdir -p "$STATE" /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
: >"$STATE/pids"

# munge: directories owned by the munge user, a key, the daemon run as that user.
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  dd if=/dev/urandom bs=1 count=1024 status=none >/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  su -s /bin/sh munge -c "/usr/sbin/munged --force"
  for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
  echo "munged $(cat /run/munge/munged.pid)" >>"$STATE/pids"
fi
munge -n | unmunge >/dev/null

# Size the node from what this machine has: all CPUs `nproc` reports and 90 % of the
# memory (the smaller of the machine's and this container's cgroup limit), so slurmd
# never finds less than configured.
cpus=$(nproc)
mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
mem_mb=$((mem_kb / 1024))
if [[ -r /sys/fs/cgroup/memory.max ]] && [[ $(cat /sys/fs/cgroup/memory.max) != max ]]; then
  cg_mb=$(($(cat /sys/fs/cgroup/memory.max) / 1024 / 1024))
  ((cg_mb < mem_mb)) && mem_mb=$cg_mb
fi
real_mb=$((mem_mb * 9 / 10))
node=$(hostname -s)

cat >"$CONF" <<EOF
$MARK
ClusterName=opioidsocial-ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# No cgroups in CI containers: track processes through /proc, bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Finished jobs stay in slurmctld for a day: squeue --states=all shows them.
MinJobAge=86400
ReturnToService=2
# Trust this file's CPUs and memory rather than the probed hardware.
SlurmdParameters=config_overrides
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mb State=UNKNOWN
PartitionName=ci Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

# -c: a clean start, without jobs saved by an earlier run of this script.
slurmctld -c
for _ in $(seq 100); do [[ -s $STATE/slurmctld.pid ]] && break; sleep 0.1; done
echo "slurmctld $(cat "$STATE/slurmctld.pid")" >>"$STATE/pids"
slurmd -N "$node"
for _ in $(seq 100); do [[ -s $STATE/slurmd.pid ]] && break; sleep 0.1; done
echo "slurmd $(cat "$STATE/slurmd.pid")" >>"$STATE/pids"

for _ in $(seq 120); do
  if sinfo --noheader --states=idle --format=%N 2>/dev/null | grep -qx "$node"; then
    echo "SLURM is up: node $node idle with $cpus CPUs and ${real_mb} MB; pids in $STATE/pids"
    exit 0
  fi
  sleep 0.5
done
echo "ci/slurm/start.sh: node $node did not become idle within 60 s:" >&2
sinfo -N -l >&2 || true
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
