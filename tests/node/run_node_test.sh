#!/bin/sh
# Runs one ONNX node test from the onnx package installed in the test
# environment. Usage: run_node_test.sh PYTHON NODE_TEST TEST_NAME
set -eu
python="$1"
runner="$2"
name="$3"
onnx_dir=$("$python" -c "import onnx, os; print(os.path.dirname(onnx.__file__))")
exec "$runner" "$onnx_dir/backend/test/data/node/$name"
