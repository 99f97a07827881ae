#!/usr/bin/env python3
"""Records Zennit's layer-wise relevance propagation on small models as
references for `illume explain -m lrp` (tests/explain/test_captum.c compares
them, family lrp).

    make_references.py OUT_DIR
        Builds the models below (fixed seeds, BatchNorm with non-trivial
        running statistics), exports each to OUT_DIR/MODEL.onnx (opset 13,
        dynamic batch; BatchNorm folded or not: see below), and writes for
        each model its inputs and targets, and for each case Zennit's
        relevance at the input, with OUT_DIR/manifest.txt listing the cases.
    make_references.py OUT_DIR --compare COMMITTED_DIR
        The same into an emptied OUT_DIR, then checks that COMMITTED_DIR
        holds what was just made: the same manifest and files, identical
        inputs and targets, the same ONNX graphs and weights, and references
        that agree within (1e-5 + the case's ambiguity) x max |reference|
        (tests/reference_files.py, which both reference scripts share).

Files, for each model MODEL and case CASE:
    MODEL.onnx, MODEL.input.npy (N, 3, 32, 32), MODEL.targets.npy (N, int64),
    MODEL.logits.npy (N, classes): the model's output;
    CASE.npy: Zennit's relevance at the input (float32, the input's shape);
    CASE.sums.npy (N, 2): per row the sum of CASE.npy and the relevance put
        in at the top, the target's logit as Zennit's canonized model gives
        it (within 1e-4 of MODEL.logits.npy: see "Merged BatchNorms" below);
        how far LRP conserves relevance, for information, not compared by
        the C test.
manifest.txt, one case a line: MODEL lrp CASE lrp OPTIONS, where OPTIONS
are `illume explain -m lrp`'s (--composite, --epsilon, --gamma, --low,
--high, --stabilizer, --rules) and --ambiguity A: the reference's own float32
uncertainty relative to its largest magnitude, 1.06 x max |Zennit in float32
- Zennit in float64| / max |Zennit in float64| (rounded to two digits;
left out below 1e-6). Rule maps hold no spaces, and hold semicolons.

The relevance put in at the top is the target's logit, R = one_hot(target)
x logits: Gradient(model, composite, attr_output=...) with attr_output the
model output times the one-hot vector.

How illume's options map onto Zennit 0.5.1 (zennit_composite below builds
the composite from the manifest's options, so these are what was run):
    --composite epsilon-plus-flat       EpsilonPlusFlat(epsilon, stabilizer)
    --composite epsilon-plus            EpsilonPlus(epsilon, stabilizer)
    --composite epsilon-gamma-box --low L --high H
                                        EpsilonGammaBox(L, H, epsilon, gamma,
                                        stabilizer), L and H scalars
    --composite epsilon-alpha2-beta1    EpsilonAlpha2Beta1(epsilon, stabilizer)
    --composite epsilon-alpha2-beta1-flat
                                        EpsilonAlpha2Beta1Flat(epsilon,
                                        stabilizer)
    --composite none --rules MAP        SpecialFirstLayerMapComposite with
                                        layer_map = layer_map_base(stabilizer)
                                        + [(Convolution, conv rule or
                                        Epsilon(epsilon)), (torch.nn.Linear,
                                        dense rule or Epsilon(epsilon))] and
                                        first_map = [(zennit.types.Linear,
                                        first rule)] when MAP has `first`
    --epsilon E (default 1e-6), --gamma G (0.25), --stabilizer S (1e-6):
    the composites' epsilon, gamma and stabilizer arguments; the stabilizer
    also goes to Norm (sums and average pools) and to the map's rules.
    MAP is KEY=RULE;KEY=RULE..., KEY first, conv or dense, RULE:
        epsilon:E  Epsilon(epsilon=E)       gamma:G    Gamma(gamma=G)
        alpha-beta:A,B  AlphaBeta(A, B)     zplus      ZPlus()
        zbox:L,H   ZBox(low=L, high=H)      flat       Flat()
        wsquare    WSquare()                pass       Pass()
    (each with the --stabilizer; Pass hands the relevance on unchanged,
    which only a node that keeps its input's shape allows).
Every composite gets the canonizers: SequentialMergeBatchNorm (chain,
concat) or zennit.torchvision.ResNetCanonizer (residual).

What Zennit does, node by node (layer_map_base and the composites):
    ReLU (any activation)  Pass: the relevance goes through unchanged, even
                           where the ReLU was off.
    residual Add           Norm: R_i = x_i R / stab(x_1 + x_2). The
                           ResNetCanonizer makes torchvision's BasicBlock sum
                           its two branches through a Sum module over a
                           torch.stack, which gets Norm; the export has Add.
    AvgPool, AdaptiveAvgPool (GlobalAveragePool)
                           Norm: R_in = x * d(pool)^T (R / stab(pool(x))).
    MaxPool, Flatten, Concat
                           no rule: the gradient (MaxPool's to the first
                           maximum of each window).
    BatchNorm              merged into the Conv or Linear right before it
                           (MergeBatchNorm's weight x scale, (bias - mean) x
                           scale + shift), then the identity; one that cannot
                           be merged (concat's, after a Concat and ReLUs) is
                           Pass: its relevance goes through unchanged, its
                           scale and shift ignored. The exports: chain's
                           with training=EVAL, where torch.onnx folds each
                           BatchNorm into its Conv (no BatchNormalization
                           node left); residual's and concat's with
                           training=PRESERVE, which keeps every BatchNorm as
                           a BatchNormalization node, so illume must merge
                           those after a Conv itself. Concat's BatchNorm on
                           the concat stays a BatchNormalization node either
                           way (checked below).
    Conv, Linear (Gemm)    the composite's rules: Convolution (conv) and
                           torch.nn.Linear (dense) of the layer map; the first
                           layer rule goes to the first module in
                           named_modules() order that the first map's types
                           match (EpsilonGammaBox: a Convolution; the -flat
                           composites and the rule map's `first`: a Conv or
                           Linear). In these models that is the first Conv
                           node of the ONNX graph (checked below). In concat
                           both branch convolutions read the input, and only
                           the first (the 1x1 branch) gets the first-layer
                           rule; the 3x3 one gets the conv rule.
With z = W x + b the layer's output, stab(z) = z + S sign(z) with sign(0)
= +1, x+ = max(x, 0), x- = min(x, 0), W+, W- likewise (b too), the rules
compute R_in = x * W^T g or as noted:
    Epsilon     g = R / stab_E(z), bias kept.
    ZPlus       z+ = W+ x+ + W- x- + b+ (the positive bias only),
                R_in = x+ W+^T (R / stab(z+)) + x- W-^T (R / stab(z+)).
    AlphaBeta   z+ as ZPlus, z- = W- x+ + W+ x- + b- (the negative bias);
                R_in = A (x+ W+^T + x- W-^T)(R / stab(z+))
                     - B (x+ W-^T + x- W+^T)(R / stab(z-)).
    Gamma       Zennit's generalized gamma: with W^G+ = W + G W+ and
                W^G- = W + G W-, z+ = W^G+ x+ + W^G- x- + (b + G b+),
                z- = W^G- x+ + W^G+ x- + (b + G b-); units with z > 0 send
                R / stab(z+) through (x+ W^G+^T + x- W^G-^T), units with
                z < 0 send R / stab(z-) through (x+ W^G-^T + x- W^G+^T),
                units with z = 0 send nothing.
    ZBox        z = W x + b - (W+ l + b+) - (W- h + b-), the bias cancels;
                R_in = x W^T g - l W+^T g - h W-^T g, g = R / stab(z), with
                l and h zero where the convolution pads (Zennit convolves
                constant l and h tensors).
    WSquare     z = W^2 1 + b^2 (the bias squared, kept), R_in = W^2^T g:
                the input's values play no part, only where it is (padding
                adds nothing).
    Flat        as WSquare with every weight 1 and no bias.
    Norm        as Epsilon with epsilon = the stabilizer and no parameters.

Merged BatchNorms: Zennit's MergeBatchNorm leaves each merged BatchNorm in
place with mean 0, variance 1, scale 1 and shift 0 but its eps (1e-5), so
it scales by 1/sqrt(1 + 1e-5) = 1 - 5e-6 rather than being the identity;
residual sums close to cancelling amplify that to 1e-2 of max |relevance|.
Merging is meant to be exact, and illume folds exactly, so the references
are made with the merged BatchNorm's eps set to 0 while the merge is
registered (ExactMergeBatchNorm below); unmerged BatchNorms keep theirs.

Graph details: AvgPool2d exports as a Pad of zeros and an AveragePool
(concat); AdaptiveAvgPool2d(1) as GlobalAveragePool; torch.nn.Linear as
Gemm; the residual adds as Add; torchvision's BasicBlock uses one ReLU
module twice (after conv1 and after the sum), Pass both times.

Inputs: standard normal values clamped to the box [-3, 3] (every ZBox case's
box contains them), and random targets; each model takes the first draw for
which ONNX Runtime's logits match PyTorch's within 1e-4, every case's
ambiguity is below 1e-3, and (chain) no max pool window has two different
values closer than 1e-6 of the largest input. Windows of equal values (ReLU
zeros) stay: what they route is 0 x something, since every rule after the
max pool multiplies by the input.
"""
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
from torchvision.models.resnet import BasicBlock

from zennit.attribution import Gradient
from zennit.canonizers import MergeBatchNorm, SequentialMergeBatchNorm
from zennit.composites import (EpsilonAlpha2Beta1, EpsilonAlpha2Beta1Flat, EpsilonGammaBox, EpsilonPlus,
                               EpsilonPlusFlat, SpecialFirstLayerMapComposite, layer_map_base)
from zennit.rules import AlphaBeta, Epsilon, Flat, Gamma, Pass, WSquare, ZBox, ZPlus
from zennit.torchvision import ResNetCanonizer
from zennit.types import Convolution, Linear as LinearLayer

SEED = 20240917
OPSET = 13
# chain's BatchNorms folded into its convolutions by the export, the others' kept as BatchNormalization nodes.
EXPORT_MODES = {"chain": torch.onnx.TrainingMode.EVAL, "residual": torch.onnx.TrainingMode.PRESERVE,
                "concat": torch.onnx.TrainingMode.PRESERVE}
# BatchNormalization nodes in each export: (after a Conv or Gemm, after anything else).
EXPECTED_NORMS = {"chain": (0, 0), "residual": (6, 0), "concat": (2, 1)}
INPUT_SHAPE = (3, 32, 32)
ROWS = 2
CLASSES = 10
BOX = 3.0
EXPORT_TOLERANCE = 1e-4
REPRODUCE_TOLERANCE = 1e-5
AMBIGUITY_LIMIT = 1e-3
AMBIGUITY_RECORDED = 1e-6
MAX_POOL_MARGIN = 1e-6
INPUT_DRAWS = 20
DEFAULTS = {"epsilon": 1e-6, "gamma": 0.25, "stabilizer": 1e-6}


# Models -------------------------------------------------------------------------


def conv_bn_relu(inputs, outputs, kernel, bias=False):
    return [nn.Conv2d(inputs, outputs, kernel, 1, kernel // 2, bias=bias), nn.BatchNorm2d(outputs), nn.ReLU()]


class ChainNet(nn.Sequential):
    """conv-BN-ReLU, max pool, conv-BN-ReLU, average pool, Flatten, Linear, ReLU, Linear."""

    def __init__(self):
        super().__init__(*conv_bn_relu(3, 8, 3, bias=True), nn.MaxPool2d(2), *conv_bn_relu(8, 16, 3),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 24), nn.ReLU(), nn.Linear(24, CLASSES))


class ResidualNet(nn.Module):
    """A conv-BN-ReLU stem, torchvision's BasicBlock twice (identity; stride 2 with a 1x1 conv-BN projection)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn_relu(3, 8, 3))
        self.block1 = BasicBlock(8, 8)
        self.block2 = BasicBlock(8, 16, stride=2,
                                 downsample=nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16)))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, CLASSES))

    def forward(self, x):
        return self.head(self.block2(self.block1(self.stem(x))))


class ConcatNet(nn.Module):
    """Two branches on the input (1x1 and 3x3 conv-BN-ReLU) concatenated, a BatchNorm on the concat (not
    mergeable), ReLU, average pool, conv with bias, ReLU, average pool, Flatten, Linear."""

    def __init__(self):
        super().__init__()
        self.branch1 = nn.Sequential(*conv_bn_relu(3, 8, 1))
        self.branch3 = nn.Sequential(*conv_bn_relu(3, 8, 3))
        self.norm = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.pool = nn.AvgPool2d(2)
        self.conv = nn.Conv2d(16, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, CLASSES))

    def forward(self, x):
        joined = torch.cat([self.branch1(x), self.branch3(x)], 1)
        return self.head(self.relu2(self.conv(self.pool(self.relu(self.norm(joined))))))


MODELS = {"chain": ChainNet, "residual": ResidualNet, "concat": ConcatNet}


class ExactMergeBatchNorm:
    """Zennit's MergeBatchNorm with the merged BatchNorm made the identity:
    Zennit leaves it with variance 1 but its eps (1e-5), a scaling by
    1 - 5e-6 that residual sums close to cancelling amplify past the test's
    tolerance. Merging is meant to be exact (illume folds exactly), so while
    a merge is registered the merged BatchNorm's eps is 0; remove() puts it
    back with the other parameters."""

    def __enter__(self):
        self.merge, self.remove = MergeBatchNorm.merge_batch_norm, MergeBatchNorm.remove
        merge, remove = self.merge, self.remove

        def exact_merge(modules, batch_norm):
            merge(modules, batch_norm)
            batch_norm.illume_eps, batch_norm.eps = batch_norm.eps, 0.0

        def exact_remove(canonizer):
            if hasattr(canonizer.batch_norm, "illume_eps"):
                canonizer.batch_norm.eps = canonizer.batch_norm.illume_eps
                del canonizer.batch_norm.illume_eps
            remove(canonizer)

        MergeBatchNorm.merge_batch_norm = staticmethod(exact_merge)
        MergeBatchNorm.remove = exact_remove
        return self

    def __exit__(self, *exception):
        MergeBatchNorm.merge_batch_norm = staticmethod(self.merge)
        MergeBatchNorm.remove = self.remove


def canonizers(name):
    return [ResNetCanonizer()] if name == "residual" else [SequentialMergeBatchNorm()]


def build(name):
    return reference_files.build_model(MODELS[name], SEED, INPUT_SHAPE)


# Cases --------------------------------------------------------------------------

COMPOSITES = ["epsilon-plus-flat", "epsilon-plus", "epsilon-gamma-box", "epsilon-alpha2-beta1",
              "epsilon-alpha2-beta1-flat"]
BOX_OPTIONS = ["--low", "-3", "--high", "3"]


def composite_cases():
    """Each composite with its defaults (the box [-3, 3] for epsilon-gamma-box)."""
    return [(name.replace("-", "_"), ["--composite", name] + (BOX_OPTIONS if name == "epsilon-gamma-box" else []))
            for name in COMPOSITES]


CASES = {
    "chain": composite_cases() + [
        ("epsilon_gamma_box_parameters", ["--composite", "epsilon-gamma-box", "--low", "-3.5", "--high", "3.5",
                                          "--epsilon", "0.25", "--gamma", "0.5"]),
        ("epsilon_plus_stabilizer", ["--composite", "epsilon-plus", "--epsilon", "0.01", "--stabilizer", "0.01"]),
        ("rules_box_gamma_epsilon", ["--composite", "none", "--rules",
                                     "first=zbox:-3,3;conv=gamma:0.25;dense=epsilon:0.1"]),
        ("rules_flat_alpha_beta_zplus", ["--composite", "none", "--rules",
                                         "first=flat;conv=alpha-beta:1,0;dense=zplus"]),
    ],
    "residual": composite_cases() + [
        ("epsilon_alpha2_beta1_epsilon", ["--composite", "epsilon-alpha2-beta1", "--epsilon", "0.25"]),
        ("rules_conv_wsquare", ["--composite", "none", "--rules", "conv=wsquare"]),
        ("rules_conv_flat", ["--composite", "none", "--rules", "conv=flat;dense=epsilon:0.25"]),
        ("rules_first_wsquare", ["--composite", "none", "--rules", "first=wsquare;conv=gamma:0.5;dense=zplus"]),
    ],
    "concat": composite_cases() + [
        ("epsilon_gamma_box_gamma", ["--composite", "epsilon-gamma-box", "--low", "-3", "--high", "3",
                                     "--gamma", "0.5"]),
        ("rules_conv_alpha_beta", ["--composite", "none", "--rules", "first=zbox:-3,3;conv=alpha-beta:1,0"]),
        ("rules_conv_epsilon", ["--composite", "none", "--rules", "conv=epsilon:0.25;dense=zplus"]),
    ],
}


def zennit_rule(text, stabilizer):
    """A rule of illume's --rules syntax (epsilon:E, gamma:G, alpha-beta:A,B, zplus, zbox:L,H, flat, wsquare, pass)."""
    name, _, arguments = text.partition(":")
    values = [float(value) for value in arguments.split(",")] if arguments else []
    makers = {
        "epsilon": (1, lambda e: Epsilon(epsilon=e)),
        "gamma": (1, lambda g: Gamma(gamma=g, stabilizer=stabilizer)),
        "alpha-beta": (2, lambda a, b: AlphaBeta(alpha=a, beta=b, stabilizer=stabilizer)),
        "zplus": (0, lambda: ZPlus(stabilizer=stabilizer)),
        "zbox": (2, lambda low, high: ZBox(low=low, high=high, stabilizer=stabilizer)),
        "flat": (0, lambda: Flat(stabilizer=stabilizer)),
        "wsquare": (0, lambda: WSquare(stabilizer=stabilizer)),
        "pass": (0, Pass),
    }
    if name not in makers or len(values) != makers[name][0]:
        raise SystemExit("bad rule '%s'" % text)
    return makers[name][1](*values)


def zennit_composite(options, model_name):
    """The Zennit composite for illume's lrp options (see the table at the top)."""
    settings = dict(DEFAULTS, composite=None, low=None, high=None, rules=None)
    for flag, value in zip(options[::2], options[1::2]):
        key = flag[2:]
        settings[key] = value if key in ("composite", "rules") else float(value)
    epsilon, gamma, stabilizer = settings["epsilon"], settings["gamma"], settings["stabilizer"]
    common = {"epsilon": epsilon, "stabilizer": stabilizer, "canonizers": canonizers(model_name)}
    composite = settings["composite"]
    if composite == "epsilon-plus-flat":
        return EpsilonPlusFlat(**common)
    if composite == "epsilon-plus":
        return EpsilonPlus(**common)
    if composite == "epsilon-gamma-box":
        return EpsilonGammaBox(settings["low"], settings["high"], gamma=gamma, **common)
    if composite == "epsilon-alpha2-beta1":
        return EpsilonAlpha2Beta1(**common)
    if composite == "epsilon-alpha2-beta1-flat":
        return EpsilonAlpha2Beta1Flat(**common)
    if composite != "none":
        raise SystemExit("unknown composite %s" % composite)
    rules = {}
    for entry in settings["rules"].split(";"):
        key, _, rule = entry.partition("=")
        if key not in ("first", "conv", "dense"):
            raise SystemExit("bad rule map key '%s'" % key)
        rules[key] = zennit_rule(rule, stabilizer)
    layer_map = layer_map_base(stabilizer) + [
        (Convolution, rules.get("conv", Epsilon(epsilon=epsilon))),
        (torch.nn.Linear, rules.get("dense", Epsilon(epsilon=epsilon))),
    ]
    first_map = [(LinearLayer, rules["first"])] if "first" in rules else []
    return SpecialFirstLayerMapComposite(layer_map=layer_map, first_map=first_map, canonizers=canonizers(model_name))


def first_layer(model):
    """The module Zennit's first maps pick: the first Conv or Linear in named_modules() order."""
    return next(module for module in model.modules() if isinstance(module, LinearLayer))


def lrp(model, model_name, options, x, targets):
    """Zennit's relevance at the input and the model's output, with R = one_hot(target) x logits at the top."""
    one_hot = nn.functional.one_hot(torch.from_numpy(targets), CLASSES).to(x.dtype)
    attributor = Gradient(model, zennit_composite(options, model_name), attr_output=lambda out: out.detach() * one_hot)
    with ExactMergeBatchNorm():
        output, relevance = attributor(x.clone())
    return output.detach(), relevance.detach()




def evaluate(model, model64, name, options, inputs, targets):
    """Zennit's relevance in float32, the conservation sums and the ambiguity (float32 against float64)."""
    x = torch.from_numpy(inputs)
    output, relevance = lrp(model, name, options, x, targets)
    with torch.no_grad():
        plain = model(x)
    if not relative_difference(output.numpy(), plain.numpy()) <= EXPORT_TOLERANCE:
        raise SystemExit("%s %s: the canonized model's output differs from the model's" % (name, options))
    _, relevance64 = lrp(model64, name, options, x.double(), targets)
    relevance = relevance.numpy().astype(np.float32)
    ambiguity = relative_difference(relevance, relevance64.numpy())
    logit = output.numpy()[np.arange(ROWS), targets]
    sums = np.stack([relevance.reshape(ROWS, -1).astype(np.float64).sum(axis=1), logit], axis=1).astype(np.float32)
    return relevance, sums, ambiguity


# Export and checks ----------------------------------------------------------------


def export(model, name, directory):
    path = os.path.join(directory, name + ".onnx")
    torch.onnx.export(model, torch.zeros((1,) + INPUT_SHAPE), path, opset_version=OPSET, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      training=EXPORT_MODES[name], do_constant_folding=True)
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    check_graph(graph.graph, model, name)
    return path


def check_graph(graph, model, name):
    """The export's shape: BatchNormalization nodes as EXPECTED_NORMS says,
    an Add per residual block, and the first Conv node the module Zennit's
    first map picks."""
    ops = [node.op_type for node in graph.node]
    producers = {output: node.op_type for node in graph.node for output in node.output}
    norms = [producers.get(node.input[0]) for node in graph.node if node.op_type == "BatchNormalization"]
    counts = (sum(op in ("Conv", "Gemm") for op in norms), sum(op not in ("Conv", "Gemm") for op in norms))
    if counts != EXPECTED_NORMS[name]:
        raise SystemExit("%s: the export has %s BatchNormalization nodes after a Conv and after other nodes, not %s" %
                         (name, counts, EXPECTED_NORMS[name]))
    if name == "residual" and ops.count("Add") != 2:
        raise SystemExit("residual: the export has %d Add nodes, not 2" % ops.count("Add"))
    if name == "concat" and "Concat" not in ops:
        raise SystemExit("concat: the export has no Concat")
    weights = {w.name: tuple(w.dims) for w in graph.initializer}
    first = next(node for node in graph.node if node.op_type in ("Conv", "Gemm"))
    if weights.get(first.input[1]) != tuple(first_layer(model).weight.shape):
        raise SystemExit("%s: the first Conv node's weight %s is not the first layer's %s" %
                         (name, weights.get(first.input[1]), tuple(first_layer(model).weight.shape)))


def onnx_logits(path, inputs, model):
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": inputs})
    with torch.no_grad():
        expected = model(torch.from_numpy(inputs)).numpy()
    return relative_difference(logits, expected), expected


def max_pool_near_ties(model, inputs):
    """Max pool windows whose two largest values differ, but by less than
    MAX_POOL_MARGIN x the largest magnitude of the pool's input."""
    count = [0]

    def check(module, pool_inputs):
        x = pool_inputs[0]
        columns = nn.functional.unfold(x.reshape(-1, 1, *x.shape[2:]), module.kernel_size, stride=module.stride)
        top2 = columns.topk(2, dim=1).values
        gap = top2[:, 0] - top2[:, 1]
        count[0] += int(((gap > 0) & (gap < MAX_POOL_MARGIN * float(x.abs().max()))).sum())

    hooks = [module.register_forward_pre_hook(check) for module in model.modules() if isinstance(module, nn.MaxPool2d)]
    with torch.no_grad():
        model(torch.from_numpy(inputs))
    for hook in hooks:
        hook.remove()
    return count[0]


def draw(name, index, model, model64, path):
    """The first draw of inputs and targets that the checks at the top accept,
    with its logits and each case's (relevance, sums, ambiguity)."""
    for attempt in range(INPUT_DRAWS):
        generator = torch.Generator().manual_seed(SEED + 1 + index + 1000 * attempt)
        inputs = torch.randn((ROWS,) + INPUT_SHAPE, generator=generator).clamp(-BOX, BOX).numpy()
        targets = torch.randint(0, CLASSES, (ROWS,), generator=generator).numpy().astype(np.int64)
        export_difference, logits = onnx_logits(path, inputs, model)
        ties = max_pool_near_ties(model, inputs)
        if not export_difference <= EXPORT_TOLERANCE or ties:
            print("%s: draw %d: ONNX Runtime's logits differ by %.2e, %d max pool near-ties" %
                  (name, attempt, export_difference, ties))
            continue
        results = [evaluate(model, model64, name, options, inputs, targets) for _, options in CASES[name]]
        worst = max(ambiguity for _, _, ambiguity in results)
        if worst < AMBIGUITY_LIMIT:
            return inputs, targets, logits, results, attempt
        print("%s: draw %d: an ambiguity of %.2e" % (name, attempt, worst))
    raise SystemExit("%s: no draw of %d passes the checks" % (name, INPUT_DRAWS))


# Output -----------------------------------------------------------------------------


def make(directory):
    os.makedirs(directory, exist_ok=True)
    lines = ["# model family case method [options] (written by make_references.py)"]
    for index, name in enumerate(MODELS):
        model = build(name)
        model64 = copy.deepcopy(model).double()
        path = export(model, name, directory)
        inputs, targets, logits, results, attempt = draw(name, index, model, model64, path)
        print("%s: inputs of draw %d, targets %s" % (name, attempt, targets.tolist()))
        np.save(os.path.join(directory, name + ".input.npy"), inputs)
        np.save(os.path.join(directory, name + ".targets.npy"), targets)
        np.save(os.path.join(directory, name + ".logits.npy"), logits.astype(np.float32))
        for (case, options), (relevance, sums, ambiguity) in zip(CASES[name], results):
            case_name = "%s.%s" % (name, case)
            np.save(os.path.join(directory, case_name + ".npy"), relevance)
            np.save(os.path.join(directory, case_name + ".sums.npy"), sums)
            # Rounded to two digits after the factor 1.06, so that the recorded value is not below the measured one.
            extra = ["--ambiguity", "%.2g" % (1.06 * ambiguity)] if ambiguity >= AMBIGUITY_RECORDED else []
            lines.append(" ".join([name, "lrp", case_name, "lrp"] + options + extra))
            print("%-44s ambiguity %.2e  sums %s" % (case_name, ambiguity,
                                                     "  ".join("%.5g/%.5g" % tuple(row) for row in sums)))
    with open(os.path.join(directory, "manifest.txt"), "w") as file:
        file.write("\n".join(lines) + "\n")














if __name__ == "__main__":
    reference_files.main(__doc__.split("\n\n")[0], make, REPRODUCE_TOLERANCE)
