#!/usr/bin/env bash
# Stops the daemons ci/slurm/start.sh started (slurmd, slurmctld, and munged if it
# started that one), by the pids it recorded, newest first; nothing else is touched.
set -euo pipefail

STATE=${OPIOIDSOCIAL_SLURM_STATE:-/run/opioidsocial-slurm}
[[ -s $STATE/pids ]] || { echo "ci/slurm/stop.sh: no daemons recorded in $STATE/pids"; exit 0; }

tac "$STATE/pids" | while read -r name pid; do
  # The pid must still belong to the daemon we started (not a recycled pid).
  if [[ -r /proc/$pid/comm ]] && [[ $(cat "/proc/$pid/comm") == "$name" ]]; then
    kill "$pid"
    for _ in $(seq 100); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
    echo "stopped $name ($pid)"
  fi
done
: >"$STATE/pids"
