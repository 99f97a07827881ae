#!/usr/bin/env python3
"""Times illume and Captum on the same torchvision model, input, method and
method parameters, in the same run, and prints the throughput ratio.

The model is built with random weights (fixed seed) and exported to ONNX for
illume; Captum runs the PyTorch module on the CPU with the same thread count.
Rounds alternate illume and Captum (A B A B ...), each in a process of its
own; the ratio is taken round by round and the median is reported.

usage: compare_captum.py MODEL METHOD [--batch N] [--threads T] [--steps S]
                         [--samples S] [--iterations K] [--rounds R]
MODEL: a torchvision classifier name (resnet18, vgg16, ...); METHOD: saliency,
gradxinput, guided-backprop, deconvnet, ig, smoothgrad, gradcam, guided-gradcam,
occlusion.
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






def last_conv_layer(model):
    """Grad-CAM's layer in Captum terms: the module whose output feeds the final pooling."""
    for attribute in ("layer4", "features", "inception5b", "conv_head", "stage4"):
        if hasattr(model, attribute):
            return getattr(model, attribute)
    raise SystemExit("no Grad-CAM layer known for this model")


def captum_child(arguments):
    import torch
    from captum import attr
    torch.set_num_threads(arguments.threads)
    model = build_model(arguments.model)
    for module in model.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    torch.manual_seed(1)
    inputs = torch.rand(arguments.batch, 3, arguments.size, arguments.size)
    target = [0] * arguments.batch
    method = arguments.method

    def run():
        if method == "saliency":
            return attr.Saliency(model).attribute(inputs, target=target, abs=False)
        if method == "gradxinput":
            return attr.InputXGradient(model).attribute(inputs, target=target)
        if method == "guided-backprop":
            return attr.GuidedBackprop(model).attribute(inputs, target=target)
        if method == "deconvnet":
            return attr.Deconvolution(model).attribute(inputs, target=target)
        if method == "ig":
            return attr.IntegratedGradients(model).attribute(inputs, target=target, n_steps=arguments.steps,
                                                             internal_batch_size=arguments.internal_batch)
        if method == "smoothgrad":
            tunnel = attr.NoiseTunnel(attr.Saliency(model))
            return tunnel.attribute(inputs, target=target, nt_type="smoothgrad", nt_samples=arguments.samples,
                                    nt_samples_batch_size=arguments.internal_batch, stdevs=0.15, abs=False)
        if method == "gradcam":
            return attr.LayerGradCam(model, last_conv_layer(model)).attribute(inputs, target=target,
                                                                            relu_attributions=True)
        if method == "guided-gradcam":
            return attr.GuidedGradCam(model, last_conv_layer(model)).attribute(inputs, target=target)
        if method == "occlusion":
            return attr.Occlusion(model).attribute(inputs, target=target, sliding_window_shapes=(3, 15, 15),
                                                   strides=(3, 8, 8), baselines=0,
                                                   perturbations_per_eval=arguments.internal_batch)
        raise SystemExit(f"unknown method {method}")

    for _ in range(arguments.warmup):
        run()
    times = []
    for _ in range(arguments.iterations):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(arguments.batch / statistics.median(times))


def illume_rate(arguments, model_path):
    command = [arguments.illume, "bench", model_path, "-m", arguments.method, "--batch", str(arguments.batch),
               "--threads", str(arguments.threads), "--iterations", str(arguments.iterations), "--warmup",
               str(arguments.warmup), "--steps", str(arguments.steps), "--samples", str(arguments.samples),
               "--shape", f"{arguments.batch},3,{arguments.size},{arguments.size}", "--json"]
    if arguments.method == "smoothgrad":
        command += ["--sigma", "0.15"]
    return json.loads(run(command))


def captum_rate(arguments):
    command = [sys.executable, __file__, arguments.model, arguments.method, "--captum-child"] + [
        f"--{key.replace('_', '-')}={value}" for key, value in vars(arguments).items()
        if key in ("batch", "threads", "steps", "samples", "iterations", "warmup", "size", "internal_batch")]
    return float(run(command).strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("method")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--internal-batch", type=int, default=16,
                        help="rows Captum evaluates at once (its internal_batch_size and the like)")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--illume", default=os.path.join(HERE, "..", "build", "illume"))
    parser.add_argument("--captum-child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.captum_child:
        captum_child(arguments)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, f"{arguments.model}.onnx")
        export(arguments.model, model_path, arguments.size)
        rates = alternate(arguments.rounds, lambda: illume_rate(arguments, model_path), lambda: captum_rate(arguments))
    print(f"{arguments.model} {arguments.method}  batch {arguments.batch}  threads {arguments.threads}  "
          f"steps {arguments.steps}  samples {arguments.samples}  {arguments.rounds} rounds")
    print_rates("captum", *rates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
