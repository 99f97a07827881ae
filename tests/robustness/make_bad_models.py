"""Writes the fixtures of the robustness tests into OUT_DIR: a small valid CNN
and its input, models that are broken in one named way each, external-data
layouts that try to leave the model's folder, corrupt .npy files and corrupt
images. Usage: make_bad_models.py OUT_DIR.

Everything is built with the onnx helper API and written with
SerializeToString, so that no onnx save helper rewrites what a case breaks.
"""
import io
import os
import shutil
import struct
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

OPSET = 13


def write(path, data):
    with open(path, "wb") as file:
        file.write(data)


def save(out, name, model):
    write(os.path.join(out, name), model.SerializeToString())


def model_of(nodes, inputs, outputs, initializers=(), opset=OPSET, extra_opsets=()):
    graph = helper.make_graph(list(nodes), "robustness", list(inputs), list(outputs), list(initializers))
    opsets = [helper.make_opsetid("", opset)] + list(extra_opsets)
    return helper.make_model(graph, opset_imports=opsets, producer_name="make_bad_models")


def float_input(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def cnn(rng):
    """Conv-Relu-MaxPool twice, then Flatten and Gemm: [batch, 3, 16, 16] to [batch, 10]."""
    def weights(name, *shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)

    initializers = [weights("conv1_w", 4, 3, 3, 3), weights("conv1_b", 4), weights("conv2_w", 8, 4, 3, 3),
                    weights("conv2_b", 8), weights("fc_w", 10, 128), weights("fc_b", 10)]
    nodes = [
        helper.make_node("Conv", ["input", "conv1_w", "conv1_b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2_w", "conv2_b"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    return model_of(nodes, [float_input("input", ["batch", 3, 16, 16])],
                    [float_input("logits", ["batch", 10])], initializers)


def relu_model(opset=OPSET):
    return model_of([helper.make_node("Relu", ["x"], ["y"], name="relu")], [float_input("x", [1, 4])],
                    [float_input("y", [1, 4])], opset=opset)


def seed_models(out):
    """Small valid models, one per op family, in OUT/seeds/: the fuzzer starts
    from them (so that its mutations reach every op's checks and shape
    inference) and the replay test runs them through the fuzz target's body."""
    folder = os.path.join(out, "seeds")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(5)
    image = float_input("x", [1, 4, 8, 8])
    matrix = float_input("x", [2, 6])

    def constant(name, values, dtype=np.float32):
        return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)

    def random(name, *shape):
        return constant(name, rng.standard_normal(shape))

    def one(name, node, inputs, output_dims, initializers=(), opset=OPSET, extra=()):
        nodes = [node] + list(extra)
        model = model_of(nodes, inputs, [float_input(nodes[-1].output[0], output_dims)], initializers, opset=opset)
        save(folder, name + ".onnx", model)

    node = helper.make_node
    one("add_broadcast", node("Add", ["x", "b"], ["y"]), [image], [1, 4, 8, 8], [random("b", 4, 1, 1)])
    one("sub_mul_div", node("Sub", ["x", "b"], ["s"]), [matrix], [2, 6], [random("b", 6), random("c", 2, 1)],
        extra=[node("Mul", ["s", "c"], ["m"]), node("Div", ["m", "c"], ["y"])])
    one("prelu", node("PRelu", ["x", "slope"], ["y"]), [image], [1, 4, 8, 8], [random("slope", 4, 1, 1)])
    one("batchnorm", node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"], epsilon=1e-5), [image],
        [1, 4, 8, 8], [random("scale", 4), random("bias", 4), random("mean", 4), constant("var", [1, 2, 3, 4])])
    one("conv_strided", node("Conv", ["x", "w"], ["y"], strides=[2, 2], dilations=[1, 1], group=2,
                             auto_pad="SAME_UPPER"), [image], [1, 2, 4, 4], [random("w", 2, 2, 3, 3)])
    one("conv_transpose", node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1],
                               output_padding=[1, 1]), [image], [1, 2, 16, 16],
        [random("w", 4, 2, 3, 3), random("b", 2)])
    one("pools", node("AveragePool", ["x"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1),
        [image], [1, 4, 1, 1], extra=[node("MaxPool", ["a"], ["m"], kernel_shape=[2, 2], strides=[2, 2],
                                           ceil_mode=1),
                                      node("GlobalAveragePool", ["m"], ["g"]), node("GlobalMaxPool", ["g"], ["y"])])
    one("gemm", node("Gemm", ["x", "w", "b"], ["y"], alpha=0.5, beta=2.0, transB=1), [matrix], [2, 3],
        [random("w", 3, 6), random("b", 3)])
    one("matmul", node("MatMul", ["x", "w"], ["y"]), [float_input("x", [2, 3, 6])], [2, 3, 5], [random("w", 6, 5)])
    one("activations", node("LeakyRelu", ["x"], ["a"], alpha=0.2), [matrix], [2, 6],
        extra=[node("Sigmoid", ["a"], ["b"]), node("Tanh", ["b"], ["c"]), node("HardSigmoid", ["c"], ["d"]),
               node("HardSwish", ["d"], ["e"]), node("Elu", ["e"], ["f"]),
               node("Clip", ["f", "low", "high"], ["y"])], initializers=[constant("low", 0.1), constant("high", 0.9)],
        opset=14)
    one("softmaxes", node("Softmax", ["x"], ["s"], axis=-1), [matrix], [2, 6],
        extra=[node("LogSoftmax", ["s"], ["y"], axis=1)])
    one("reduce_mean", node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=1), [image], [1, 4, 1, 1])
    one("concat_split", node("Split", ["x", "sizes"], ["a", "b"], axis=1), [image], [1, 4, 8, 8],
        [constant("sizes", [1, 3], np.int64)], extra=[node("Concat", ["b", "a"], ["y"], axis=1)])
    one("shape_chain", node("Shape", ["x"], ["shape"]), [image], [1, 256],
        [constant("index", [0], np.int64), constant("rest", [-1], np.int64)],
        extra=[node("Gather", ["shape", "index"], ["batch"], axis=0),
               node("Concat", ["batch", "rest"], ["target"], axis=0), node("Reshape", ["x", "target"], ["y"])])
    one("transpose_flatten", node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]), [image], [8, 32],
        extra=[node("Flatten", ["t"], ["y"], axis=2)])
    one("pad_slice", node("Pad", ["x", "pads", "value"], ["p"], mode="constant"), [image], [1, 4, 4, 10],
        [constant("pads", [0, 0, 1, 1, 0, 0, 1, 1], np.int64), constant("value", 0.5),
         constant("starts", [2, 0], np.int64), constant("ends", [6, 10], np.int64), constant("axes", [2, 3], np.int64)],
        extra=[node("Slice", ["p", "starts", "ends", "axes"], ["y"])])
    one("squeeze_unsqueeze", node("Unsqueeze", ["x", "axes"], ["u"]), [matrix], [2, 6],
        [constant("axes", [0], np.int64)], extra=[node("Squeeze", ["u", "axes"], ["y"])])
    one("resize_linear", node("Resize", ["x", "", "scales"], ["y"], mode="linear",
                              coordinate_transformation_mode="align_corners"), [image], [1, 4, 16, 16],
        [constant("scales", [1, 1, 2, 2])])
    one("resize_nearest_sizes", node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest",
                                     nearest_mode="floor"), [image], [1, 4, 5, 12],
        [constant("sizes", [1, 4, 5, 12], np.int64)])
    one("constant_cast", node("Constant", [], ["c"], value=constant("v", [1.5, 2.5, 3.5, 4.5, 5.5, 6.5])), [matrix],
        [2, 6], extra=[node("Cast", ["c"], ["i"], to=TensorProto.INT64), node("Cast", ["i"], ["f"], to=1),
                       node("Add", ["x", "f"], ["a"]), node("Identity", ["a"], ["d"]), node("Dropout", ["d"], ["y"])])
    one("constant_of_shape", node("ConstantOfShape", ["shape"], ["c"], value=constant("v", [2.0])), [matrix], [2, 6],
        [constant("shape", [2, 6], np.int64)], extra=[node("Mul", ["x", "c"], ["y"])])
    one("gather_rows", node("Gather", ["x", "rows"], ["y"], axis=1), [matrix], [2, 3],
        [constant("rows", [5, 0, -1], np.int64)])
    one("old_opset_pool", node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2]), [image], [1, 4, 4, 4],
        opset=7)


def unsupported_models(out):
    save(out, "einsum.onnx", model_of(
        [helper.make_node("Einsum", ["a", "b"], ["y"], name="contract", equation="ij,jk->ik")],
        [float_input("a", [2, 3]), float_input("b", [3, 4])], [float_input("y", [2, 4])]))
    save(out, "custom_domain.onnx", model_of(
        [helper.make_node("Relu", ["x"], ["y"], name="relu", domain="com.example")],
        [float_input("x", [1, 4])], [float_input("y", [1, 4])], extra_opsets=[helper.make_opsetid("com.example", 1)]))
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    save(out, "resize_cubic.onnx", model_of(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="upsample", mode="cubic")],
        [float_input("x", [1, 1, 4, 4])], [float_input("y", [1, 1, 8, 8])], [scales]))
    save(out, "unknown_attribute.onnx", model_of(
        [helper.make_node("Relu", ["x"], ["y"], name="relu", flavour=3)],
        [float_input("x", [1, 4])], [float_input("y", [1, 4])]))
    save(out, "opset_too_new.onnx", relu_model(opset=99))
    save(out, "opset_too_old.onnx", relu_model(opset=5))


def opset_models(out):
    """Inputs and attributes that the model's opset does not define (ONNX Runtime refuses them too)."""
    x = float_input("x", [1, 4, 2, 2])
    axes = numpy_helper.from_array(np.array([2, 3], np.int64), "axes")
    save(out, "reduce_mean_axes_input_opset17.onnx", model_of(
        [helper.make_node("ReduceMean", ["x", "axes"], ["y"], name="mean")], [x], [float_input("y", [1, 4, 1, 1])],
        [axes], opset=17))
    save(out, "unsqueeze_axes_attribute_opset13.onnx", model_of(
        [helper.make_node("Unsqueeze", ["x"], ["y"], name="unsqueeze", axes=[0])], [x],
        [float_input("y", [1, 1, 4, 2, 2])], opset=13))
    save(out, "hard_swish_opset13.onnx", model_of(
        [helper.make_node("HardSwish", ["x"], ["y"], name="swish")], [x], [float_input("y", [1, 4, 2, 2])], opset=13))
    save(out, "constant_value_float_opset11.onnx", model_of(
        [helper.make_node("Constant", [], ["c"], name="half", value_float=0.5),
         helper.make_node("Mul", ["x", "c"], ["y"], name="scale")], [x], [float_input("y", [1, 4, 2, 2])], opset=11))


def structure_models(out):
    relu = lambda inputs, outputs, name: helper.make_node("Relu", inputs, outputs, name=name)
    x, y = float_input("x", [1, 4]), float_input("y", [1, 4])
    save(out, "duplicate_output.onnx", model_of([relu(["x"], ["y"], "first"), relu(["x"], ["y"], "second")], [x], [y]))
    save(out, "duplicate_initializer.onnx", model_of(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")], [x], [y],
        [numpy_helper.from_array(np.ones(4, np.float32), "w"), numpy_helper.from_array(np.ones(4, np.float32), "w")]))
    save(out, "output_shadows_input.onnx", model_of([relu(["x"], ["x"], "relu")], [x], [float_input("x", [1, 4])]))
    save(out, "cycle.onnx", model_of(
        [helper.make_node("Add", ["x", "b"], ["a"], name="add"), relu(["a"], ["b"], "relu")], [x],
        [float_input("a", [1, 4])]))
    save(out, "dangling_input.onnx", model_of([helper.make_node("Add", ["x", "ghost"], ["y"], name="add")], [x], [y]))
    save(out, "missing_output.onnx", model_of([relu(["x"], ["y"], "relu")], [x], [float_input("nowhere", [1, 4])]))
    # Valid: images of any size, so also of none.
    save(out, "any_size.onnx", model_of(
        [relu(["x"], ["r"], "relu"), helper.make_node("GlobalAveragePool", ["r"], ["g"], name="pool"),
         helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
         helper.make_node("Gemm", ["f", "w"], ["y"], name="dense", transB=1)],
        [float_input("x", ["batch", 3, "height", "width"])], [float_input("y", ["batch", 2])],
        [numpy_helper.from_array(np.ones((2, 3), np.float32), "w")]))
    # Valid: a batch of 2 folded into one axis and back, which cannot be rebound to another batch.
    save(out, "fixed_batch_folded.onnx", model_of(
        [helper.make_node("Reshape", ["x", "flat"], ["f"], name="fold"),
         helper.make_node("Reshape", ["f", "rows"], ["y"], name="unfold")],
        [float_input("x", [2, 4])], [float_input("y", [2, 4])],
        [numpy_helper.from_array(np.array([8], np.int64), "flat"),
         numpy_helper.from_array(np.array([2, 4], np.int64), "rows")]))
    save(out, "no_graph.onnx", onnx.ModelProto(ir_version=8, opset_import=[helper.make_opsetid("", OPSET)]))
    save(out, "wrong_attribute_type.onnx", model_of(
        [helper.make_node("Flatten", ["x"], ["y"], name="flatten", axis=1.5)], [x], [y]))
    save(out, "too_few_inputs.onnx", model_of([helper.make_node("Add", ["x"], ["y"], name="add")], [x], [y]))
    gemm_w = numpy_helper.from_array(np.ones((3, 5), np.float32), "w")
    save(out, "gemm_mismatch.onnx", model_of(
        [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")], [x], [float_input("y", [1, 5])], [gemm_w]))
    conv_w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
    image = float_input("x", [1, 1, 8, 8])
    save(out, "conv_zero_stride.onnx", model_of(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", strides=[0, 1])], [image],
        [float_input("y", [1, 2, 6, 6])], [conv_w]))
    save(out, "conv_huge_pads.onnx", model_of(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[2**62, 2**62, 2**62, 2**62])], [image],
        [float_input("y", [1, 2, 6, 6])], [conv_w]))
    # Valid: an empty output whose other dimensions multiply to 2^58, within illume's bound;
    # at 2^66 it is refused (issue 15).
    for name, side in (("resize_to_empty", 2**28), ("resize_to_empty_overflow", 2**32)):
        empty_sizes = numpy_helper.from_array(np.array([0, 4, side, side], np.int64), "sizes")
        save(out, name + ".onnx", model_of(
            [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], name="resize")], [image],
            [float_input("y", [0, 4, side, side])], [empty_sizes]))
    transposed_w = numpy_helper.from_array(np.ones((1, 2, 3, 3), np.float32), "w")
    save(out, "conv_transpose_output_padding.onnx", model_of(
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2], output_padding=[3, 3])],
        [image], [float_input("y", [1, 2, 20, 20])], [transposed_w]))
    save(out, "conv_kernel_too_large.onnx", model_of(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], [float_input("x", [1, 1, 2, 2])],
        [float_input("y", [1, 2, 1, 1])], [conv_w]))


def data_models(out):
    """Initializers whose bytes do not match their dims."""
    x, y = float_input("x", [1, 4]), float_input("y", [1, 4])
    add = [helper.make_node("Add", ["x", "w"], ["y"], name="add")]

    short = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"\0" * 10)
    save(out, "raw_data_short.onnx", model_of(add, [x], [y], [short]))
    long = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"\0" * 20)
    save(out, "raw_data_long.onnx", model_of(add, [x], [y], [long]))
    typed = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], float_data=[1.0, 2.0])
    save(out, "float_data_short.onnx", model_of(add, [x], [y], [typed]))
    # 2^31 * 2^30 * 4 elements: the element count overflows int64.
    overflow = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**31, 2**30, 4], raw_data=b"\0" * 4)
    save(out, "dims_overflow.onnx", model_of(add, [x], [y], [overflow]))
    # 2^61 float elements: the count fits int64, its bytes do not (illume's bound is 2^60 - 1 elements).
    bytes_overflow = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**31, 2**30], raw_data=b"\0" * 4)
    save(out, "bytes_overflow.onnx", model_of(add, [x], [y], [bytes_overflow]))
    # No elements, but its other dimensions multiply past int64: the strides of an
    # empty tensor still do (the fuzzer's find, issue 15).
    empty = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 0, 1340, 2169879134207, 2952790015])
    save(out, "empty_dims_overflow.onnx", model_of(add, [x], [y], [empty]))
    # The same, computed from a valid input: [0, 1, 4, 2^40, 2^40].
    shape_nodes = [helper.make_node("Shape", ["x"], ["shape"], name="shape"),
                   helper.make_node("Concat", ["zero", "shape", "huge"], ["dims"], name="dims", axis=0),
                   helper.make_node("ConstantOfShape", ["dims"], ["y"], name="fill")]
    pieces = [helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
              helper.make_tensor("huge", TensorProto.INT64, [2], [2**40, 2**40])]
    save(out, "empty_shape_overflow.onnx", model_of(shape_nodes, [x], [float_input("y", None)], pieces))
    # Claims 2^40 floats but holds none: must be refused before allocating.
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**20, 2**20], raw_data=b"")
    save(out, "huge_without_data.onnx", model_of(add, [x], [y], [huge]))
    negative = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[-4], raw_data=b"")
    save(out, "negative_dim.onnx", model_of(add, [x], [y], [negative]))
    strings = TensorProto(name="w", data_type=TensorProto.STRING, dims=[1], string_data=[b"text"])
    save(out, "string_initializer.onnx", model_of(add, [x], [y], [strings]))
    save(out, "input_dims_overflow.onnx", model_of(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], [float_input("x", [2**62, 2**62])],
        [float_input("y", [2**62, 2**62])]))


def external_models(out):
    """Models in OUT/external/ whose weights live in files beside them (or try to live elsewhere)."""
    folder = os.path.join(out, "external")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    weights = np.arange(4, dtype=np.float32)
    write(os.path.join(out, "secret.bin"), weights.tobytes())
    write(os.path.join(folder, "weights.bin"), weights.tobytes())
    write(os.path.join(folder, "short.bin"), weights.tobytes()[:10])
    os.symlink(os.path.join("..", "secret.bin"), os.path.join(folder, "outside_link.bin"))
    os.symlink("weights.bin", os.path.join(folder, "inside_link.bin"))
    os.makedirs(os.path.join(folder, "a_directory"))

    def external(name, location, **entries):
        tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4],
                             data_location=TensorProto.EXTERNAL)
        for key, value in [("location", location)] + sorted(entries.items()):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, str(value)
        save(folder, name, model_of([helper.make_node("Add", ["x", "w"], ["y"], name="add")],
                                    [float_input("x", [4])], [float_input("y", [4])], [tensor]))

    external("ok.onnx", "weights.bin")
    external("inside_link.onnx", "inside_link.bin")
    external("parent.onnx", "../secret.bin")
    external("absolute.onnx", os.path.abspath(os.path.join(out, "secret.bin")))
    external("outside_link.onnx", "outside_link.bin")
    external("short.onnx", "short.bin")
    external("missing.onnx", "missing.bin")
    external("directory.onnx", "a_directory")
    external("offset_past_end.onnx", "weights.bin", offset=1000000)
    external("length_mismatch.onnx", "weights.bin", length=3)
    external("bad_offset.onnx", "weights.bin", offset="twelve")
    np.save(os.path.join(out, "vector4.npy"), np.ones(4, np.float32))


def npy_header(descr, shape, fortran=False, version=1):
    text = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    text += " " * ((64 - (len(text) + 11) % 64) % 64) + "\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text.encode()


def npy_files(out):
    rng = np.random.default_rng(7)
    sample = rng.standard_normal((1, 3, 16, 16)).astype(np.float32)
    np.save(os.path.join(out, "input.npy"), sample)
    np.save(os.path.join(out, "input_batch2.npy"), np.concatenate([sample, sample]))
    np.save(os.path.join(out, "input_float64.npy"), sample.astype(np.float64))
    np.save(os.path.join(out, "wrong_shape.npy"), sample[:, :, :8, :8].copy())
    np.save(os.path.join(out, "wrong_rank.npy"), sample[0])
    np.save(os.path.join(out, "wrong_channels.npy"), np.zeros((1, 1, 16, 16), np.float32))
    np.save(os.path.join(out, "wrong_dtype.npy"), np.zeros((1, 3, 16, 16), np.int64))
    np.save(os.path.join(out, "complex.npy"), np.zeros((1, 3, 16, 16), np.complex64))
    good = open(os.path.join(out, "input.npy"), "rb").read()
    write(os.path.join(out, "empty.npy"), b"")
    write(os.path.join(out, "bad_magic.npy"), b"\x93NUMPZ" + good[6:])
    write(os.path.join(out, "bad_version.npy"), good[:6] + b"\x09\x00" + good[8:])
    write(os.path.join(out, "truncated_header.npy"), good[:40])
    write(os.path.join(out, "truncated_data.npy"), good[:len(good) - 100])
    data = sample.tobytes()
    write(os.path.join(out, "fortran.npy"), npy_header("<f4", (1, 3, 16, 16), fortran=True) + data)
    write(os.path.join(out, "big_endian.npy"), npy_header(">f4", (1, 3, 16, 16)) + sample.astype(">f4").tobytes())
    write(os.path.join(out, "huge_shape.npy"), npy_header("<f4", (100000, 100000, 100000, 100000)) + data)
    # No elements, but NumPy refuses it: 4 bytes x 2^31 x 2^31 pass its intp.
    write(os.path.join(out, "empty_huge_shape.npy"), npy_header("<f4", (0, 2**31, 2**31)))
    write(os.path.join(out, "rank9.npy"), npy_header("<f4", (1,) * 9) + data[:4])
    write(os.path.join(out, "no_shape.npy"), npy_header("<f4", "None") + data)
    write(os.path.join(out, "header_length_huge.npy"), b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{")
    os.makedirs(os.path.join(out, "folder.npy"), exist_ok=True)
    # Inputs for the small models whose defects only a concrete shape reveals.
    np.save(os.path.join(out, "vector_1x4.npy"), np.ones((1, 4), np.float32))
    np.save(os.path.join(out, "image_1x1x8x8.npy"), np.ones((1, 1, 8, 8), np.float32))
    np.save(os.path.join(out, "image_1x1x2x2.npy"), np.ones((1, 1, 2, 2), np.float32))
    np.save(os.path.join(out, "image_1x4x2x2.npy"), np.ones((1, 4, 2, 2), np.float32))
    np.save(os.path.join(out, "no_rows.npy"), np.ones((0, 4), np.float32))
    np.save(os.path.join(out, "no_pixels.npy"), np.ones((1, 3, 0, 8), np.float32))


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)


def image_files(out):
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    png = buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    jpeg = buffer.getvalue()
    write(os.path.join(out, "good.png"), png)
    write(os.path.join(out, "good.jpg"), jpeg)
    write(os.path.join(out, "truncated.png"), png[:len(png) // 2])
    write(os.path.join(out, "signature_only.png"), png[:8])
    crc = bytearray(png)
    idat = png.index(b"IDAT")
    crc[idat + 6] ^= 0xff
    write(os.path.join(out, "bad_crc.png"), bytes(crc))
    signature = b"\x89PNG\r\n\x1a\n"
    zero = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 16, 8, 2, 0, 0, 0))
    write(os.path.join(out, "zero_width.png"), signature + zero + png_chunk(b"IEND", b""))
    wide = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1000000, 1000000, 8, 2, 0, 0, 0))
    write(os.path.join(out, "huge.png"), signature + wide + png_chunk(b"IEND", b""))
    write(os.path.join(out, "truncated.jpg"), jpeg[:len(jpeg) - 80])
    write(os.path.join(out, "header_only.jpg"), jpeg[:20])
    write(os.path.join(out, "garbage.jpg"), b"\xff\xd8\xff" + bytes(rng.integers(0, 256, 500, dtype=np.uint8)))
    write(os.path.join(out, "text.png"), b"this is a text file, not an image\n")
    os.makedirs(os.path.join(out, "folder.png"), exist_ok=True)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1)
    network = cnn(rng)
    save(out, "cnn.onnx", network)
    # The same network at opset 23, jax2onnx's default: it must load and compute the same.
    network.opset_import[0].version = 23
    save(out, "cnn_opset23.onnx", network)
    seed_models(out)
    unsupported_models(out)
    opset_models(out)
    structure_models(out)
    data_models(out)
    external_models(out)
    npy_files(out)
    image_files(out)


if __name__ == "__main__":
    main()
