#!/bin/sh
# with_kernelspec.sh TRELLIS_BINARY COMMAND... - runs COMMAND with the
# Trellis kernelspec installed into a fresh temporary JUPYTER_PATH and a
# throw-away history database, so tests never touch the user's setup.
set -eu
bin=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/trellis-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$bin" install --prefix "$tmp/prefix" >/dev/null
export JUPYTER_PATH="$tmp/prefix/share/jupyter"
export JUPYTER_DATA_DIR="$tmp/data"
export JUPYTER_RUNTIME_DIR="$tmp/runtime"
export JUPYTER_CONFIG_DIR="$tmp/config"
export IPYTHONDIR="$tmp/ipython"
export TRELLIS_HISTORY="$tmp/history.sqlite"
export TRELLIS_TEST_TMP="$tmp"
"$@"
