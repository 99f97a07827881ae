"""Checks the opsets illume's op definitions say define each op, attribute and
input against the schemas of the installed onnx (onnx.defs), over every opset
illume imports. A part that some of those opsets define and others do not
must say which in its definition (runtime/ops/*.c; Constant's attributes in
import/onnx_import.c), so that import refuses what the model's opset does not
define, as ONNX Runtime does, and accepts what it does.

Checked for each op: the opsets that define it; for each attribute illume
knows, the opsets that define it and its type; for each input position, the
opsets that define it and its name. Attributes illume does not know are
refused as unsupported in every opset, so they are not compared.

Usage: check_op_versions.py NODE_TEST   (node_test --op-versions prints the table)
"""
import subprocess
import sys

import onnx
from onnx import defs

TYPE_NAMES = {
    onnx.AttributeProto.FLOAT: "float",
    onnx.AttributeProto.INT: "int",
    onnx.AttributeProto.STRING: "string",
    onnx.AttributeProto.FLOATS: "floats",
    onnx.AttributeProto.INTS: "ints",
    onnx.AttributeProto.STRINGS: "strings",
    onnx.AttributeProto.TENSOR: "tensor",
}
# Input positions compared: Concat's inputs are variadic, and the first few say all.
POSITIONS = 8


def within(opset, since, until):
    return opset >= since and (until == 0 or opset <= until)


def read_table(node_test):
    lines = subprocess.run([node_test, "--op-versions"], check=True, capture_output=True, text=True).stdout
    opsets, ops = None, {}
    for words in (line.split() for line in lines.splitlines()):
        if words[0] == "opsets":
            opsets = range(int(words[1]), int(words[2]) + 1)
        elif words[0] == "op":
            ops[words[1]] = {"since": int(words[2]), "max_inputs": int(words[3]), "attributes": {}, "inputs": []}
        elif words[0] == "attribute":
            ops[words[1]]["attributes"][words[2]] = (words[3], int(words[4]), int(words[5]))
        elif words[0] == "input":
            ops[words[1]]["inputs"].append((int(words[2]), words[3], int(words[4]), int(words[5])))
    return opsets, ops


def schema_at(op, opset):
    try:
        schema = defs.get_schema(op, opset, "")
    except defs.SchemaError:
        return None
    return None if schema.deprecated else schema


def spell(opsets):
    """The opsets as runs: 7 to 17, 19."""
    runs = []
    for opset in sorted(opsets):
        if runs and runs[-1][1] == opset - 1:
            runs[-1][1] = opset
        else:
            runs.append([opset, opset])
    return ", ".join(f"{first} to {last}" if first != last else str(first) for first, last in runs) or "none"


def check_op(name, op, opsets):
    problems = []
    schemas = {opset: schema_at(name, opset) for opset in opsets}
    defined = {opset for opset, schema in schemas.items() if schema}
    declared = {opset for opset in opsets if opset >= op["since"]}
    if declared != defined:
        problems.append(f"{name}: the table says opsets {spell(declared)}, onnx says {spell(defined)}")
    for attribute, (type_name, since, until) in sorted(op["attributes"].items()):
        declared = {opset for opset in defined if within(opset, since, until)}
        holders = {opset for opset in defined if attribute in schemas[opset].attributes}
        if declared != holders:
            problems.append(f"{name}: attribute '{attribute}' in opsets {spell(declared)} says the table, "
                            f"{spell(holders)} says onnx")
        for opset in sorted(holders):
            schema_type = TYPE_NAMES.get(schemas[opset].attributes[attribute].type)
            if schema_type != type_name:
                problems.append(f"{name}: attribute '{attribute}' is {type_name} in the table, {schema_type} in "
                                f"opset {opset}")
                break
    for position in range(min(POSITIONS, max(op["max_inputs"], 1))):
        entries = [entry for entry in op["inputs"] if entry[0] == position]
        declared = {opset for opset in defined if position < op["max_inputs"]}
        if entries:
            declared = {opset for opset in declared if any(within(opset, since, until) for _, _, since, until in entries)}
        holders = {opset for opset in defined if position < schemas[opset].max_input}
        if declared != holders:
            problems.append(f"{name}: input {position} in opsets {spell(declared)} says the table, "
                            f"{spell(holders)} says onnx")
        for _, input_name, since, until in entries:
            for opset in sorted(opset for opset in holders if within(opset, since, until)):
                formal = schemas[opset].inputs
                schema_name = formal[min(position, len(formal) - 1)].name
                if schema_name != input_name:
                    problems.append(f"{name}: input {position} is '{input_name}' in the table, '{schema_name}' in "
                                    f"opset {opset}")
                    break
    return problems


def main():
    opsets, ops = read_table(sys.argv[1])
    newest = defs.onnx_opset_version()
    problems = []
    if opsets[-1] != newest:
        problems.append(f"illume imports opsets up to {opsets[-1]}, onnx {onnx.__version__} defines up to {newest}")
    for name, op in sorted(ops.items()):
        problems.extend(check_op(name, op, opsets))
    for problem in problems:
        print(problem)
    print(f"{len(ops)} ops checked over opsets {opsets[0]} to {opsets[-1]} against onnx {onnx.__version__}: "
          f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
