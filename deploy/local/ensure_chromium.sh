#!/usr/bin/env bash
# The browser tests (tests/browser) drive the distribution's Chromium through its ChromeDriver.
# Installs both from Debian's packages where they are missing (as root, or with sudo); does
# nothing where they are present. Never downloads a browser from anywhere else.
set -euo pipefail
if [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && [ -x "${CHROMEDRIVER_PATH:-/usr/bin/chromedriver}" ]; then
  exit 0
fi
echo "installo chromium e chromium-driver dai pacchetti Debian (test del browser)..."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null \
  || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; }
