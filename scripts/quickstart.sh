#!/bin/sh
# quickstart.sh - the first command to run: installs what is missing (Debian
# packages only), builds Trellis into build/, installs the kernelspec
# "trellis" for the current user and executes examples/quickstart.ipynb
# headless, rendering it to HTML. Prints the rendered file's path at the end.
# What it registers goes into the user's registry, as opening the notebook
# in JupyterLab would.
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

echo "== run examples/quickstart.ipynb"
# Debian's Jupyter (the python3 first on PATH may be another interpreter).
/usr/bin/jupyter-nbconvert --to html --execute examples/quickstart.ipynb \
    --output-dir build/examples

echo "Rendered: $root/build/examples/quickstart.html"
