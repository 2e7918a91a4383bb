#!/bin/sh
# quickstart.sh - the first command to run: installs what is missing (Debian
# packages only), builds Trellis into build/, installs the kernelspec
# "trellis" for the current user and executes examples/demo.ipynb headless,
# rendering it to HTML. Prints the rendered file's path at the end.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)

sh scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

echo "== install the kernelspec (current user)"
build/trellis install --user

echo "== run examples/demo.ipynb"
# Debian's Jupyter (the python3 first on PATH may be another interpreter).
/usr/bin/jupyter-nbconvert --to html --execute examples/demo.ipynb \
    --output-dir build/demo

echo "Rendered: $root/build/demo/demo.html"
