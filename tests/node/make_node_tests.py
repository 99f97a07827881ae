"""Writes the ONNX backend node tests of the installed onnx package as
folders: NAME/model.onnx and NAME/test_data_set_K/{input,output}_J.pb.

The onnx wheels on the package index (1.23.2 among them) ship the node test
cases as Python code but not the folders made from them, so this makes the
folders from that code. The global numpy generator is seeded, so that the
cases that draw random inputs draw the same ones at every run. A case whose
inputs or outputs are not all tensors (sequences, optionals, maps) gets its
model alone: illume reads tensors only, and the manifest skips those tests.

Usage: make_node_tests.py OUT_DIR
Does nothing when OUT_DIR was made by the same onnx version.
"""
import os
import shutil
import sys

import numpy
import onnx
from onnx import numpy_helper

VERSION_FILE = "onnx-version"


def tensor_proto(value, name):
    if isinstance(value, onnx.TensorProto):
        return value
    if not isinstance(value, (numpy.ndarray, numpy.generic)):
        return None
    return numpy_helper.from_array(numpy.asarray(value), name)


def write_case(case, directory):
    shutil.rmtree(directory, ignore_errors=True)  # some onnx versions name two cases alike: the later one stays
    os.makedirs(directory)
    with open(os.path.join(directory, "model.onnx"), "wb") as file:
        file.write(case.model.SerializeToString())
    graph = case.model.graph
    for number, (inputs, outputs) in enumerate(case.data_sets):
        sides = [("input", inputs, graph.input), ("output", outputs, graph.output)]
        protos = [[tensor_proto(value, info.name) for value, info in zip(values, infos)] for _, values, infos in sides]
        if any(proto is None for side in protos for proto in side):
            continue
        data_set = os.path.join(directory, "test_data_set_%d" % number)
        os.makedirs(data_set)
        for (prefix, _, _), side in zip(sides, protos):
            for index, proto in enumerate(side):
                with open(os.path.join(data_set, "%s_%d.pb" % (prefix, index)), "wb") as file:
                    file.write(proto.SerializeToString())


def main():
    out_dir = sys.argv[1]
    version_path = os.path.join(out_dir, VERSION_FILE)
    if os.path.exists(version_path):
        with open(version_path, encoding="utf-8") as file:
            if file.read().strip() == onnx.__version__:
                return 0
    numpy.random.seed(0)
    import onnx.backend.test.case.node as node_cases  # draws random inputs as it imports

    partial = out_dir + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    for case in node_cases.collect_testcases(None):  # None: the cases of every op
        write_case(case, os.path.join(partial, case.name))
    with open(os.path.join(partial, VERSION_FILE), "w", encoding="utf-8") as file:
        file.write(onnx.__version__ + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(partial, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
