#!/usr/bin/env bash
# Debian's Chromium for the browser tests (driven by Playwright through its executable path; no browser download).
# Does nothing when it is already installed.
set -euo pipefail
command -v chromium >/dev/null && exit 0
echo "Installing Debian's chromium for the browser tests..." >&2
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null
