#!/usr/bin/env bash
# install-chromium.sh installs Chromium for the demo's browser test (examples/demo) when it is
# missing. It uses the distribution's package, so it needs root (CI runs as root) or sudo.
set -euo pipefail

for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null; then
    echo "install-chromium: $(command -v "$b") is already installed"
    exit 0
  fi
done

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-chromium: run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium
echo "install-chromium: installed $(command -v chromium)"
