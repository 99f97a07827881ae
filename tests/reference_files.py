"""What the reference scripts (tests/explain/make_references.py, Captum's;
tests/lrp/make_references.py, Zennit's) share: how a model is made (seeded
weights, BatchNorm statistics near what reaches each), the relative
difference they measure agreement by, and `--compare`, which checks that a
folder of committed references is what a fresh run makes.

A fresh run and the committed folder agree when they hold the same files;
the same ONNX graphs, and weights within WEIGHT_TOLERANCE of each tensor's
largest magnitude (the exporter folds BatchNorm in float32, which rounds
differently on different CPUs); the same inputs and targets, bit for bit;
the same manifest, line for line, except that each case's --ambiguity A (the
reference's own uncertainty, measured on the machine that made it) need only
agree within a factor of AMBIGUITY_FACTOR (or 1e-5); and references within
(tolerance + AMBIGUITY_FACTOR x the larger of the two ambiguities) x max
|reference|. The factor is what one CPU against another was seen to need: an
AMD EPYC made ambiguities up to 4x an Intel Xeon's on the ill-conditioned
alpha-beta cases, and references that far apart.
"""
import argparse
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.numpy_helper

WEIGHT_TOLERANCE = 1e-6
AMBIGUITY_FACTOR = 8

# The files beside a case's reference that share its ambiguity (CASE.delta.npy, CASE.sums.npy).
CASE_SUFFIXES = (".delta.npy", ".sums.npy", ".npy")


def set_batchnorm_statistics(model, generator, input_shape):
    """Gives every BatchNorm random affine parameters and running statistics
    near those of what reaches it on a random batch (variance x [0.5, 1.5),
    mean shifted by 0.2 standard deviations x a normal draw), one BatchNorm
    after another in the order they run. Folding is then far from an
    identity and activations keep a sensible scale."""
    import torch
    norms = [module for module in model.modules() if isinstance(module, torch.nn.BatchNorm2d)]
    for module in norms:
        with torch.no_grad():
            module.weight.copy_(0.5 + torch.rand(module.num_features, generator=generator))
            module.bias.copy_(0.2 * torch.randn(module.num_features, generator=generator))

    def measure(module, inputs):
        channels = inputs[0].transpose(0, 1).reshape(module.num_features, -1)
        spread = 0.5 + torch.rand(module.num_features, generator=generator)
        offset = 0.2 * torch.randn(module.num_features, generator=generator)
        module.running_var.copy_(channels.var(dim=1) * spread)
        module.running_mean.copy_(channels.mean(dim=1) + offset * channels.std(dim=1))

    hooks = [module.register_forward_pre_hook(measure) for module in norms]
    model.eval()
    with torch.no_grad():
        model(torch.randn((8,) + tuple(input_shape), generator=generator))
    for hook in hooks:
        hook.remove()


def build_model(factory, seed, input_shape):
    """The model factory() makes under the seed, its BatchNorm statistics set, in eval mode, frozen."""
    import torch
    torch.manual_seed(seed)
    model = factory()
    set_batchnorm_statistics(model, torch.Generator().manual_seed(seed), input_shape)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def relative_difference(actual, reference):
    """max |actual - reference| / max |reference| (the difference itself where the reference is all zeros)."""
    actual, reference = np.asarray(actual, np.float64), np.asarray(reference, np.float64)
    scale = np.max(np.abs(reference))
    difference = np.max(np.abs(actual - reference))
    return difference / scale if scale > 0 else difference


def same_model(fresh, committed):
    a, b = onnx.load(fresh).graph, onnx.load(committed).graph
    if [(n.op_type, list(n.input), list(n.output)) for n in a.node] != \
            [(n.op_type, list(n.input), list(n.output)) for n in b.node]:
        return False
    weights_a = {w.name: onnx.numpy_helper.to_array(w) for w in a.initializer}
    weights_b = {w.name: onnx.numpy_helper.to_array(w) for w in b.initializer}
    return weights_a.keys() == weights_b.keys() and all(
        weights_a[k].shape == weights_b[k].shape and weights_a[k].dtype == weights_b[k].dtype and
        (np.array_equal(weights_a[k], weights_b[k]) or
         (weights_a[k].dtype.kind == "f" and relative_difference(weights_a[k], weights_b[k]) <= WEIGHT_TOLERANCE))
        for k in weights_a)


def split_ambiguity(line):
    """The words of a manifest line without --ambiguity A, and A (0 where none)."""
    words = line.split()
    if "--ambiguity" not in words:
        return words, 0.0
    at = words.index("--ambiguity")
    return words[:at] + words[at + 2:], float(words[at + 1])


def same_manifest(fresh, committed):
    """Equal line for line, the ambiguities within AMBIGUITY_FACTOR (or 1e-5)."""
    with open(fresh) as file_a, open(committed) as file_b:
        lines_a, lines_b = file_a.read().splitlines(), file_b.read().splitlines()
    if len(lines_a) != len(lines_b):
        return False
    for line_a, line_b in zip(lines_a, lines_b):
        (words_a, ambiguity_a), (words_b, ambiguity_b) = split_ambiguity(line_a), split_ambiguity(line_b)
        factor = AMBIGUITY_FACTOR
        if words_a != words_b or not (ambiguity_a <= factor * ambiguity_b + 1e-5 and
                                      ambiguity_b <= factor * ambiguity_a + 1e-5):
            print("manifest line differs:\n  made now:  %s\n  committed: %s" % (line_a, line_b))
            return False
    return True


def manifest_ambiguities(folder):
    """The --ambiguity of each case in a folder's manifest (0 where none)."""
    ambiguities = {}
    with open(os.path.join(folder, "manifest.txt")) as file:
        for line in file:
            if line.strip() and not line.startswith("#"):
                words, ambiguity = split_ambiguity(line)
                ambiguities[words[2]] = ambiguity
    return ambiguities


def case_of(name):
    """The case a reference file belongs to."""
    return next(name[:-len(suffix)] for suffix in CASE_SUFFIXES if name.endswith(suffix))


def compare(fresh, committed, tolerance):
    """Whether the fresh run made what is committed (see the module's text)."""
    ambiguities = manifest_ambiguities(committed)
    fresh_ambiguities = manifest_ambiguities(fresh)
    problems = []
    fresh_files, committed_files = sorted(os.listdir(fresh)), sorted(os.listdir(committed))
    if fresh_files != committed_files:
        problems.append("files differ: only made now %s, only committed %s" %
                        (sorted(set(fresh_files) - set(committed_files)),
                         sorted(set(committed_files) - set(fresh_files))))
    for name in sorted(set(fresh_files) & set(committed_files)):
        a, b = os.path.join(fresh, name), os.path.join(committed, name)
        if name.endswith(".onnx"):
            same = same_model(a, b)
        elif name.endswith(".npy"):
            x, y = np.load(a), np.load(b)
            exact = name.endswith((".input.npy", ".targets.npy"))
            case = case_of(name)
            allowed = tolerance + AMBIGUITY_FACTOR * max(ambiguities.get(case, 0.0), fresh_ambiguities.get(case, 0.0))
            same = x.shape == y.shape and x.dtype == y.dtype and (
                np.array_equal(x, y) if exact else relative_difference(x, y) <= allowed)
        elif name == "manifest.txt":
            same = same_manifest(a, b)
        else:
            with open(a, "rb") as file_a, open(b, "rb") as file_b:
                same = file_a.read() == file_b.read()
        if not same:
            problems.append("%s differs from a fresh run" % name)
    for problem in problems:
        print(problem)
    print("%d files compared, %d differ" % (len(committed_files), len(problems)))
    return not problems


def main(description, make, tolerance):
    """A reference script's command line: make OUT_DIR, or with --compare
    COMMITTED_DIR make an emptied OUT_DIR and compare (exit 1 when they differ)."""
    import torch
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("directory")
    parser.add_argument("--compare", metavar="COMMITTED_DIR")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    if arguments.compare:
        shutil.rmtree(arguments.directory, ignore_errors=True)
    make(arguments.directory)
    if arguments.compare and not compare(arguments.directory, arguments.compare, tolerance):
        sys.exit(1)
