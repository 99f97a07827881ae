#!/usr/bin/env python3
"""Records Captum's attributions on small models as references for illume's
explanation methods (tests/explain/test_captum.c compares them).

    make_references.py OUT_DIR
        Builds the models below (fixed seeds, BatchNorm with non-trivial
        running statistics), exports each to OUT_DIR/MODEL.onnx (opset 13,
        or 14 for the model with HardSwish; dynamic batch), and writes for
        each model its inputs and targets, and for each case the reference
        attributions, with OUT_DIR/manifest.txt listing the cases.
    make_references.py OUT_DIR --compare COMMITTED_DIR
        The same into an emptied OUT_DIR, then checks that COMMITTED_DIR
        holds what was just made: the same manifest and files, identical
        inputs and targets, the same ONNX graphs and weights, and references
        that agree within (1e-5 + the case's ambiguity) x max |reference|
        (tests/reference_files.py, which both reference scripts share).

Files, for each model MODEL and case CASE:
    MODEL.onnx, MODEL.input.npy (N, 3, 32, 32), MODEL.targets.npy (N, int64),
    MODEL.logits.npy (N, classes): the model's output, for the reported scores;
    CASE.npy: Captum's attributions;
    CASE.delta.npy (N, 3), integrated gradients and DeepLift only: Captum's
        convergence delta, f(x) and f(baseline) at the target.
manifest.txt, one case a line: MODEL FAMILY CASE METHOD [OPTIONS], where
METHOD is illume's method name and OPTIONS are `illume explain`'s method
options (--abs, --steps, --quadrature, --baseline zeros|VALUE, --samples,
--noise, --sigma, --base, --seed, --layer, --upsample, --window H,W,
--stride H,W, --fill, --feature, --channel) and --target top (explain each input's top class;
the reference used the argmax), --delta (compare CASE.delta.npy) and
--ambiguity A (the reference's uncertainty at knife edges, relative to its
largest magnitude: see "Knife edges" below).

How each method maps onto Captum:
    saliency                Saliency(abs=False); --abs: abs=True
    gradxinput              InputXGradient
    guided-backprop         GuidedBackprop
    deconvnet               Deconvolution
    ig                      IntegratedGradients(n_steps, method, baselines,
                            return_convergence_delta=True)
    smoothgrad, smoothgrad-sq, vargrad
                            NoiseTunnel(nt_type smoothgrad, smoothgrad_sq,
                            vargrad) over Saliency(abs=False), InputXGradient,
                            GuidedBackprop or IntegratedGradients, one input
                            row at a time with stdevs = that row's sigma
                            (illume: noise x (max - min) of the row, or
                            --sigma), and torch.normal replaced by illume's
                            Philox draws (philox_normal below)
    gradcam                 LayerGradCam(relu_attributions=True); --upsample:
                            LayerAttribution.interpolate(..., "bilinear")
    gradcam++               Captum has none: pytorch-grad-cam's
                            GradCAMPlusPlus weights (explain/cam.h), in numpy
                            on the layer's activation and gradient, without
                            its rescaling to [0, 1]
    guided-gradcam          GuidedGradCam (nearest interpolation)
    occlusion               Occlusion with a window over all channels,
                            strides and a scalar baseline (the fill)
    deeplift                DeepLift(multiply_by_inputs=True, eps=1e-10)
                            (the rescale rule, Captum's max-pool rule) with
                            a scalar baseline, return_convergence_delta=True
    --feature V --channel C (saliency, gradxinput, guided-backprop,
                            deconvnet): NeuronGradient (x input for
                            gradxinput), NeuronGuidedBackprop and
                            NeuronDeconvolution at the module whose output is
                            V, with the selector sum(A_C * detach(A_C)): the
                            backward seeded with the activation of channel C

Only nn.ReLU modules make ReLUs in these models, since Captum's guided
backpropagation and deconvolution hook nn.ReLU modules and illume applies
its rules to every Relu node. Each export is checked against ONNX Runtime,
and each Grad-CAM layer's ONNX value against the PyTorch module's output.

DeepLift (the deeplift family) runs on two models only, see "DeepLift"
below: mobile, and deep, a model made for it that has no other cases.
residual and concat are skipped, since Captum's hooks go wrong on them
(residual's stem ReLU feeds its MaxPool directly; concat's inception max
pool has overlapping windows and shares its input with the other branches).
"""
import contextlib
import copy
import os
import sys

import numpy as np
import onnx
import onnxruntime
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import reference_files  # noqa: E402 (tests/reference_files.py, shared with the other reference script)
from reference_files import relative_difference  # noqa: E402

from captum.attr import (DeepLift, Deconvolution, GuidedBackprop, GuidedGradCam, InputXGradient, IntegratedGradients,
                         LayerAttribution, LayerGradCam, NeuronDeconvolution, NeuronGradient, NeuronGuidedBackprop,
                         NoiseTunnel, Occlusion, Saliency)

SEED = 20240817
OPSETS = {"residual": 13, "concat": 13, "mobile": 14, "deep": 13}  # opset 14 has HardSwish
INPUT_SHAPE = (3, 32, 32)
ROWS = 2
CLASSES = 10
EXPORT_TOLERANCE = 1e-4
REPRODUCE_TOLERANCE = 1e-5


# Philox4x32-10 (kernels/philox.h) ------------------------------------------------

MASK32 = np.uint64(0xFFFFFFFF)
# Random123's known answers: (key, counter) -> the four output words.
PHILOX_KNOWN_ANSWERS = [
    (0x0000000000000000, (0x00000000, 0x00000000, 0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (0xFFFFFFFFFFFFFFFF, (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (0x299F31D0A4093822, (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]
# illume_philox_normal(7, index, sample) for these (index, sample), printed by a C program calling it.
PHILOX_NORMALS = [((0, 0), 0.000291567645), ((0, 1), 0.559921801), ((3071, 2), -0.967944801),
                  ((3072, 0), -1.54721129), ((3072, 1), 0.1394701), ((5000000000, 2), -0.798833609),
                  ((1, 0), -0.304846972), ((2, 0), 1.78875732), ((3, 0), 1.06787252)]


def philox(key, counters):
    """Philox4x32-10 of counters (4 arrays of uint32 values) under a 64-bit key."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in counters)
    k0, k1 = np.uint64(key & 0xFFFFFFFF), np.uint64(key >> 32)
    for _ in range(10):
        product0 = np.uint64(0xD2511F53) * c0
        product1 = np.uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = ((product1 >> np.uint64(32)) ^ c1 ^ k0, product1 & MASK32,
                          (product0 >> np.uint64(32)) ^ c3 ^ k1, product0 & MASK32)
        k0 = (k0 + np.uint64(0x9E3779B9)) & MASK32
        k1 = (k1 + np.uint64(0xBB67AE85)) & MASK32
    return c0, c1, c2, c3


def philox_normal(seed, index, sample):
    """illume_philox_normal: element i is lane i % 4 of the block of counter
    (i // 4, sample); words (0, 1) give lanes 0 and 1, words (2, 3) lanes 2
    and 3, by Box-Muller in double (cosine for the even lane, sine for the
    odd), as float32."""
    index = np.asarray(index, dtype=np.uint64)
    sample = np.broadcast_to(np.asarray(sample, dtype=np.uint64), index.shape)
    group, lane = index >> np.uint64(2), (index & np.uint64(3)).astype(np.int64)
    words = philox(seed, (group & MASK32, group >> np.uint64(32), sample, np.zeros_like(group)))
    pair = lane // 2
    first = np.where(pair == 0, words[0], words[2]).astype(np.float64)
    second = np.where(pair == 0, words[1], words[3]).astype(np.float64)
    u1 = (first + 0.5) * (1.0 / 4294967296.0)
    u2 = (second + 0.5) * (1.0 / 4294967296.0)
    radius, angle = np.sqrt(-2.0 * np.log(u1)), 6.283185307179586 * u2
    return np.where(lane % 2 == 0, radius * np.cos(angle), radius * np.sin(angle)).astype(np.float32)


def check_philox():
    for key, counter, expected in PHILOX_KNOWN_ANSWERS:
        words = tuple(int(word) for word in philox(key, counter))
        if words != expected:
            raise SystemExit("Philox4x32-10 of key %#x counter %s gives %s, not Random123's %s" %
                             (key, counter, [hex(w) for w in words], [hex(w) for w in expected]))
    for (index, sample), expected in PHILOX_NORMALS:
        value = float(philox_normal(7, [index], sample)[0])
        if abs(value - expected) > 1e-6 * max(1.0, abs(expected)):
            raise SystemExit("philox_normal(7, %d, %d) = %.9g, illume's C gives %.9g" % (index, sample, value,
                                                                                       expected))


@contextlib.contextmanager
def philox_noise(seed, row, sigma):
    """Makes torch.normal, which NoiseTunnel draws its noise with, return
    sigma times illume's Philox deviates for input row `row`: sample s of
    element i is philox_normal(seed, row * row_elements + i, s)."""
    original = torch.normal
    row_elements = int(np.prod(INPUT_SHAPE))

    def normal(mean, std, *args, **kwargs):
        samples = std.shape[0]
        if args or kwargs or float(mean) != 0.0 or tuple(std.shape[1:]) != INPUT_SHAPE or \
                not torch.all(std == np.float32(sigma)):
            raise RuntimeError("NoiseTunnel drew its noise in an unexpected way")
        index = row * row_elements + np.arange(row_elements, dtype=np.uint64)
        noise = np.stack([philox_normal(seed, index, s) for s in range(samples)]).reshape(std.shape)
        return std * torch.from_numpy(noise)

    torch.normal = normal
    try:
        yield
    finally:
        torch.normal = original


# Models -------------------------------------------------------------------------


def conv_bn(inputs, outputs, kernel, stride=1, groups=1, activation=nn.ReLU):
    layers = [nn.Conv2d(inputs, outputs, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(outputs)]
    if activation is not None:
        layers.append(activation())
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two convolutions and a residual Add (projected when the shape changes), then ReLU."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.body = nn.Sequential(conv_bn(inputs, outputs, 3, stride), conv_bn(outputs, outputs, 3, activation=None))
        self.shortcut = (nn.Identity() if stride == 1 and inputs == outputs else
                         conv_bn(inputs, outputs, 1, stride, activation=None))
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.body(x) + self.shortcut(x))


class ResidualNet(nn.Module):
    """BatchNorm after every convolution, max pooling, residual adds (identity and projected)."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 12, 3)
        self.pool = nn.MaxPool2d(2)
        self.block1 = BasicBlock(12, 12, 1)
        self.block2 = BasicBlock(12, 24, 2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, CLASSES))

    def forward(self, x):
        return self.head(self.block2(self.block1(self.pool(self.stem(x)))))

    def layers(self):
        """Grad-CAM layers: the default (the input of the last GlobalAveragePool) and an earlier one."""
        return self.block2.relu, self.block1.relu


class Inception(nn.Module):
    """Three branches joined by Concat: 1x1, 1x1 then 3x3, 3x3 max pool then 1x1."""

    def __init__(self, inputs):
        super().__init__()
        self.branch1 = conv_bn(inputs, 8, 1)
        self.branch3 = nn.Sequential(conv_bn(inputs, 6, 1), conv_bn(6, 8, 3))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_bn(inputs, 8, 1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch3(x), self.branch_pool(x)], 1)


class ConcatNet(nn.Module):
    """Average and max pooling, an inception block's Concat, a convolution with bias and no BatchNorm."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 12, 3)
        self.pool = nn.AvgPool2d(2)
        self.inception = Inception(12)
        self.reduce = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(24, 32, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, CLASSES))

    def forward(self, x):
        return self.head(self.reduce(self.inception(self.pool(self.stem(x)))))

    def layers(self):
        return self.reduce[2], self.inception


class SqueezeExcite(nn.Module):
    """GlobalAveragePool, 1x1 convolution, ReLU, 1x1 convolution, gate, Mul."""

    def __init__(self, channels, reduced, gate):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.relu = nn.ReLU()
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = gate()

    def forward(self, x):
        return x * self.gate(self.expand(self.relu(self.reduce(self.pool(x)))))


class InvertedResidual(nn.Module):
    """Expand, depthwise, squeeze-excite, project, residual Add."""

    def __init__(self, channels, expanded, activation, gate):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, expanded, 1, activation=activation),
                                  conv_bn(expanded, expanded, 3, groups=expanded, activation=activation),
                                  SqueezeExcite(expanded, 8, gate), conv_bn(expanded, channels, 1, activation=None))

    def forward(self, x):
        return x + self.body(x)


class MobileNet(nn.Module):
    """Depthwise convolutions, HardSwish, squeeze-excite with HardSigmoid and with Sigmoid."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, stride=2, activation=nn.Hardswish)
        self.block1 = InvertedResidual(16, 32, nn.Hardswish, nn.Hardsigmoid)
        self.down = conv_bn(16, 24, 3, stride=2)
        self.block2 = InvertedResidual(24, 48, nn.ReLU, nn.Sigmoid)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, CLASSES))

    def forward(self, x):
        return self.head(self.block2(self.down(self.block1(self.stem(x)))))

    def layers(self):
        return self.block2, self.block1


class DeepNet(nn.Module):
    """For DeepLift only: max pooling, Sigmoid, Tanh and ReLU, each its own
    module, none feeding another directly. The max pool (kernel 2, stride 2)
    works on the input itself, where a constant baseline's windows tie exactly
    in any engine (after a convolution they tie only as far as the engine
    computes every position alike, and the baseline's max-pool rule routes
    through the first of the tied maxima)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.MaxPool2d(2, 2), conv_bn(3, 12, 3, 2, activation=nn.Sigmoid),
                                      conv_bn(12, 16, 3, 2, activation=nn.Tanh), nn.Conv2d(16, 16, 1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 16), nn.ReLU(),
                                  nn.Linear(16, CLASSES))

    def forward(self, x):
        return self.head(self.features(x))


# In this order: a model's index sets the seeds of its inputs (draw_inputs).
MODELS = {"residual": ResidualNet, "concat": ConcatNet, "mobile": MobileNet, "deep": DeepNet}
# The models with DeepLift cases; those without Grad-CAM layers have no other cases.
DEEPLIFT_MODELS = ("mobile", "deep")


def build(name):
    return reference_files.build_model(MODELS[name], SEED, INPUT_SHAPE)




def export(model, name, directory, inputs):
    path = os.path.join(directory, name + ".onnx")
    torch.onnx.export(model, torch.zeros((1,) + INPUT_SHAPE), path, opset_version=OPSETS[name], input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": inputs})
    with torch.no_grad():
        expected = model(torch.from_numpy(inputs)).numpy()
    if not relative_difference(logits, expected) <= EXPORT_TOLERANCE:
        raise SystemExit("%s: ONNX Runtime and PyTorch disagree on the logits" % name)
    return path, expected


def onnx_value_of(path, model, module, inputs):
    """The name of the ONNX value that holds `module`'s output: the first node
    output (in graph order) equal to it under ONNX Runtime."""
    activations = []
    hook = module.register_forward_hook(lambda _module, _inputs, output: activations.append(output.numpy()))
    with torch.no_grad():
        model(torch.from_numpy(inputs))
    hook.remove()
    expected = activations[0]
    graph = onnx.load(path)
    names = [output for node in graph.graph.node for output in node.output]
    del graph.graph.output[:]
    for value in names:
        graph.graph.output.append(onnx.helper.make_empty_tensor_value_info(value))
        graph.graph.output[-1].type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    for value, data in zip(names, session.run(None, {"input": inputs})):
        if data.shape == expected.shape and relative_difference(data, expected) <= EXPORT_TOLERANCE:
            return value
    raise SystemExit("no value of %s holds the output of %s" % (path, type(module).__name__))


def default_layer(path):
    """illume's default Grad-CAM layer: the input of the last GlobalAveragePool."""
    pools = [node for node in onnx.load(path).graph.node if node.op_type == "GlobalAveragePool"]
    return pools[-1].input[0]


# Knife edges ------------------------------------------------------------------------
#
# A ReLU whose input is within float32 rounding of 0, a HardSigmoid or
# HardSwish input as close to -3 or 3, or a max pool window whose two largest
# values are as close, takes one branch in PyTorch and may take the other in
# illume, whose sums run in another order over BatchNorm-folded weights: the
# gradient then differs in that unit's receptive field, by up to several
# percent of the attribution's largest magnitude for one unit. Two defences:
#   - each model's inputs are the first draw whose single-gradient cases
#     (the gradients and cam families) meet no unit within CLEAR_MARGIN;
#   - integrated gradients and SmoothGrad evaluate hundreds of rows, where
#     such units cannot all be avoided, so each case is computed again with
#     every unit within KNIFE_EDGE of its kink given the other branch's
#     derivative (a max pool routing to its runner-up); the largest change,
#     relative to max |reference|, is the case's ambiguity, which the C test
#     adds to its tolerance.
# Margins are relative to the largest magnitude in the unit's input tensor.
# The largest margin at which illume was seen to take the other branch is
# 6.3e-8 (a ReLU after a BatchNorm-folded 1x1 convolution); the exported
# HardSigmoid's alpha 0.16666667 moves its kinks by 1.5e-8 relative.

KNIFE_EDGE = 2e-7
CLEAR_MARGIN = 1e-6
INPUT_DRAWS = 50


class KnifeEdges:
    """Counts the units near a kink; with flip set, gives them the other branch's derivative."""

    def __init__(self):
        self.flip = False
        self.units = 0
        self.margin = KNIFE_EDGE

    def mirrored(self, z, kinks):
        """z, with each value near a kink mirrored through it (onto the other branch)."""
        limit = self.margin * float(z.detach().abs().max())
        result = z.detach().clone()
        for kink in kinks:
            near = (z.detach() - kink).abs() < limit
            self.units += int(near.sum())
            result = torch.where(near, 2.0 * kink - z.detach(), result)
        return result if self.flip else z.detach()


EDGES = KnifeEdges()


def relu_derivative(z):
    return (z > 0).to(z.dtype)


def hardsigmoid_derivative(z):
    return ((z > -3.0) & (z < 3.0)).to(z.dtype) / 6.0


def hardswish_derivative(z):
    return torch.where(z < -3.0, torch.zeros_like(z), torch.where(z <= 3.0, z / 3.0 + 0.5, torch.ones_like(z)))


def kinked(value, derivative, kinks):
    """An activation whose backward takes its derivative at the mirrored input near a kink."""

    class Activation(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(derivative(EDGES.mirrored(z, kinks)))
            return value(z)

        @staticmethod
        def backward(ctx, gradient):
            (slope,) = ctx.saved_tensors
            return gradient * slope

    return Activation


KinkedRelu = kinked(torch.relu, relu_derivative, [0.0])
KinkedHardsigmoid = kinked(nn.functional.hardsigmoid, hardsigmoid_derivative, [-3.0, 3.0])
KinkedHardswish = kinked(nn.functional.hardswish, hardswish_derivative, [-3.0, 3.0])


class KinkedMaxPool(torch.autograd.Function):
    """Max pooling (square window, no dilation, floor mode) whose backward routes
    each window's gradient to its first maximum, or with flip set to the runner-up
    where the two are closer than the knife edge (exact ties keep the first, as
    PyTorch and illume both do)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        batch, channels, height, width = x.shape
        padded = nn.functional.pad(x, (padding,) * 4, value=float("-inf")) if padding else x
        columns = nn.functional.unfold(padded.reshape(batch * channels, 1, *padded.shape[2:]), kernel,
                                       stride=stride)
        first = columns.argmax(dim=1, keepdim=True)
        top = columns.gather(1, first)
        rest = columns.scatter(1, first, float("-inf"))
        second = rest.argmax(dim=1, keepdim=True)
        gap = top - rest.gather(1, second)
        near = (gap > 0) & (gap < EDGES.margin * float(x.abs().max()))
        EDGES.units += int(near.sum())
        ctx.chosen = torch.where(near, second, first) if EDGES.flip else first
        ctx.geometry = (batch, channels, padded.shape[2:], kernel, stride, padding, columns.shape)
        rows = (padded.shape[2] - kernel) // stride + 1
        return top.reshape(batch, channels, rows, -1)

    @staticmethod
    def backward(ctx, gradient):
        batch, channels, padded_size, kernel, stride, padding, shape = ctx.geometry
        columns = torch.zeros(shape, dtype=gradient.dtype).scatter(1, ctx.chosen,
                                                                   gradient.reshape(batch * channels, 1, -1))
        result = nn.functional.fold(columns, padded_size, kernel, stride=stride)
        result = result.reshape(batch, channels, *padded_size)
        if padding:
            result = result[:, :, padding:-padding, padding:-padding]
        return result, None, None, None


def kinked_max_pool(module, x):
    geometry = (module.kernel_size, module.stride, module.padding, module.dilation)
    if not all(isinstance(value, int) for value in geometry) or module.dilation != 1 or module.ceil_mode:
        raise SystemExit("the knife-edge analysis handles square max pools without dilation or ceil mode")
    return KinkedMaxPool.apply(x, module.kernel_size, module.stride, module.padding)


@contextlib.contextmanager
def knife_edges(flip, margin=KNIFE_EDGE):
    """Runs the models' kinked modules through the functions above: counting
    the units within margin of a kink, and with flip giving them the other branch."""
    saved = (nn.ReLU.forward, nn.Hardsigmoid.forward, nn.Hardswish.forward, nn.MaxPool2d.forward)
    nn.ReLU.forward = lambda module, z: KinkedRelu.apply(z)
    nn.Hardsigmoid.forward = lambda module, z: KinkedHardsigmoid.apply(z)
    nn.Hardswish.forward = lambda module, z: KinkedHardswish.apply(z)
    nn.MaxPool2d.forward = kinked_max_pool
    EDGES.flip, EDGES.units, EDGES.margin = flip, 0, margin
    try:
        yield EDGES
    finally:
        nn.ReLU.forward, nn.Hardsigmoid.forward, nn.Hardswish.forward, nn.MaxPool2d.forward = saved
        EDGES.flip = False


# Cases ------------------------------------------------------------------------------


class Case:
    """One manifest line; compute() gives Captum's attributions and, for
    integrated gradients and DeepLift, the (N, 3) deltas, f(x) and
    f(baseline); ambiguity(attributions, deltas), where given, checks them
    and measures an uncertainty besides the knife edges'."""

    def __init__(self, family, name, method, options, compute, ambiguity=None):
        self.family, self.name, self.method, self.options, self.compute = family, name, method, options, compute
        self.ambiguity = ambiguity


def tensor(array):
    return torch.from_numpy(np.ascontiguousarray(array))


def targets_list(targets):
    return [int(t) for t in targets]


def plain(attribute):
    return lambda: (attribute(), None)


def gradient_cases(model, x, targets):
    t = targets_list(targets)
    with torch.no_grad():
        top = model(x).argmax(dim=1).tolist()
    return [
        Case("gradients", "saliency", "saliency", [], plain(lambda: Saliency(model).attribute(x, target=t, abs=False))),
        Case("gradients", "saliency_abs", "saliency", ["--abs"],
             plain(lambda: Saliency(model).attribute(x, target=t, abs=True))),
        Case("gradients", "gradxinput", "gradxinput", [], plain(lambda: InputXGradient(model).attribute(x, target=t))),
        Case("gradients", "guided_backprop", "guided-backprop", [],
             plain(lambda: GuidedBackprop(model).attribute(x, target=t))),
        Case("gradients", "deconvnet", "deconvnet", [], plain(lambda: Deconvolution(model).attribute(x, target=t))),
        # Targets left to illume (-1, the top class), against Captum on the argmax.
        Case("gradients", "saliency_top", "saliency", ["--target", "top"],
             plain(lambda: Saliency(model).attribute(x, target=top, abs=False))),
    ]


QUADRATURES = {"gausslegendre": "gauss-legendre", "riemann_left": "left", "riemann_right": "right",
               "riemann_middle": "middle", "riemann_trapezoid": "trapezoid"}
IG_STEPS = 16
IG_CONSTANT = 0.5


def integrated_gradients(model, x, t, baseline, captum_method):
    attributions, delta = IntegratedGradients(model).attribute(x, baselines=baseline, target=t, n_steps=IG_STEPS,
                                                               method=captum_method, return_convergence_delta=True)
    with torch.no_grad():
        ends = model(x)[range(len(t)), t], model(torch.full_like(x, baseline))[range(len(t)), t]
    return attributions, np.stack([delta.detach().numpy(), ends[0].numpy(), ends[1].numpy()], axis=1)


def integrated_gradients_cases(model, x, targets):
    t = targets_list(targets)
    cases = []
    for captum_method, quadrature in QUADRATURES.items():
        for label, baseline in (("zeros", 0.0), ("constant", IG_CONSTANT)):
            options = ["--steps", str(IG_STEPS), "--quadrature", quadrature,
                       "--baseline", "zeros" if label == "zeros" else str(baseline), "--delta"]
            cases.append(Case("ig", "ig_%s_%s" % (captum_method, label), "ig", options,
                              lambda b=baseline, m=captum_method: integrated_gradients(model, x, t, b, m)))
    return cases


NOISE_SEED = 1234
NOISE_LEVEL = 0.15
NOISE_SAMPLES = 8
NOISE_IG_STEPS = 8


def noise_tunnel(model, x, targets, nt_type, base, sigma=None):
    """NoiseTunnel over the base method, each input row with its own sigma and Philox noise."""
    rows = []
    for row in range(x.shape[0]):
        data = x[row:row + 1]
        level = np.float32(sigma) if sigma else np.float32(NOISE_LEVEL) * (data.max() - data.min()).numpy()
        if base == "saliency":
            method, arguments = Saliency(model), {"abs": False}
        elif base == "gradxinput":
            method, arguments = InputXGradient(model), {}
        elif base == "guided-backprop":
            method, arguments = GuidedBackprop(model), {}
        else:
            method, arguments = IntegratedGradients(model), {"n_steps": NOISE_IG_STEPS, "baselines": 0.0}
        with philox_noise(NOISE_SEED, row, level):
            rows.append(NoiseTunnel(method).attribute(data, nt_type=nt_type, nt_samples=NOISE_SAMPLES,
                                                      stdevs=float(level), target=int(targets[row]), **arguments))
    return torch.cat(rows)


def noise_cases(model, x, targets):
    cases = []
    common = ["--samples", str(NOISE_SAMPLES), "--seed", str(NOISE_SEED)]
    for nt_type, method in (("smoothgrad", "smoothgrad"), ("smoothgrad_sq", "smoothgrad-sq"),
                            ("vargrad", "vargrad")):
        for base in ("saliency", "ig"):
            options = common + ["--noise", str(NOISE_LEVEL), "--base", base]
            if base == "ig":
                options += ["--steps", str(NOISE_IG_STEPS)]
            cases.append(Case("noise", "%s_%s" % (nt_type, base), method, options,
                              plain(lambda n=nt_type, b=base: noise_tunnel(model, x, targets, n, b))))
    for base in ("gradxinput", "guided-backprop"):
        cases.append(Case("noise", "smoothgrad_%s" % base.replace("-", "_"), "smoothgrad",
                          common + ["--noise", str(NOISE_LEVEL), "--base", base],
                          plain(lambda b=base: noise_tunnel(model, x, targets, "smoothgrad", b))))
    cases.append(Case("noise", "smoothgrad_sigma", "smoothgrad", common + ["--sigma", "0.3"],
                      plain(lambda: noise_tunnel(model, x, targets, "smoothgrad", "saliency", sigma=0.3))))
    return cases


def gradcam_plus_plus(model, layer, x, targets):
    """pytorch-grad-cam's GradCAMPlusPlus weights on the layer's activation A
    and gradient g: alpha = g^2 / (2 g^2 + sum_ij(A) g^3 + 1e-6), 0 where g is
    0; w_c = sum_ij alpha ReLU(g); map ReLU(sum_c w_c A_c)."""
    kept = []

    def keep(_module, _inputs, output):
        output.retain_grad()
        kept.append(output)

    hook = layer.register_forward_hook(keep)
    data = x.clone().requires_grad_()
    output = model(data)
    hook.remove()
    output[range(len(targets)), targets_list(targets)].sum().backward()
    activation = kept[0].detach().numpy().astype(np.float64)
    gradient = kept[0].grad.numpy().astype(np.float64)
    activation_sum = activation.sum(axis=(2, 3), keepdims=True)
    square = gradient ** 2
    alpha = square / (2.0 * square + activation_sum * square * gradient + 1e-6)
    alpha = np.where(gradient != 0.0, alpha, 0.0)
    weights = (alpha * np.maximum(gradient, 0.0)).sum(axis=(2, 3), keepdims=True)
    return np.maximum((weights * activation).sum(axis=1, keepdims=True), 0.0).astype(np.float32)


def cam_cases(model, x, targets, layer_names):
    t = targets_list(targets)
    default_module, explicit_module = model.layers()
    cases = []
    for which, module in (("default", default_module), ("layer", explicit_module)):
        options = [] if which == "default" else ["--layer", layer_names[which]]

        def gradcam(m=module):
            return LayerGradCam(model, m).attribute(x, target=t, relu_attributions=True)

        cases += [
            Case("cam", "gradcam_" + which, "gradcam", options, plain(gradcam)),
            Case("cam", "gradcam_%s_upsample" % which, "gradcam", options + ["--upsample"],
                 plain(lambda g=gradcam: LayerAttribution.interpolate(g(), INPUT_SHAPE[1:], "bilinear"))),
            Case("cam", "gradcam_plus_plus_" + which, "gradcam++", options,
                 plain(lambda m=module: gradcam_plus_plus(model, m, x, targets))),
            Case("cam", "guided_gradcam_" + which, "guided-gradcam", options,
                 plain(lambda m=module: GuidedGradCam(model, m).attribute(x, target=t))),
        ]
    return cases


FEATURE_CHANNEL = 1


def feature_cases(model, x, module, name):
    """The gradient methods started at a feature map (channel FEATURE_CHANNEL of module's output)."""

    def selector(activation):
        channel = activation[:, FEATURE_CHANNEL]
        return (channel * channel.detach()).flatten(1).sum(dim=1)

    options = ["--feature", name, "--channel", str(FEATURE_CHANNEL)]
    return [
        Case("feature", "feature_saliency", "saliency", options,
             plain(lambda: NeuronGradient(model, module).attribute(x, selector))),
        Case("feature", "feature_gradxinput", "gradxinput", options,
             plain(lambda: x * NeuronGradient(model, module).attribute(x, selector))),
        Case("feature", "feature_guided_backprop", "guided-backprop", options,
             plain(lambda: NeuronGuidedBackprop(model, module).attribute(x, selector))),
        Case("feature", "feature_deconvnet", "deconvnet", options,
             plain(lambda: NeuronDeconvolution(model, module).attribute(x, selector))),
    ]


def occlusion_cases(model, x, targets):
    t = targets_list(targets)
    channels = INPUT_SHAPE[0]
    cases = []
    for name, window, stride, fill in (("occlusion_8x8", (8, 8), (4, 4), 0.0),
                                       ("occlusion_7x5_fill", (7, 5), (3, 4), 0.5)):
        options = ["--window", "%d,%d" % window, "--stride", "%d,%d" % stride, "--fill", str(fill)]
        cases.append(Case("occlusion", name, "occlusion", options, plain(
            lambda w=window, s=stride, f=fill: Occlusion(model).attribute(
                x, sliding_window_shapes=(channels,) + w, strides=(channels,) + s, baselines=f, target=t))))
    return cases


# DeepLift ---------------------------------------------------------------------------
#
# Captum's DeepLift runs the inputs and their baselines as one batch, seeds
# the target of both halves, and hooks the nn modules of its
# SUPPORTED_NON_LINEAR list; every other op keeps its gradient (here
# HardSwish, HardSigmoid and the squeeze-excite Mul, each half at its own
# values, so that the deltas are not 0 on mobile). Its hooks are right only
# where no hooked module feeds another directly (each records the gradient
# at its output with a tensor hook that runs before the next module's rule
# has replaced it), where a hooked module's input goes nowhere else (the rule
# replaces that input's whole gradient), and where max-pool windows do not
# overlap (max_unpool2d keeps one of the overlapping contributions instead
# of summing them). residual (its stem ReLU feeds its MaxPool) and concat
# (the inception's 3x3 stride-1 max pool, whose input feeds two other
# branches) break these: on residual Captum departs from these rules by 20%
# of the largest attribution, and on both its deltas (but residual's with zero
# baselines) are far from 0 where the network should conserve exactly. So the
# DeepLift cases run on mobile and deep only, and each is checked against the
# rules written out below, which are what illume computes.
#
# The rescale multiplier (y - y_ref) / (x - x_ref) is not piecewise constant
# like a gradient, but cancels in float32 where x is near x_ref; each case's
# ambiguity also holds the change from Captum in float32 to Captum in
# float64 (attributions, and deltas relative to max(|f(x)|, |f(baseline)|)).

DEEPLIFT_EPS = 1e-10  # Captum's default, and illume's


def halves_difference(z):
    half = len(z) // 2
    return z[:half] - z[half:]


def rescaled(function):
    """function as a DeepLift nonlinearity on a batch of inputs then baselines:
    its backward multiplies both halves by (y - y_ref) / (x - x_ref), or each
    by its own derivative where |x - x_ref| < DEEPLIFT_EPS."""

    class Rescaled(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            with torch.enable_grad():
                leaf = z.detach().requires_grad_()
                y = function(leaf)
                (derivative,) = torch.autograd.grad(y.sum(), leaf)
            y = y.detach()
            difference = halves_difference(z)
            plain = torch.cat(2 * [difference.abs() < DEEPLIFT_EPS])
            multiplier = halves_difference(y) / torch.where(difference == 0, torch.ones_like(difference), difference)
            ctx.save_for_backward(torch.where(plain, derivative, torch.cat(2 * [multiplier])))
            return y

        @staticmethod
        def backward(ctx, gradient):
            (multiplier,) = ctx.saved_tensors
            return gradient * multiplier

    return Rescaled


class RescaledMaxPool(torch.autograd.Function):
    """Captum's max-pool rule, for windows that do not overlap: the change of
    the output split at the cross maximum of the halves' outputs, the inputs'
    part (max - y_ref) routed by the inputs' argmax, the baselines' part
    (y - max) by the baselines' argmax, both with their half's gradient,
    summed and divided by x - x_ref (the plain gradient where that is below
    DEEPLIFT_EPS)."""

    @staticmethod
    def forward(ctx, z, size):
        y, indices = nn.functional.max_pool2d(z, size, size, return_indices=True)
        ctx.save_for_backward(z, y, indices)
        return y

    @staticmethod
    def backward(ctx, gradient):
        z, y, indices = ctx.saved_tensors
        half = len(z) // 2

        def unpool(values):
            return torch.zeros_like(z).flatten(2).scatter_add(2, indices.flatten(2), values.flatten(2)).view_as(z)

        cross = torch.max(y[:half], y[half:])
        routed = unpool(gradient * torch.cat([cross - y[half:], y[:half] - cross]))
        difference = halves_difference(z)
        multiplier = (routed[:half] + routed[half:]) / torch.where(difference == 0, torch.ones_like(difference),
                                                                   difference)
        plain = torch.cat(2 * [difference.abs() < DEEPLIFT_EPS])
        return torch.where(plain, unpool(gradient), torch.cat(2 * [multiplier])), None


RescaledRelu, RescaledSigmoid, RescaledTanh = (rescaled(torch.relu), rescaled(torch.sigmoid),
                                               rescaled(torch.tanh))


def rescaled_max_pool(module, z):
    if not (isinstance(module.kernel_size, int) and module.stride == module.kernel_size and module.padding == 0
            and module.dilation == 1 and not module.ceil_mode):
        raise SystemExit("the DeepLift rules written out here take max pools with stride = kernel only")
    return RescaledMaxPool.apply(z, module.kernel_size)


def deeplift_rules(model, x, baseline, t):
    """DeepLift's attributions by the rules above (no Captum)."""
    if any(isinstance(m, (nn.ELU, nn.LeakyReLU, nn.Softplus, nn.Softmax, nn.MaxPool1d, nn.MaxPool3d))
           for m in model.modules()):
        raise SystemExit("the DeepLift rules written out here lack one of the model's nonlinearities")
    saved = (nn.ReLU.forward, nn.Sigmoid.forward, nn.Tanh.forward, nn.MaxPool2d.forward)
    nn.ReLU.forward = lambda module, z: RescaledRelu.apply(z)
    nn.Sigmoid.forward = lambda module, z: RescaledSigmoid.apply(z)
    nn.Tanh.forward = lambda module, z: RescaledTanh.apply(z)
    nn.MaxPool2d.forward = rescaled_max_pool
    try:
        data = torch.cat([x, torch.full_like(x, baseline)]).requires_grad_()
        output = model(data)
        rows = range(len(t))
        (output[:len(t)][rows, t].sum() + output[len(t):][rows, t].sum()).backward()
    finally:
        nn.ReLU.forward, nn.Sigmoid.forward, nn.Tanh.forward, nn.MaxPool2d.forward = saved
    return ((x - baseline) * data.grad[:len(t)]).numpy()


def deeplift(model, x, t, baseline):
    attributions, delta = DeepLift(model).attribute(x, baselines=baseline, target=t, return_convergence_delta=True)
    with torch.no_grad():
        ends = model(x)[range(len(t)), t], model(torch.full_like(x, baseline))[range(len(t)), t]
    return attributions, np.stack([delta.detach().numpy(), ends[0].numpy(), ends[1].numpy()], axis=1)


def deeplift_ambiguity(model, x, t, baseline, name):
    """Checks Captum's attributions against deeplift_rules, and measures the
    change from float32 to float64."""
    wide = copy.deepcopy(model).double()

    def ambiguity(attributions, deltas):
        if not relative_difference(deeplift_rules(model, x, baseline, t), attributions) <= REPRODUCE_TOLERANCE:
            raise SystemExit("%s: Captum's DeepLift departs from the rescale and max-pool rules" % name)
        wide_attributions, wide_deltas = deeplift(wide, x.double(), t, baseline)
        return max(relative_difference(wide_attributions.detach().numpy(), attributions),
                   float(np.max(np.abs(wide_deltas[:, 0] - deltas[:, 0]) / delta_scale(deltas))))

    return ambiguity


def deeplift_cases(model, x, targets):
    t = targets_list(targets)
    cases = []
    for label, baseline in (("zeros", 0.0), ("constant", IG_CONSTANT)):
        name = "deeplift_" + label
        cases.append(Case("deeplift", name, "deeplift",
                          ["--baseline", "zeros" if label == "zeros" else str(baseline), "--delta"],
                          lambda b=baseline: deeplift(model, x, t, b), deeplift_ambiguity(model, x, t, baseline, name)))
    return cases


def delta_scale(deltas):
    """What a completeness delta is compared relative to: max(|f(x)|, |f(baseline)|)."""
    return np.maximum(np.abs(deltas[:, 1]), np.abs(deltas[:, 2]))


def evaluate(case):
    """Captum's attributions and deltas (numpy), the knife-edge units met, and the ambiguity."""

    def run():
        attributions, deltas = case.compute()
        if isinstance(attributions, torch.Tensor):
            attributions = attributions.detach().numpy()
        return attributions.astype(np.float32), deltas

    attributions, deltas = run()
    with knife_edges(flip=False) as edges:
        counted, _ = run()
        units = edges.units
    if not relative_difference(counted, attributions) <= 1e-5:
        raise SystemExit("%s: the knife-edge functions do not reproduce PyTorch's gradients" % case.name)
    ambiguity = 0.0
    if units:
        with knife_edges(flip=True):
            flipped, flipped_deltas = run()
        ambiguity = relative_difference(flipped, attributions)
        if deltas is not None:
            ambiguity = max(ambiguity, float(np.max(np.abs(flipped_deltas[:, 0] - deltas[:, 0]) /
                                                    delta_scale(deltas))))
    if case.ambiguity:
        ambiguity = max(ambiguity, case.ambiguity(attributions, deltas))
    return attributions, deltas, units, ambiguity


# Output -----------------------------------------------------------------------------


def draw_inputs(model, index):
    """The first draw of inputs and targets whose single-gradient cases meet
    no unit within CLEAR_MARGIN of a kink."""
    for draw in range(INPUT_DRAWS):
        generator = torch.Generator().manual_seed(SEED + 1 + index + 1000 * draw)
        inputs = torch.randn((ROWS,) + INPUT_SHAPE, generator=generator).numpy()
        targets = torch.randint(0, CLASSES, (ROWS,), generator=generator).numpy().astype(np.int64)
        x = tensor(inputs)
        cases = gradient_cases(model, x, targets)
        if hasattr(model, "layers"):
            cases += cam_cases(model, x, targets, {"default": "", "layer": ""})
        with knife_edges(flip=False, margin=CLEAR_MARGIN) as edges:
            for case in cases:
                case.compute()
            if edges.units == 0:
                return inputs, targets, draw
    raise SystemExit("no draw of %d has single-gradient cases clear of knife edges" % INPUT_DRAWS)


def make(directory):
    check_philox()
    os.makedirs(directory, exist_ok=True)
    lines = ["# model family case method [options] (written by make_references.py)"]
    for index, name in enumerate(MODELS):
        model = build(name)
        inputs, targets, draw = draw_inputs(model, index)
        print("%s: inputs of draw %d" % (name, draw))
        path, logits = export(model, name, directory, inputs)
        np.save(os.path.join(directory, name + ".input.npy"), inputs)
        np.save(os.path.join(directory, name + ".targets.npy"), targets)
        np.save(os.path.join(directory, name + ".logits.npy"), logits.astype(np.float32))
        x = tensor(inputs)
        cases = []
        if hasattr(model, "layers"):
            default_module, explicit_module = model.layers()
            layer_names = {"default": onnx_value_of(path, model, default_module, inputs),
                           "layer": onnx_value_of(path, model, explicit_module, inputs)}
            if layer_names["default"] != default_layer(path):
                raise SystemExit("%s: the default layer %s is not illume's default %s" %
                                 (name, layer_names["default"], default_layer(path)))
            cases = (gradient_cases(model, x, targets) + integrated_gradients_cases(model, x, targets) +
                     noise_cases(model, x, targets) + cam_cases(model, x, targets, layer_names) +
                     occlusion_cases(model, x, targets) +
                     feature_cases(model, x, explicit_module, layer_names["layer"]))
        if name in DEEPLIFT_MODELS:
            cases += deeplift_cases(model, x, targets)
        for case in cases:
            case_name = "%s.%s" % (name, case.name)
            attributions, deltas, units, ambiguity = evaluate(case)
            np.save(os.path.join(directory, case_name + ".npy"), attributions)
            if deltas is not None:
                np.save(os.path.join(directory, case_name + ".delta.npy"), deltas.astype(np.float32))
            # Rounded up to two digits, so that the recorded value is never below the measured one.
            options = case.options + (["--ambiguity", "%.2g" % (1.06 * ambiguity)] if ambiguity >= 1e-6 else [])
            lines.append(" ".join([name, case.family, case_name, case.method] + options))
            print("%-40s %5d units at a knife edge, ambiguity %.2e" % (case_name, units, ambiguity))
    with open(os.path.join(directory, "manifest.txt"), "w") as file:
        file.write("\n".join(lines) + "\n")












if __name__ == "__main__":
    reference_files.main(__doc__.split("\n\n")[0], make, REPRODUCE_TOLERANCE)
