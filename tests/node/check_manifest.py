"""Checks that manifest.txt lists every ONNX node test of the ops illume runs,
each once, and nothing else.

A node test is in scope when every node of its graph is an op illume runs (or
Constant, which the importer folds), or when it is an `_expanded` variant of
such a test (the op written out as a function of other ops).

Usage: check_manifest.py MANIFEST NODE_TEST NODE_TESTS
(NODE_TESTS: the folder make_node_tests.py wrote)
"""
import os
import re
import subprocess
import sys

import onnx


def read_manifest(path):
    entries = {}
    problems = []
    with open(path, encoding="utf-8") as manifest:
        for number, line in enumerate(manifest, 1):
            line = line.rstrip("\n")
            if ";" in line:
                problems.append(f"line {number}: has a semicolon, which CMake would split")
                continue
            if not line.strip() or line.startswith("#"):
                continue
            match = re.fullmatch(r"(run)\s+(test_\w+)\s*|(skip)\s+(test_\w+):\s+(\S.*)", line)
            if not match:
                problems.append(f"line {number}: cannot read '{line}'")
                continue
            name = match.group(2) or match.group(4)
            if name in entries:
                problems.append(f"line {number}: {name} is listed twice")
            entries[name] = match.group(1) or match.group(3)
    return entries, problems


def in_scope_tests(data_dir, supported):
    runnable = set()
    names = sorted(name for name in os.listdir(data_dir) if name.startswith("test_"))
    for name in names:
        model = onnx.load(os.path.join(data_dir, name, "model.onnx"), load_external_data=False)
        ops = {node.op_type for node in model.graph.node if node.domain in ("", "ai.onnx")}
        foreign = [node for node in model.graph.node if node.domain not in ("", "ai.onnx")]
        if not foreign and ops and ops <= supported | {"Constant"}:
            runnable.add(name)
    expanded = {name for name in names if re.sub(r"_expanded(_ver\d+)?$", "", name) in runnable}
    return runnable | expanded


def main():
    manifest_path, runner, data_dir = sys.argv[1:4]
    supported = set(subprocess.run([runner, "--ops"], check=True, capture_output=True, text=True).stdout.split())
    entries, problems = read_manifest(manifest_path)
    scope = in_scope_tests(data_dir, supported)
    for name in sorted(scope - entries.keys()):
        problems.append(f"{name} is a node test of supported ops but is not in the manifest")
    for name in sorted(entries.keys() - scope):
        problems.append(f"{name} is in the manifest but is not a node test of supported ops")
    for problem in problems:
        print(problem)
    run = sum(1 for kind in entries.values() if kind == "run")
    print(f"{len(scope)} node tests in scope; the manifest runs {run} and skips {len(entries) - run}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
