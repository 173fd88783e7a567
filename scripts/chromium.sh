#!/usr/bin/env bash
# Chromium for the console's end-to-end tests, from the OS packages (never a browser download): installed with apt-get
# only when /usr/bin/chromium is missing. Prints the browser's version.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "chromium: $CHROMIUM is missing; installing the OS package (apt-get)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null
