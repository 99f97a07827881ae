#!/usr/bin/env python3
"""Times illume and ONNX Runtime on the same model, input shape and thread
count, in the same run, and prints the throughput ratio.

Rounds alternate illume and ONNX Runtime (A B A B ...), each in a process of
its own, so a machine whose speed drifts affects both; the ratio is taken
round by round and the median is reported. ONNX Runtime runs on the CPU with
all graph optimizations, intra-op threads set to --threads and sequential
execution. The models are assumed to have a symbolic batch dimension.

usage: compare_onnxruntime.py MODEL [--batch N] [--threads T] [--iterations K]
                              [--rounds R] [--illume PATH]
"""
import argparse
import json
import os
import statistics
import sys
import time

import onnxruntime

import peers


def illume_images_per_second(illume, model, batch, threads, iterations):
    return json.loads(peers.run([illume, "bench", model, "--batch", str(batch), "--threads", str(threads),
                                 "--iterations", str(iterations), "--warmup", "2", "--json"]))


def onnxruntime_images_per_second(model, batch, threads, iterations):
    """Times ONNX Runtime in a process of its own, so that its spinning worker
    threads are gone before illume runs."""
    return float(peers.run([sys.executable, __file__, "--onnxruntime-child", model, "--batch", str(batch),
                            "--threads", str(threads), "--iterations", str(iterations)]))


def onnxruntime_child(model, batch, threads, iterations):
    session, feed = peers.onnxruntime_session(model, batch, threads)
    for _ in range(2):
        session.run(None, feed)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    rows = next(iter(feed.values())).shape[0]
    print(rows / statistics.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--illume", default=os.path.join(os.path.dirname(__file__), "..", "build", "illume"))
    parser.add_argument("--onnxruntime-child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.onnxruntime_child:
        onnxruntime_child(arguments.model, arguments.batch, arguments.threads, arguments.iterations)
        return 0

    def ours():
        return illume_images_per_second(arguments.illume, arguments.model, arguments.batch, arguments.threads,
                                        arguments.iterations)

    def theirs():
        return onnxruntime_images_per_second(arguments.model, arguments.batch, arguments.threads,
                                             arguments.iterations)

    report, illume_rates, peer_rates, ratios = peers.alternate(arguments.rounds, ours, theirs)
    print(f"model {os.path.basename(arguments.model)}  batch {arguments.batch}  threads {arguments.threads}  "
          f"rounds {arguments.rounds} x {arguments.iterations} runs  (onnxruntime {onnxruntime.__version__})")
    peers.print_rates("onnxruntime", report, illume_rates, peer_rates, ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
