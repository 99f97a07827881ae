#!/bin/sh
# Makes the Python environment of the TensorFlow/Keras and JAX/Flax export
# tests (tests/frameworks): Debian's python3 without its system packages, and
# from the package index tensorflow-cpu, tf2onnx, jax, jaxlib, flax, jax2onnx,
# onnxruntime and onnx at the versions below (pip resolves their other
# dependencies; these pins install together). Usage: setup_frameworks.sh
# VENV_DIR. Reuses an existing environment that has these versions.
set -eu
venv="$1"
pins="tensorflow-cpu==2.21.0 tf2onnx==1.17.0 jax==0.10.2 jaxlib==0.10.2 flax==0.12.8 jax2onnx==0.17.1 onnxruntime==1.32.0 onnx==1.23.2"
check="
import importlib.metadata as metadata, sys
wrong = [pin for pin in sys.argv[1:] if metadata.version(pin.split('==')[0]) != pin.split('==')[1]]
sys.exit('not installed: ' + ' '.join(wrong) if wrong else 0)
"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" $pins 2>/dev/null; then
    exit 0
fi
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check $pins
"$venv/bin/python" -c "$check" $pins
"$venv/bin/python" -c "import tensorflow, tf2onnx, jax, flax.nnx, jax2onnx, onnx, onnxruntime"
