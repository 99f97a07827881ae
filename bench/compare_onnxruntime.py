#!/usr/bin/env python3
"""Times illume and ONNX Runtime on the same model, input shape and thread
count, in the same run, and prints the throughput ratio.

Rounds alternate illume and ONNX Runtime (A B A B ...), so a machine whose
speed drifts affects both; the ratio is taken round by round and the median
is reported. ONNX Runtime runs on the CPU with all graph optimizations,
intra-op threads set to --threads and sequential execution.

usage: compare_onnxruntime.py MODEL [--batch N] [--threads T] [--iterations K]
                              [--rounds R] [--illume PATH]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime


def illume_images_per_second(illume, model, batch, threads, iterations):
    command = [illume, "bench", model, "--batch", str(batch), "--threads", str(threads),
               "--iterations", str(iterations), "--warmup", "2", "--json"]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def onnxruntime_images_per_second(session, feed, batch, iterations):
    for _ in range(2):
        session.run(None, feed)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--illume", default=os.path.join(os.path.dirname(__file__), "..", "build", "illume"))
    arguments = parser.parse_args()

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = arguments.threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(arguments.model, options, providers=["CPUExecutionProvider"])
    model_input = session.get_inputs()[0]
    shape = [arguments.batch if not isinstance(d, int) else d for d in model_input.shape]
    feed = {model_input.name: np.random.default_rng(1).random(shape, dtype=np.float32)}

    ratios, ours, theirs = [], [], []
    for _ in range(arguments.rounds):
        report = illume_images_per_second(arguments.illume, arguments.model, shape[0], arguments.threads,
                                          arguments.iterations)
        peer = onnxruntime_images_per_second(session, feed, shape[0], arguments.iterations)
        ours.append(report["images_per_second"])
        theirs.append(peer)
        ratios.append(report["images_per_second"] / peer)
    print(f"model {os.path.basename(arguments.model)}  batch {shape[0]}  threads {arguments.threads}  "
          f"rounds {arguments.rounds} x {arguments.iterations} runs")
    print(f"illume        {statistics.median(ours):9.2f} images/s  (peak resident {report['peak_rss_mib']:.0f} MiB)")
    print(f"onnxruntime   {statistics.median(theirs):9.2f} images/s  (version {onnxruntime.__version__})")
    print(f"ratio illume/onnxruntime: median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
