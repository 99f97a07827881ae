#!/bin/sh
# Makes the Python environment the tests use for fixtures and reference
# files: Debian's python3 with its torch and torchvision (CPU builds), and from
# the package index onnx (1.23.2, the newest release, whose node tests reach
# opset 28, the newest illume imports), onnxruntime (1.32.0, the first to load
# opsets 27 and 28 and the IR version 14 onnx 1.23 writes), captum and zennit.
# Usage: setup_python.sh VENV_DIR. Reuses an existing environment.
set -eu
venv="$1"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import onnx, onnxruntime, torch, torchvision, captum, zennit; assert (onnx.__version__, onnxruntime.__version__) == ('1.23.2', '1.32.0')" 2>/dev/null; then
    exit 0
fi
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "numpy==1.26.4" "onnx==1.23.2" "onnxruntime==1.32.0" tqdm matplotlib
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "captum==0.7.0" "zennit==0.5.1"
"$venv/bin/python" -c "import onnx, onnxruntime, torch, torchvision, captum, zennit"
