#!/usr/bin/env python3
"""Exports CNNs to ONNX and records ONNX Runtime's outputs as references for
illume's whole-model tests.

    export_models.py fixtures OUT_DIR
        The small models defined below, committed under tests/models/fixtures,
        and OUT_DIR/manifest.txt (one line per model: name, then the checker's
        extra options).
    export_models.py zoo NAME OUT_DIR [--checker PATH]
        One torchvision model of zoo.txt with random weights (nothing is
        downloaded), exported into OUT_DIR; with --checker, then runs
        `PATH OUT_DIR/NAME.onnx OUT_DIR/NAME.batch1 OUT_DIR/NAME.batch3 ...`
        and exits with its status. An export whose stamp (this script, zoo.txt
        and the library versions) is unchanged is reused.

Every model is built after torch.manual_seed (random weights), its
BatchNorms get random affine parameters and the statistics of a random batch
(see calibrate_batchnorm), and it is exported in eval mode with
torch.onnx.export with a dynamic batch axis.
Models exported with TrainingMode.PRESERVE keep their BatchNormalization nodes
(illume folds or runs them); TrainingMode.EVAL lets the exporter fold them.

For each model NAME and batch size B in (1, 3) the files are
    NAME.onnx, NAME.batchB.input.npy, NAME.batchB.outputK.npy (K = 0, 1, ...)
where the outputs are ONNX Runtime's for the fixed-seed input.

Agreement rule, for every output: max |actual - reference| <= 1e-4 * max
|reference|. It is checked here between PyTorch and ONNX Runtime (so a faulty
export never becomes a reference), and by model_check between illume and the
recorded ONNX Runtime outputs.
"""
import argparse
import hashlib
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

RELATIVE_TOLERANCE = 1e-4
BATCH_SIZES = (1, 3)
SEED = 20240601
CALIBRATION_BATCH = 4
ZOO_INPUT_SHAPE = (3, 224, 224)
HERE = os.path.dirname(os.path.abspath(__file__))


# Small fixtures ---------------------------------------------------------------


def conv_bn(inputs, outputs, kernel, stride=1, groups=1, activation=nn.ReLU):
    layers = [nn.Conv2d(inputs, outputs, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(outputs)]
    if activation is not None:
        layers.append(activation())
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """ResNet block: two 3x3 convolutions and a residual Add, projected when the shape changes."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.body = nn.Sequential(conv_bn(inputs, outputs, 3, stride), conv_bn(outputs, outputs, 3, activation=None))
        self.shortcut = (nn.Identity() if stride == 1 and inputs == outputs else
                         conv_bn(inputs, outputs, 1, stride, activation=None))

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


class ResidualNet(nn.Module):
    """Residual adds, BatchNorm after Conv and after Linear (both foldable),
    MaxPool with ceil_mode, GlobalAveragePool, Flatten, Linear, Softmax."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.blocks = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2))
        self.head = nn.Sequential(nn.Linear(32, 24), nn.BatchNorm1d(24), nn.ReLU(), nn.Linear(24, 10))

    def forward(self, x):
        x = self.blocks(self.pool(self.stem(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return torch.softmax(self.head(x), dim=1)


class DenseLayer(nn.Module):
    """DenseNet layer: BatchNorm on a Concat's output (nothing to fold it into)."""

    def __init__(self, inputs, growth):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(inputs), nn.ReLU(), nn.Conv2d(inputs, 2 * growth, 1, bias=False),
                                  nn.BatchNorm2d(2 * growth), nn.ReLU(),
                                  nn.Conv2d(2 * growth, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


class InceptionBlock(nn.Module):
    """Four branches joined by Concat: 1x1, 3x3, 5x5 and a stride-1 max pool."""

    def __init__(self, inputs):
        super().__init__()
        self.branch1 = conv_bn(inputs, 8, 1)
        self.branch3 = nn.Sequential(conv_bn(inputs, 6, 1), conv_bn(6, 8, 3))
        self.branch5 = nn.Sequential(conv_bn(inputs, 4, 1), conv_bn(4, 8, 5))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), conv_bn(inputs, 8, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], 1)


class DenseInceptionNet(nn.Module):
    """Concat-heavy blocks, BatchNorm after Concat, AveragePool with ceil_mode
    (with and without padding counted), Dropout, Flatten, Linear, Softmax."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, stride=2)
        self.dense = nn.Sequential(DenseLayer(16, 8), DenseLayer(24, 8), DenseLayer(32, 8))
        self.transition = nn.Sequential(nn.BatchNorm2d(40), nn.ReLU(), nn.Conv2d(40, 24, 1, bias=False),
                                        nn.AvgPool2d(2, stride=2, ceil_mode=True))
        self.inception = InceptionBlock(24)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Flatten(), nn.Linear(32 * 6 * 6, 10))

    def forward(self, x):
        x = self.pool(self.inception(self.transition(self.dense(self.stem(x)))))
        return torch.softmax(self.head(x), dim=1)


class SqueezeExcite(nn.Module):
    def __init__(self, channels, reduced, gate):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = gate()

    def forward(self, x):
        scale = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.expand(F.relu(self.reduce(scale))))


class InvertedResidual(nn.Module):
    """MobileNetV3/EfficientNet block: expand, depthwise, squeeze-excite, project, residual Add."""

    def __init__(self, channels, expanded, activation, gate):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, expanded, 1, activation=activation),
                                  conv_bn(expanded, expanded, 3, groups=expanded, activation=activation),
                                  SqueezeExcite(expanded, 8, gate), conv_bn(expanded, channels, 1, activation=None))

    def forward(self, x):
        return x + self.body(x)


class ShuffleBlock(nn.Module):
    """ShuffleNet unit: half the channels pass, the other half goes through a
    grouped and a depthwise convolution, then the channels are shuffled with
    a view/transpose/view whose shape comes from x.size() (a Shape chain)."""

    def __init__(self, channels):
        super().__init__()
        half = channels // 2
        self.branch = nn.Sequential(conv_bn(half, half, 1, groups=4), conv_bn(half, half, 3, groups=half,
                                                                           activation=None),
                                    conv_bn(half, half, 1))

    def forward(self, x):
        passed, processed = x.chunk(2, dim=1)
        x = torch.cat([passed, self.branch(processed)], 1)
        batch, channels, height, width = x.size()
        x = x.view(batch, 2, channels // 2, height, width).transpose(1, 2).contiguous()
        return x.view(batch, channels, height, width)


class MobileNet(nn.Module):
    """Depthwise and grouped convolutions, HardSwish, squeeze-excite with
    HardSigmoid and with Sigmoid, SiLU, channel shuffle, ReLU6 (Clip),
    a view-based flatten, Dropout, two Linear layers, Softmax."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, stride=2, activation=nn.Hardswish)
        self.blocks = nn.Sequential(InvertedResidual(16, 32, nn.Hardswish, nn.Hardsigmoid), ShuffleBlock(16),
                                    conv_bn(16, 24, 3, stride=2, groups=8, activation=nn.ReLU6),
                                    InvertedResidual(24, 48, nn.SiLU, nn.Sigmoid), ShuffleBlock(24))
        self.head = nn.Sequential(nn.Linear(24, 32), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(32, 10))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1)
        x = x.view(x.size(0), -1)
        return torch.softmax(self.head(x), dim=-1)


class SegmentationNet(nn.Module):
    """Encoder-decoder with two outputs: nearest and bilinear Resize, Concat
    skips, reflect and zero Pad, ConvTranspose followed by BatchNorm,
    LeakyReLU, Sigmoid, Softmax over channels."""

    def __init__(self):
        super().__init__()
        self.encode1 = conv_bn(3, 8, 3)
        self.encode2 = conv_bn(8, 16, 3, stride=2)
        self.bottom = nn.Sequential(nn.MaxPool2d(2), nn.ReflectionPad2d(1), nn.Conv2d(16, 16, 3), nn.LeakyReLU(0.1))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.decode2 = nn.Sequential(nn.ZeroPad2d((1, 0, 1, 0)), nn.Conv2d(32, 16, 2), nn.ReLU())
        self.transpose = nn.Sequential(nn.ConvTranspose2d(16, 8, 2, stride=2), nn.BatchNorm2d(8), nn.ReLU())
        self.classes = nn.Conv2d(16, 5, 1)
        self.score = nn.Linear(16, 1)

    def forward(self, x):
        skip1 = self.encode1(x)
        skip2 = self.encode2(skip1)
        bottom = self.bottom(skip2)
        x = self.decode2(torch.cat([self.up(bottom), skip2], 1))
        x = torch.cat([self.transpose(x), F.interpolate(skip1, scale_factor=1.0, mode="bilinear",
                                                        align_corners=False)], 1)
        x = F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
        segmentation = torch.softmax(self.classes(x), dim=1)
        score = torch.sigmoid(self.score(torch.flatten(F.adaptive_max_pool2d(bottom, 1), 1)))
        return segmentation, score


# name: (constructor, opset, input shape without the batch axis, keep BatchNorm nodes)
FIXTURES = {
    "residual_net_opset13": (ResidualNet, 13, (3, 33, 33), True),
    "residual_net_opset11_exporter_folded": (ResidualNet, 11, (3, 33, 33), False),
    "dense_inception_net_opset11": (DenseInceptionNet, 11, (3, 37, 37), True),
    "mobile_net_opset13": (MobileNet, 13, (3, 32, 32), True),
    "mobile_net_opset17": (MobileNet, 17, (3, 32, 32), True),
    "segmentation_net_opset13": (SegmentationNet, 13, (3, 24, 24), True),
    "segmentation_net_opset11": (SegmentationNet, 11, (3, 24, 24), True),
}


def caffe_lrn_net(input_shape, generator):
    """An AlexNet-shaped network as the ONNX model zoo's Caffe2 conversions
    have them (opset 9, a batch fixed at 1, weights as initializers): Conv
    11x11 stride 4, Relu, LRN (size 5), MaxPool 3 stride 2, Conv 5x5 with
    groups 2, Relu, LRN (size 3, other alpha, beta and bias), MaxPool,
    Conv 3x3, Relu, a Reshape to [1, -1] (the batch in a shape constant),
    Gemm, Relu, Dropout with its mask output, Gemm, Softmax. Built with
    onnx.helper: PyTorch exports LocalResponseNorm as a decomposition, not
    as LRN. Returns the model; its batch of 1 is rebound for batch 3."""
    from onnx import helper, numpy_helper, TensorProto

    def weights(name, shape, scale):
        return numpy_helper.from_array((scale * generator.standard_normal(shape)).astype(np.float32), name)

    channels, size = input_shape[0], input_shape[1]
    initializers = [weights("conv1_w", (8, channels, 11, 11), 0.05), weights("conv1_b", (8,), 0.1),
                    weights("conv2_w", (16, 4, 5, 5), 0.1), weights("conv2_b", (16,), 0.1),
                    weights("conv3_w", (12, 16, 3, 3), 0.1), weights("conv3_b", (12,), 0.1),
                    numpy_helper.from_array(np.array([1, -1], np.int64), "flat_shape")]
    nodes = [
        helper.make_node("Conv", ["data_0", "conv1_w", "conv1_b"], ["conv1"], kernel_shape=[11, 11], strides=[4, 4],
                         pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["conv1"], ["relu1"]),
        helper.make_node("LRN", ["relu1"], ["norm1"], size=5, alpha=1e-3, beta=0.75, bias=1.0),
        helper.make_node("MaxPool", ["norm1"], ["pool1"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "conv2_w", "conv2_b"], ["conv2"], kernel_shape=[5, 5], pads=[2, 2, 2, 2],
                         group=2),
        helper.make_node("Relu", ["conv2"], ["relu2"]),
        helper.make_node("LRN", ["relu2"], ["norm2"], size=3, alpha=2e-2, beta=0.6, bias=2.0),
        helper.make_node("MaxPool", ["norm2"], ["pool2"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Conv", ["pool2", "conv3_w", "conv3_b"], ["conv3"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv3"], ["relu3"]),
        helper.make_node("Reshape", ["relu3", "flat_shape"], ["flat"]),
    ]
    pooled = ((size + 4 - 11) // 4 + 1 - 3) // 2 + 1
    pooled = (pooled - 3) // 2 + 1
    features = 12 * pooled * pooled
    initializers += [weights("fc1_w", (features, 32), 0.1), weights("fc1_b", (32,), 0.1),
                     weights("fc2_w", (32, 10), 0.2), weights("fc2_b", (10,), 0.1)]
    nodes += [helper.make_node("Gemm", ["flat", "fc1_w", "fc1_b"], ["fc1"]),
              helper.make_node("Relu", ["fc1"], ["relu4"]),
              helper.make_node("Dropout", ["relu4"], ["drop", "drop_mask"], ratio=0.5),
              helper.make_node("Gemm", ["drop", "fc2_w", "fc2_b"], ["fc2"]),
              helper.make_node("Softmax", ["fc2"], ["output0"])]
    graph = helper.make_graph(nodes, "caffe_lrn_net",
                              [helper.make_tensor_value_info("data_0", TensorProto.FLOAT, (1,) + tuple(input_shape))],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, (1, 10))], initializers)
    model = helper.make_model(graph, producer_name="onnx-caffe2", opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 4
    onnx.checker.check_model(model)
    return model


def export_hand_built(model, name, input_shape, directory):
    """Saves a model built with onnx.helper whose batch is fixed at 1, and
    ONNX Runtime's outputs for each batch size, computed row by row."""
    path = os.path.join(directory, name + ".onnx")
    onnx.save(model, path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    random = np.random.RandomState(SEED)
    for batch in BATCH_SIZES:
        data = random.standard_normal((batch,) + tuple(input_shape)).astype(np.float32)
        rows = [session.run(None, {"data_0": data[r:r + 1]}) for r in range(batch)]
        prefix = os.path.join(directory, "%s.batch%d" % (name, batch))
        np.save(prefix + ".input.npy", data)
        for k in range(len(rows[0])):
            np.save("%s.output%d.npy" % (prefix, k), np.concatenate([row[k] for row in rows]).astype(np.float32))


# name: (builder, input shape without the batch axis)
HAND_BUILT = {
    "caffe_lrn_net_opset9": (caffe_lrn_net, (3, 47, 47)),
}


# The torchvision zoo ------------------------------------------------------------

# Constructor arguments beyond weights=None, for models that need them to export cleanly.
ZOO_ARGUMENTS = {
    "googlenet": {"aux_logits": False, "init_weights": True},
    "inception_v3": {"aux_logits": False, "init_weights": True},
}


def read_zoo():
    """zoo.txt: name, opset, and 'preserve' (keep BatchNormalization) or 'eval' (exporter folds it)."""
    zoo = {}
    with open(os.path.join(HERE, "zoo.txt")) as file:
        for line in file:
            words = line.split("#")[0].split()
            if words:
                name, opset, mode = words
                zoo[name] = (int(opset), mode == "preserve")
    return zoo


# Export and references --------------------------------------------------------


def calibrate_batchnorm(model, input_shape, generator):
    """Gives every BatchNorm random affine parameters and random running
    statistics, scaled to what reaches it: in one eval-mode pass over a random
    batch, each BatchNorm's running variance becomes the mean variance of its
    input channels times a random factor in [0.5, 1.5), its running mean a
    small random offset. Activations keep a sensible scale through deep random
    networks, folding is far from an identity, and since the means are not
    the channels' own, the network stays as well conditioned as a plain ReLU
    network (centering every channel makes deep random networks chaotic)."""
    norms = [module for module in model.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    factors = {}
    for module in norms:
        count = module.num_features
        factors[module] = (0.5 + torch.rand(count, generator=generator), 0.1 * torch.randn(count, generator=generator))
        if module.affine:
            with torch.no_grad():
                module.weight.copy_(0.5 + torch.rand(count, generator=generator))
                module.bias.copy_(0.1 * torch.randn(count, generator=generator))

    def scale_to_input(module, inputs):
        channels = inputs[0].transpose(0, 1).reshape(module.num_features, -1)
        variance = float(channels.var(dim=1).mean())
        spread, offset = factors[module]
        module.running_var.copy_(variance * spread)
        module.running_mean.copy_(offset * variance ** 0.5)

    hooks = [module.register_forward_pre_hook(scale_to_input) for module in norms]
    model.eval()
    with torch.no_grad():
        model(torch.randn((CALIBRATION_BATCH,) + tuple(input_shape), generator=generator))
    for hook in hooks:
        hook.remove()


def agreement(actual, reference):
    """Max absolute difference and that difference relative to max |reference|."""
    difference = float(np.max(np.abs(actual.astype(np.float64) - reference.astype(np.float64))))
    scale = float(np.max(np.abs(reference)))
    return difference, difference / scale if scale > 0 else difference


def export(model, name, opset, input_shape, keep_batchnorm, directory):
    model.eval()
    path = os.path.join(directory, name + ".onnx")
    example = torch.zeros((1,) + tuple(input_shape))
    with torch.no_grad():
        outputs = model(example)
    output_count = len(outputs) if isinstance(outputs, tuple) else 1
    output_names = ["output%d" % k for k in range(output_count)]
    torch.onnx.export(model, example, path, opset_version=opset, input_names=["input"], output_names=output_names,
                      dynamic_axes={key: {0: "batch"} for key in ["input"] + output_names},
                      training=torch.onnx.TrainingMode.PRESERVE if keep_batchnorm else torch.onnx.TrainingMode.EVAL,
                      do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    random = np.random.RandomState(SEED)
    for batch in BATCH_SIZES:
        data = random.standard_normal((batch,) + tuple(input_shape)).astype(np.float32)
        references = session.run(None, {"input": data})
        with torch.no_grad():
            expected = model(torch.from_numpy(data))
        expected = expected if isinstance(expected, tuple) else (expected,)
        prefix = os.path.join(directory, "%s.batch%d" % (name, batch))
        np.save(prefix + ".input.npy", data)
        for k, (reference, torch_output) in enumerate(zip(references, expected)):
            difference, relative = agreement(reference, torch_output.numpy())
            if not relative <= RELATIVE_TOLERANCE:
                raise SystemExit("%s: ONNX Runtime and PyTorch disagree on output %d at batch %d: max difference %g "
                                 "(%g relative)" % (name, k, batch, difference, relative))
            np.save("%s.output%d.npy" % (prefix, k), reference.astype(np.float32))
    return has_foldable_batchnorm(path)


def has_foldable_batchnorm(path):
    """Whether some BatchNormalization reads the only output of a Conv, ConvTranspose or Gemm."""
    graph = onnx.load(path).graph
    producers = {output: node for node in graph.node for output in node.output}
    readers = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    for node in graph.node:
        if node.op_type != "BatchNormalization":
            continue
        producer = producers.get(node.input[0])
        if producer is not None and producer.op_type in ("Conv", "ConvTranspose", "Gemm") and \
                readers[node.input[0]] == 1:
            return True
    return False


def make_fixtures(directory):
    os.makedirs(directory, exist_ok=True)
    lines = ["# name, then model_check options (written by export_models.py fixtures)"]
    for name, (constructor, opset, input_shape, keep_batchnorm) in FIXTURES.items():
        torch.manual_seed(SEED)
        model = constructor()
        calibrate_batchnorm(model, input_shape, torch.Generator().manual_seed(SEED))
        foldable = export(model, name, opset, input_shape, keep_batchnorm, directory)
        lines.append(name + (" --expect-fold" if foldable else ""))
        print("exported", name)
    for name, (build, input_shape) in HAND_BUILT.items():
        export_hand_built(build(input_shape, np.random.RandomState(SEED)), name, input_shape, directory)
        lines.append(name)
        print("exported", name)
    with open(os.path.join(directory, "manifest.txt"), "w") as file:
        file.write("\n".join(lines) + "\n")


def stamp_of(name):
    digest = hashlib.sha256()
    for path in (__file__, os.path.join(HERE, "zoo.txt")):
        with open(path, "rb") as file:
            digest.update(file.read())
    digest.update(("%s %s %s %s %s" % (name, torch.__version__, torchvision.__version__, onnx.__version__,
                                       onnxruntime.__version__)).encode())
    return digest.hexdigest()


def make_zoo_model(name, directory):
    """Exports one zoo model unless an export with the same stamp is there; returns whether it has a foldable BatchNorm."""
    zoo = read_zoo()
    if name not in zoo:
        raise SystemExit("unknown zoo model '%s' (zoo.txt lists %s)" % (name, ", ".join(sorted(zoo))))
    opset, keep_batchnorm = zoo[name]
    os.makedirs(directory, exist_ok=True)
    stamp_path = os.path.join(directory, name + ".stamp")
    stamp = stamp_of(name)
    if os.path.exists(stamp_path):
        with open(stamp_path) as file:
            lines = file.read().split()
        if len(lines) == 2 and lines[0] == stamp:
            print("reusing the export of", name)
            return lines[1] == "1"
        os.remove(stamp_path)
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, name)(weights=None, **ZOO_ARGUMENTS.get(name, {}))
    calibrate_batchnorm(model, ZOO_INPUT_SHAPE, torch.Generator().manual_seed(SEED))
    foldable = export(model, name, opset, ZOO_INPUT_SHAPE, keep_batchnorm, directory)
    with open(stamp_path, "w") as file:
        file.write("%s %d\n" % (stamp, foldable))
    return foldable


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fixtures = commands.add_parser("fixtures", help="export the small committed fixtures")
    fixtures.add_argument("directory")
    zoo = commands.add_parser("zoo", help="export one torchvision model and optionally check illume on it")
    zoo.add_argument("name")
    zoo.add_argument("directory")
    zoo.add_argument("--checker", help="model_check executable to run on the export")
    arguments = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if arguments.command == "fixtures":
        make_fixtures(arguments.directory)
        return 0
    foldable = make_zoo_model(arguments.name, arguments.directory)
    if not arguments.checker:
        return 0
    prefix = os.path.join(arguments.directory, arguments.name)
    command = [arguments.checker, prefix + ".onnx"] + ["%s.batch%d" % (prefix, b) for b in BATCH_SIZES]
    if foldable:
        command.append("--expect-fold")
    sys.stdout.flush()
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
