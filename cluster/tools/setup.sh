#!/usr/bin/env bash
# Installs the Debian packages that the local environment needs beside the
# tools build.sh builds: runc (the real node's OCI runtime), debootstrap
# (the web desktop's root file system) and Chromium with a font (the
# end-to-end test's screenshot of a desktop). apt-get needs root.
set -euo pipefail

pkgs=(runc debootstrap chromium fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} == 0 ]]; then
  echo "setup: Debian packages ${pkgs[*]} are installed"
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  echo "setup: installing ${missing[*]} needs root (apt-get)" >&2
  exit 1
fi
echo "setup: apt-get install ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
