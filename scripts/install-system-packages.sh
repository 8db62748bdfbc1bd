#!/usr/bin/env bash
# Installs the Debian packages the tests drive (headless Chromium and what Playwright's driver links against,
# espeak-ng for the sandbox's spoken answers, and the real servers below), skipping apt when all are there.
set -euo pipefail
packages=(chromium libatomic1 espeak-ng)
# Real servers for the deployment tests (tests/test_deploy_nginx.py, test_shared_instances.py, e2e/test_turn.py);
# the tests start and stop their own copies on 127.0.0.1, so none of them may run as a system service here.
packages+=(nginx-light coturn redis-server postgresql openssl)
# Node.js runs ESLint over static/js (package.json); where the nodejs package brings no npm of its own, Debian's npm.
packages+=(nodejs)
# systemd-analyze checks deploy/voice-console.service (tests/test_deploy_files.py); no service is started.
packages+=(systemd)
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
# policy-rc.d answering 101 stops Debian's maintainer scripts from starting nginx, coturn, Redis and
# PostgreSQL (on a machine without systemd they would otherwise be started by the init scripts).
own_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  own_policy=1
fi
status=0
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
[ -n "$own_policy" ] && $sudo rm -f /usr/sbin/policy-rc.d
exit $status
