#!/bin/sh
# One-shot setup of the Temporal namespace Relay uses (the `temporal-setup` compose service,
# image temporalio/admin-tools). Idempotent: run it again after an upgrade or a restore.
#
#   setup.sh Name=Type [Name=Type ...]
#
# 1. waits until the Temporal server is SERVING;
# 2. creates the namespace $NAMESPACE (retention $NAMESPACE_RETENTION) unless it exists;
# 3. registers each search attribute that is missing (docker-compose.yml passes Relay's list,
#    which tests/test_deploy.py keeps equal to app/temporal.py SEARCH_ATTRIBUTES), and fails
#    if one exists with another type;
# 4. waits until the frontend accepts a visibility query naming all of them, so the API and
#    workers (which start after this service exits 0) never see "not a search attribute".
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${NAMESPACE:-default}"
RETENTION="${NAMESPACE_RETENTION:-7d}"
TRIES="${SETUP_TRIES:-90}"   # x 2 s

if [ "$#" -eq 0 ]; then
  echo "usage: $0 Name=Type [Name=Type ...]" >&2
  exit 2
fi

log() { echo "temporal-setup: $*"; }

retry() {  # retry DESCRIPTION COMMAND... : run COMMAND until it succeeds, at most $TRIES times
  what=$1; shift
  n=0
  until "$@" >/dev/null 2>&1; do
    n=$((n + 1))
    if [ "$n" -ge "$TRIES" ]; then
      log "gave up waiting for $what" >&2
      exit 1
    fi
    sleep 2
  done
}

serving() { temporal operator cluster health --address "$ADDRESS" | grep -q SERVING; }
namespace_exists() { temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS"; }
attributes() { temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS"; }

log "waiting for $ADDRESS"
retry "the Temporal server at $ADDRESS" serving

if namespace_exists >/dev/null 2>&1; then
  log "namespace $NAMESPACE exists"
else
  log "creating namespace $NAMESPACE (retention $RETENTION)"
  # auto-setup may be creating `default` at the same moment: a failed create is fine if it now exists.
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
    --description "Relay workflow runs" --address "$ADDRESS" || true
  retry "namespace $NAMESPACE" namespace_exists
fi
retry "the search attributes of $NAMESPACE" attributes

query=""
for pair in "$@"; do
  name=${pair%%=*}
  type=${pair#*=}
  existing=$(attributes | grep -w -- "$name" || true)
  if [ -z "$existing" ]; then
    log "registering $name ($type)"
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type" \
      --address "$ADDRESS"
  elif echo "$existing" | grep -qi -- "$type"; then
    log "$name ($type) already registered"
  else
    log "$name is registered with another type: $existing; Relay needs $type" >&2
    exit 1
  fi
  case "$type" in
    Int) clause="$name = 0" ;;
    *) clause="$name = 'relay-setup-probe'" ;;
  esac
  query="${query:+$query AND }$clause"
done

probe() { temporal workflow list --namespace "$NAMESPACE" --address "$ADDRESS" --query "$query" --limit 1; }
retry "the search attributes to be queryable" probe
log "done: namespace $NAMESPACE has $*"
