#!/usr/bin/env bash
# Activate one release on this host; roll back if it does not come up ready.
#
#   RELEASE=20250101T120000Z-abc1234 ARTIFACT=/tmp/release.tar.gz bash ec2/release.sh
#
# Unpacks ARTIFACT into $SNAPBOARD_ROOT/releases/$RELEASE, installs its locked
# dependencies there (requirements-ec2.lock), points the `current` symlink at it,
# restarts the service and waits for /ready. On failure `current` goes back to
# the previous release, the service restarts on it, and the script exits
# non-zero. Keeps the newest $KEEP releases. ec2/deploy.py runs this through SSM; the instance's first
# boot runs it too. The host commands are variables so tests can stand in for
# systemd and the network.
set -euo pipefail
# The service runs as the unprivileged `snapboard` user and must read the release and
# its virtualenv, whatever umask the caller has (first-boot user data runs with 077).
umask 022

: "${RELEASE:?RELEASE (the release id) is required}"
: "${ARTIFACT:?ARTIFACT (the path of the release tarball) is required}"
ROOT=${SNAPBOARD_ROOT:-/opt/snapboard}
KEEP=${KEEP:-5}
PYTHON=${PYTHON:-python3.11}
# Exactly the lock's versions, each checked against its hash: what CI tested, not whatever
# the index serves today for the transitive dependencies.
INSTALL_CMD=${INSTALL_CMD:-'"$PYTHON" -m venv .venv && .venv/bin/pip install --quiet --no-input --require-hashes -r requirements-ec2.lock'}
RESTART_CMD=${RESTART_CMD:-restart_services}
HEALTH_CMD=${HEALTH_CMD:-'curl --fail --silent --max-time 3 --unix-socket /run/snapboard/app.sock http://localhost/ready'}
# INDEXES=1 (ec2/deploy.py sets it on the first host of a rollout): create the MongoDB
# indexes with the new release before switching to it. This host reaches Atlas; the
# GitHub runner that starts the deploy does not.
INDEXES=${INDEXES:-0}
EDGE_FILE=${EDGE_FILE:-/etc/snapboard/edge}
ENV_FILE=${ENV_FILE:-/etc/snapboard/env}
INDEXES_CMD=${INDEXES_CMD:-'with_service_env .venv/bin/python -m chalicelib.manage indexes'}
# REUSE=1 (ec2/deploy.py's rollback, and its catch-up of hosts that booted during a
# rollout): a release already unpacked on this host is switched to as it is.
REUSE=${REUSE:-0}
HEALTH_TRIES=${HEALTH_TRIES:-30}
HEALTH_INTERVAL=${HEALTH_INTERVAL:-1}

releases="$ROOT/releases"
new="$releases/$RELEASE"

log() { echo "release $RELEASE: $*" >&2; }

restart_services() {
  local unit=$ROOT/current/ec2
  install -m 0644 "$unit/snapboard.service" "$unit/snapboard-sweep.service" \
    "$unit/snapboard-sweep.timer" /etc/systemd/system/
  # The stack's shape, written by the user data: `alb` behind the load balancer, else
  # the single instance terminating TLS itself.
  local site=nginx.conf
  if [ "$(cat "$EDGE_FILE" 2>/dev/null || true)" = alb ]; then
    site=nginx-alb.conf
  fi
  install -m 0644 "$unit/$site" /etc/nginx/conf.d/snapboard.conf
  install -m 0644 "$unit/nginx-proxy.conf" /etc/nginx/snapboard-proxy.conf
  install -m 0644 "$unit/nginx-errors.conf" /etc/nginx/snapboard-errors.conf
  systemctl daemon-reload
  systemctl enable --quiet snapboard.service snapboard-sweep.timer
  systemctl restart snapboard.service
  systemctl start snapboard-sweep.timer
  nginx -t -q && systemctl reload-or-restart nginx
}

with_service_env() {
  # The service's environment as systemd's EnvironmentFile= gives it: NAME=value lines,
  # taken literally (never run through the shell).
  (
    while IFS= read -r line || [ -n "$line" ]; do
      case "$line" in '' | '#'*) continue ;; esac
      export "${line%%=*}=${line#*=}"
    done <"$ENV_FILE"
    exec "$@"
  )
}

point_current_at() {
  # A new link renamed over the old one: `current` is never missing, not even for an instant.
  ln -sfn "$1" "$ROOT/current.next"
  mv -T "$ROOT/current.next" "$ROOT/current"
}

healthy() {
  local try
  for ((try = 1; try <= HEALTH_TRIES; try++)); do
    if (eval "$HEALTH_CMD") >/dev/null 2>&1; then
      return 0
    fi
    sleep "$HEALTH_INTERVAL"
  done
  return 1
}

# Only a release unpacked by this run is removed when it fails: a reused one is some
# host's previous release, the one a rollback goes back to.
fresh=1
if [ -e "$new" ]; then
  if [ "$REUSE" != 1 ]; then
    log "already exists; refusing to overwrite it"
    exit 1
  fi
  log "already unpacked; switching to it as it is"
  fresh=0
fi
mkdir -p "$releases"
previous=$(readlink "$ROOT/current" || true)

discard_new() {
  if [ "$fresh" = 1 ]; then rm -rf "$new"; fi
}

if [ "$fresh" = 1 ]; then
  log "unpacking into $new"
  mkdir "$new"
  # In place, not renamed afterwards: a virtualenv records its own absolute path.
  if ! (tar -xzf "$ARTIFACT" -C "$new" --no-same-owner --no-same-permissions && cd "$new" && eval "$INSTALL_CMD"); then
    log "could not unpack or install; current is untouched"
    discard_new
    exit 1
  fi
fi

if [ "$INDEXES" = 1 ]; then
  log "creating the MongoDB indexes"
  if ! (cd "$new" && eval "$INDEXES_CMD"); then
    log "could not create the indexes; current is untouched"
    discard_new
    exit 1
  fi
fi

log "switching current from ${previous:-nothing}"
point_current_at "$new"
if (eval "$RESTART_CMD") && healthy; then
  log "ready"
else
  log "not ready; rolling back to ${previous:-nothing}"
  if [ -n "$previous" ]; then
    point_current_at "$previous"
    (eval "$RESTART_CMD") || log "restarting the previous release failed too"
  else
    rm -f "$ROOT/current"
  fi
  discard_new
  exit 1
fi

# Oldest first (ids start with a UTC timestamp); never the one just activated.
mapfile -t all < <(find "$releases" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
for ((i = 0; i < ${#all[@]} - KEEP; i++)); do
  if [ "$releases/${all[i]}" != "$new" ]; then
    log "removing old release ${all[i]}"
    rm -rf "${releases:?}/${all[i]}"
  fi
done
