#!/usr/bin/env bash
# Prepares a Debian machine for dicom-import and its tests: the DICOM tools and docker-compose
# from apt, the npm dependencies, the build, and the Temporal CLI (scripts/install-temporal.sh).
# Safe to run again: apt runs only for missing packages, npm only when the lockfile changed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# dcmtk, dicom3tools, libgdcm-tools and orthanc are the DICOM tools of the project and its tests.
# python3-venv creates the virtual environment of the Temporal CLI.
readonly APT_PACKAGES=(
  dcmtk dicom3tools libgdcm-tools orthanc docker-compose python3 python3-venv chromium
)

log() { echo "setup: $*" >&2; }

install_apt_packages() {
  local missing=() package
  for package in "${APT_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    log "apt packages already installed"
    return
  fi

  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then sudo=(sudo); fi
  log "installing ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

# npm writes node_modules/.package-lock.json after each install. When that file is newer than
# package.json and package-lock.json, the installed dependencies are current.
npm_dependencies_current() {
  local installed=node_modules/.package-lock.json
  [[ -f "$installed" && "$installed" -nt package.json ]] || return 1
  [[ ! -f package-lock.json || "$installed" -nt package-lock.json ]]
}

install_npm_dependencies() {
  if npm_dependencies_current; then
    log "npm dependencies already installed"
  elif [[ -f package-lock.json ]]; then
    log "npm ci"
    npm ci
  else
    log "npm install (no package-lock.json)"
    npm install
  fi
}

install_apt_packages
install_npm_dependencies
log "npm run build"
npm run build
log "installing the Temporal CLI"
bash scripts/install-temporal.sh >/dev/null
log "done"
