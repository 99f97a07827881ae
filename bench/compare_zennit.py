#!/usr/bin/env python3
"""Times illume's LRP and Zennit's on the same torchvision model, input,
composite and thread count, in the same run, and prints the throughput ratio.

The model is built with random weights (fixed seed) and exported to ONNX for
illume; Zennit runs the PyTorch module on the CPU with the same thread count,
the composite's canonizers applied (ResNetCanonizer for resnets, VGGCanonizer
for vgg, SequentialMergeBatchNorm otherwise). Relevance starts at the target
logit on both sides (Zennit's output attribution is one_hot(target) * output).
Before the rounds, once and untimed, illume explain and Zennit explain the
same input and the relative gap, max |illume - zennit| / max |zennit|, is
printed (not enforced: deep random-weight nets can amplify float32 rounding).
Rounds alternate illume and Zennit (A B A B ...), each in a process of its
own; the ratio is taken round by round and the median is reported.

usage: compare_zennit.py MODEL [--composite NAME] [--low L] [--high H]
                         [--batch N] [--threads T] [--iterations K]
                         [--warmup W] [--rounds R] [--illume PATH]
MODEL: a torchvision classifier name (resnet18, vgg16, ...); NAME:
epsilon-plus-flat (default), epsilon-plus, epsilon-gamma-box,
epsilon-alpha2-beta1, epsilon-alpha2-beta1-flat. --batch 16 is dataset mode.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

from peers import alternate, build_model, export, print_rates, run

HERE = os.path.dirname(os.path.abspath(__file__))
COMPOSITES = {
    "epsilon-plus-flat": "EpsilonPlusFlat",
    "epsilon-plus": "EpsilonPlus",
    "epsilon-gamma-box": "EpsilonGammaBox",
    "epsilon-alpha2-beta1": "EpsilonAlpha2Beta1",
    "epsilon-alpha2-beta1-flat": "EpsilonAlpha2Beta1Flat",
}
TARGET = 0






def zennit_model(name):
    """The model as Zennit sees it: the same weights, ReLUs not in place (Zennit hooks their outputs)."""
    import torch
    model = build_model(name)
    for module in model.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    return model


def canonizers(name):
    from zennit.canonizers import SequentialMergeBatchNorm
    from zennit.torchvision import ResNetCanonizer, VGGCanonizer
    if name.startswith(("resnet", "resnext", "wide_resnet")):
        return [ResNetCanonizer()]
    if name.startswith("vgg"):
        return [VGGCanonizer()]
    return [SequentialMergeBatchNorm()]


def composite(arguments):
    from zennit import composites
    kind = getattr(composites, COMPOSITES[arguments.composite])
    if arguments.composite == "epsilon-gamma-box":
        return kind(low=arguments.low, high=arguments.high, canonizers=canonizers(arguments.model))
    return kind(canonizers=canonizers(arguments.model))


def target_output(output):
    """Zennit's output attribution: the target's logit, every other output 0."""
    import torch
    one_hot = torch.zeros_like(output)
    one_hot[:, TARGET] = 1.0
    return one_hot * output.detach()


def inputs_for(arguments):
    import torch
    torch.manual_seed(1)
    return torch.rand(arguments.batch, 3, arguments.size, arguments.size)


def zennit_relevance(arguments, model, inputs):
    from zennit.attribution import Gradient
    with Gradient(model, composite(arguments)) as attributor:
        _, relevance = attributor(inputs, target_output)
    return relevance.detach()


def zennit_child(arguments):
    import torch
    from zennit.attribution import Gradient
    torch.set_num_threads(arguments.threads)
    model = zennit_model(arguments.model)
    inputs = inputs_for(arguments)
    # Entering the attributor applies the canonizers and registers the rules' hooks once;
    # only the attribution calls (forward and modified backward) are timed.
    with Gradient(model, composite(arguments)) as attributor:
        for _ in range(arguments.warmup):
            attributor(inputs, target_output)
        times = []
        for _ in range(arguments.iterations):
            start = time.perf_counter()
            attributor(inputs, target_output)
            times.append(time.perf_counter() - start)
    print(arguments.batch / statistics.median(times))




def lrp_options(arguments):
    options = ["-m", "lrp", "--composite", arguments.composite]
    if arguments.composite == "epsilon-gamma-box":
        options += ["--low", str(arguments.low), "--high", str(arguments.high)]
    return options


def agreement(arguments, model_path, folder):
    """max |illume - zennit| / max |zennit| of one explanation of the same input, untimed."""
    import numpy
    import torch
    torch.set_num_threads(arguments.threads)
    inputs = inputs_for(arguments)
    input_path = os.path.join(folder, "input.npy")
    output_path = os.path.join(folder, "illume-lrp.npy")
    numpy.save(input_path, inputs.numpy())
    command = [arguments.illume, "explain", model_path, input_path] + lrp_options(arguments) + [
        "--target", str(TARGET), "--threads", str(arguments.threads), "-o", output_path]
    run(command)
    ours = numpy.load(output_path).astype(numpy.float64)
    theirs = zennit_relevance(arguments, zennit_model(arguments.model), inputs).numpy().astype(numpy.float64)
    if ours.shape != theirs.shape:
        raise SystemExit(f"illume's relevance has shape {ours.shape}, Zennit's {theirs.shape}")
    scale = numpy.abs(theirs).max()
    return numpy.abs(ours - theirs).max() / scale if scale > 0 else float("inf"), ours.sum(), theirs.sum()


def illume_rate(arguments, model_path):
    command = [arguments.illume, "bench", model_path] + lrp_options(arguments) + [
        "--batch", str(arguments.batch), "--threads", str(arguments.threads), "--iterations",
        str(arguments.iterations), "--warmup", str(arguments.warmup),
        "--shape", f"{arguments.batch},3,{arguments.size},{arguments.size}", "--json"]
    return json.loads(run(command))


def zennit_rate(arguments):
    command = [sys.executable, __file__, arguments.model, "--zennit-child"] + [
        f"--{key.replace('_', '-')}={value}" for key, value in vars(arguments).items()
        if key in ("composite", "low", "high", "batch", "threads", "iterations", "warmup", "size")]
    return float(run(command).strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--composite", default="epsilon-plus-flat", choices=sorted(COMPOSITES))
    parser.add_argument("--low", type=float, default=-3.0, help="epsilon-gamma-box: the input's lowest value")
    parser.add_argument("--high", type=float, default=3.0, help="epsilon-gamma-box: the input's highest value")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--illume", default=os.path.join(HERE, "..", "build", "illume"))
    parser.add_argument("--zennit-child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.zennit_child:
        zennit_child(arguments)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, f"{arguments.model}.onnx")
        export(arguments.model, model_path, arguments.size)
        gap, our_sum, their_sum = agreement(arguments, model_path, folder)
        rates = alternate(arguments.rounds, lambda: illume_rate(arguments, model_path), lambda: zennit_rate(arguments))
    box = f" [{arguments.low:g}, {arguments.high:g}]" if arguments.composite == "epsilon-gamma-box" else ""
    print(f"{arguments.model} lrp {arguments.composite}{box}  batch {arguments.batch}  threads {arguments.threads}  "
          f"{arguments.rounds} rounds")
    print(f"agreement  max |illume - zennit| / max |zennit| {gap:.2e}  "
          f"(relevance sums: illume {our_sum:.6g}, zennit {their_sum:.6g})")
    print_rates("zennit", *rates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
