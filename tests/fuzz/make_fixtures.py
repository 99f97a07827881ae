"""Writes the small files the fuzz targets run against into OUT_DIR (committed
as tests/fuzz/fixtures/): a tiny CNN on 3x8x8 images with a node of every
LRP rule key (convolutions, BatchNormalization, Relu, max and average
pooling, a residual Add, a dense layer) ending in Softmax; a model that runs
only batches of 2 (folded into one axis, so not rebound); a model of images
of any size; an input of one row, one of no rows and one of no pixels; a
PNG and a JPEG; class labels and an LRP rule map as JSON. Usage: make_fixtures.py OUT_DIR. Seeded: every run writes the same
bytes.
"""
import io
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from PIL import Image


def tiny_cnn(rng):
    def weights(name, *shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.5).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "scale", "shift", "mean", "variance"], ["n1"], name="norm"),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Add", ["r2", "p1"], ["sum"], name="residual"),
        helper.make_node("AveragePool", ["sum"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "w3", "b3"], ["logits"], name="dense", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    initializers = [
        weights("w1", 4, 3, 3, 3), weights("b1", 4),
        numpy_helper.from_array(np.full(4, 1.5, np.float32), "scale"), weights("shift", 4),
        weights("mean", 4), numpy_helper.from_array(np.full(4, 2.0, np.float32), "variance"),
        weights("w2", 4, 4, 3, 3), weights("b2", 4), weights("w3", 3, 16), weights("b3", 3),
    ]
    graph = helper.make_graph(
        nodes, "tiny_cnn", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_fixtures")


def fixed_batch(rng):
    nodes = [
        helper.make_node("Reshape", ["input", "flat"], ["folded"], name="fold"),
        helper.make_node("Reshape", ["folded", "rows"], ["unfolded"], name="unfold"),
        helper.make_node("Gemm", ["unfolded", "w"], ["logits"], name="dense", transB=1),
    ]
    initializers = [
        numpy_helper.from_array(np.array([384], np.int64), "flat"),
        numpy_helper.from_array(np.array([2, 192], np.int64), "rows"),
        numpy_helper.from_array((rng.standard_normal((3, 192)) * 0.1).astype(np.float32), "w"),
    ]
    graph = helper.make_graph(
        nodes, "fixed_batch", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2, 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [2, 3])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_fixtures")


def any_size():
    nodes = [
        helper.make_node("Relu", ["input"], ["positive"], name="relu"),
        helper.make_node("GlobalAveragePool", ["positive"], ["pooled"], name="pool"),
        helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "w"], ["logits"], name="dense", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "any_size", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(np.array([[1, 0, -1], [0, 1, 1]], np.float32), "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_fixtures")


def image_bytes(pixels, form):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=form, **({"quality": 75} if form == "JPEG" else {}))
    return buffer.getvalue()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(15)
    with open(os.path.join(out, "model.onnx"), "wb") as file:
        file.write(tiny_cnn(rng).SerializeToString())
    with open(os.path.join(out, "fixed.onnx"), "wb") as file:
        file.write(fixed_batch(rng).SerializeToString())
    np.save(os.path.join(out, "input.npy"), rng.standard_normal((1, 3, 8, 8)).astype(np.float32))
    np.save(os.path.join(out, "empty.npy"), np.zeros((0, 3, 8, 8), np.float32))
    pixels = (rng.random((6, 10, 3)) * 255).astype(np.uint8)
    for name, form in (("image.png", "PNG"), ("image.jpg", "JPEG")):
        with open(os.path.join(out, name), "wb") as file:
            file.write(image_bytes(pixels, form))
    with open(os.path.join(out, "labels.txt"), "w") as file:
        file.write("circle\nsquare\ntriangle\n")
    with open(os.path.join(out, "rules.json"), "w") as file:
        file.write('{"first": "zbox:-3,3", "conv": "gamma:0.5", "node:dense": "epsilon:0.01", "index:1-1": "pass"}\n')
    with open(os.path.join(out, "any_size.onnx"), "wb") as file:
        file.write(any_size().SerializeToString())
    np.save(os.path.join(out, "no_pixels.npy"), np.ones((1, 3, 0, 8), np.float32))


if __name__ == "__main__":
    main()
