#!/bin/sh
# deps.sh - installs what Trellis needs to build, test and run, from
# Debian's packages only. Does nothing when everything is there already.
set -eu

PACKAGES="build-essential cmake pkg-config libzmq3-dev libjansson-dev
libssl-dev uuid-dev libcmocka-dev liblua5.4-dev lua5.4 libsqlite3-dev
libxgboost-dev liblinear-dev python3-xgboost python3-numpy
libpython3-dev python3-pandas python3-jedi python3-matplotlib
python3-jupyter-client python3-jupyter-kernel-test jupyter-client
jupyter-nbconvert jupyter-console python3-ipykernel python3-pexpect
xpython tmux valgrind clang libclang-rt-14-dev jupyter-notebook chromium
fonts-liberation"
# The browser test (tests/browser) runs Playwright under Node: Debian's
# nodejs and npm only when no node is installed (CI images bring node 20).
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "Installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
