#!/usr/bin/env python3
"""Which convolutions make the difference between illume and ONNX Runtime:
times every convolution of one forward pass on both, in the same run, and
prints them grouped by geometry, the largest difference first.

illume's times come from oneDNN's own log of each primitive it runs
(ONEDNN_VERBOSE=1 during `illume bench`), ONNX Runtime's from its profiler
(CPU, all graph optimizations, intra-op threads --threads, sequential). Each
side's time for a convolution is the median over the timed passes; a group
sums the convolutions of one geometry (in and out channels, in and out size,
kernel) and whether they add their output onto a residual (a fused Add);
channel counts are rounded up to 16, as ONNX Runtime's profiler reports them.
Run it where nothing else runs: the point is the per-layer split,
compare_onnxruntime.py gives the throughput ratio.

usage: layers_onnxruntime.py MODEL [--batch N] [--threads T] [--iterations K]
                             [--illume PATH]
"""
import argparse
import collections
import json
import os
import re
import statistics
import sys
import tempfile

import peers

# oneDNN's problem string, e.g. mb16_ic64oc256_ih56oh56kh1sh1dh0ph0_iw56ow56kw1..., g32mb1_ic32oc32_... grouped
PROBLEM = re.compile(r"^(?:g\d+)?mb\d+_ic(\d+)oc(\d+)_ih(\d+)oh(\d+)kh(\d+)")


def geometry(in_channels, out_channels, in_size, out_size, kernel, residual):
    """A convolution's row key. ONNX Runtime's profiler reports the channels of
    its blocked tensors, rounded up to its block of 16 (24 shows as 32), so
    both sides' channel counts are rounded up alike."""
    def rounded(channels):
        return -(-channels // 16) * 16
    return (rounded(in_channels), rounded(out_channels), in_size, out_size, kernel, residual)


def illume_convolutions(illume, model, batch, threads, iterations):
    """(geometry, median ms) per convolution of a pass, in order, from oneDNN's log."""
    environment = dict(os.environ, ONEDNN_VERBOSE="1", DNNL_VERBOSE="1")
    log = peers.run([illume, "bench", model, "--batch", str(batch), "--threads", str(threads),
                     "--iterations", str(iterations), "--warmup", "1"], environment)
    runs = []
    for line in log.splitlines():
        fields = line.split(",")
        if "exec" not in fields[:3] or "convolution" not in fields:
            continue
        problem = next((f for f in fields if PROBLEM.match(f)), None)
        if problem:
            residual = int(any("sum" in f for f in fields if f.startswith("attr-post-ops")))
            dims = (int(g) for g in PROBLEM.match(problem).groups())
            runs.append((geometry(*dims, residual), float(fields[-1])))
    passes = iterations + 1
    if not runs or len(runs) % passes:
        raise SystemExit(f"oneDNN logged {len(runs)} convolutions, not a multiple of {passes} passes: "
                         "is illume built against oneDNN, and the model's convolutions run there?")
    per_pass = len(runs) // passes
    timed = runs[per_pass:]
    return [(timed[i][0], statistics.median(timed[i + k * per_pass][1] for k in range(iterations)))
            for i in range(per_pass)]


def onnxruntime_convolutions(model, batch, threads, iterations):
    """(geometry, median ms) per convolution node, and the summed median ms of every other op type."""
    session, feed = peers.onnxruntime_session(model, batch, threads, os.path.join(tempfile.mkdtemp(), "onnxruntime"))
    session.run(None, feed)
    for _ in range(iterations):
        session.run(None, feed)
    with open(session.end_profiling()) as log:
        events = json.load(log)
    times, kinds = collections.defaultdict(list), {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            times[event["name"]].append(event["dur"] / 1000)
            kinds[event["name"]] = event["args"]
    convolutions, others = [], collections.Counter()
    for name, durations in times.items():
        median = statistics.median(durations[-iterations:])
        args = kinds[name]
        if args.get("op_name") in ("Conv", "FusedConv"):
            x = args["input_type_shape"][0]["float"]
            w = args["input_type_shape"][1]["float"]
            y = args["output_type_shape"][0]["float"]
            residual = int(len(args["input_type_shape"]) > 3)  # X, W, B, then the Sum it adds onto
            convolutions.append((geometry(x[1], w[0], x[2], y[2], w[2], residual), median))
        else:
            others[args.get("op_name")] += median
    return convolutions, others


def grouped(convolutions):
    times, counts = collections.Counter(), collections.Counter()
    for row, milliseconds in convolutions:
        times[row] += milliseconds
        counts[row] += 1
    return times, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--illume", default=os.path.join(os.path.dirname(__file__), "..", "build", "illume"))
    arguments = parser.parse_args()
    ours, our_counts = grouped(illume_convolutions(arguments.illume, arguments.model, arguments.batch,
                                                   arguments.threads, arguments.iterations))
    convolutions, others = onnxruntime_convolutions(arguments.model, arguments.batch, arguments.threads,
                                                    arguments.iterations)
    theirs, their_counts = grouped(convolutions)
    print(f"{'in':>5} {'out':>5} {'size':>4} {'->':>4} {'k':>2} {'count':>5} {'illume ms':>10} "
          f"{'onnxruntime ms':>15} {'difference':>11} {'residual':>8}")
    for row in sorted(set(ours) | set(theirs), key=lambda g: theirs[g] - ours[g]):
        count = max(our_counts[row], their_counts[row])
        print(f"{row[0]:5d} {row[1]:5d} {row[2]:4d} {row[3]:4d} {row[4]:2d} {count:5d} "
              f"{ours[row]:10.2f} {theirs[row]:15.2f} {ours[row] - theirs[row]:11.2f} "
              f"{'yes' if row[5] else '':>8}")
    print(f"convolutions: illume {sum(ours.values()):.1f} ms, ONNX Runtime {sum(theirs.values()):.1f} ms")
    print("ONNX Runtime's other ops (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in others.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
