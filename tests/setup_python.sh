#!/bin/sh
# Makes the Python environment the tests use for fixtures and reference
# files: Debian's python3 with its torch and torchvision (CPU builds), and from
# the package index onnx (1.16.2: the last release whose node tests stay
# within opsets 7 to 21, the range illume supports), onnxruntime, captum and
# zennit. Usage: setup_python.sh VENV_DIR. Reuses an existing environment.
set -eu
venv="$1"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import onnx, onnxruntime, torch, torchvision, captum, zennit; assert onnx.__version__ == '1.16.2'" 2>/dev/null; then
    exit 0
fi
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "numpy==1.26.4" "onnx==1.16.2" "onnxruntime==1.31.1" tqdm matplotlib
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "captum==0.7.0" "zennit==0.5.1"
"$venv/bin/python" -c "import onnx, onnxruntime, torch, torchvision, captum, zennit"
