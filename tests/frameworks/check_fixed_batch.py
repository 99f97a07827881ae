"""Every explanation method on models exported with a fixed batch of 1 and
of 4 gives what it gives on the same model exported with a symbolic batch
(issue 19): the engine rebinds the batch (runtime/rebind_batch.c), so each
row's attributions, target and score must agree within 1e-5 of the largest
magnitude (they are computed the same way; rebinding changes no arithmetic),
and `illume run` must give the same outputs. `illume info` must say the
batch is fixed and rebound.

    check_fixed_batch.py ILLUME DIR [NAME ...]

DIR holds NAME_b1.onnx, NAME_b4.onnx, NAME_dynamic.onnx and NAME.input.npy
(export_fixed_batch_torch.py, export_fixed_batch_keras.py); without NAMEs,
every model there. Exit 1 on any difference.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

METHODS = ["saliency", "gradxinput", "guided-backprop", "deconvnet", "ig", "smoothgrad", "smoothgrad-sq", "vargrad",
           "gradcam", "gradcam++", "guided-gradcam", "occlusion", "lrp", "deeplift", "deeplift-revealcancel"]
STEPS = ["--steps", "6", "--samples", "3"]
TOLERANCE = 1e-5


def occlusion_options(inputs):
    """Occlusion windows a quarter of the image's height and width (NCHW or NHWC: the two equal sides)."""
    shape = np.load(inputs, mmap_mode="r").shape
    side = shape[2] if shape[2] == shape[3] else shape[1]
    window = "%d,%d" % (max(side // 4, 1), max(side // 4, 1))
    return ["--window", window, "--stride", window]


def explain(illume, model, inputs, out_dir):
    json_path = os.path.join(out_dir, "run.json")
    command = [illume, "explain", model, inputs, "-m", ",".join(METHODS), "-o", os.path.join(out_dir, "a.npy"),
               "--json", json_path] + STEPS + occlusion_options(inputs)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(command), result.returncode, result.stderr.strip()))
    with open(json_path) as file:
        report = json.load(file)
    rows = [row["methods"] for row in report["results"]]
    return {m: np.load(os.path.join(out_dir, "a-%s.npy" % m)) for m in METHODS}, rows


def run(illume, model, inputs, out_dir):
    path = os.path.join(out_dir, "run.npy")
    subprocess.run([illume, "run", model, inputs, "-o", path, "--top", "0"], check=True, capture_output=True)
    return np.load(path)


def relative(a, b):
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return float(np.max(np.abs(a - b))) / scale if scale > 0 else float(np.max(np.abs(a - b)))


def check(illume, directory, name):
    inputs = os.path.join(directory, name + ".input.npy")
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        reference_dir = os.path.join(scratch, "dynamic")
        os.makedirs(reference_dir)
        want, want_rows = explain(illume, os.path.join(directory, name + "_dynamic.onnx"), inputs, reference_dir)
        want_output = run(illume, os.path.join(directory, name + "_dynamic.onnx"), inputs, reference_dir)
        for batch in (1, 4):
            model = os.path.join(directory, "%s_b%d.onnx" % (name, batch))
            info = subprocess.run([illume, "info", model], capture_output=True, text=True).stdout
            if "batch: fixed at %d in the file; illume rebinds it" % batch not in info:
                print("FAIL %s: illume info does not say the batch %d is rebound:\n%s" % (model, batch, info))
                failures += 1
            out_dir = os.path.join(scratch, "b%d" % batch)
            os.makedirs(out_dir)
            try:
                got, got_rows = explain(illume, model, inputs, out_dir)
                got_output = run(illume, model, inputs, out_dir)
            except (RuntimeError, subprocess.CalledProcessError) as error:
                print("FAIL %s: %s" % (model, error))
                failures += 1
                continue
            error = relative(got_output, want_output)
            print("%-40s run      output within %.2g of the symbolic export's" % (os.path.basename(model), error))
            failures += error > TOLERANCE
            for method in METHODS:
                error = relative(got[method], want[method]) if got[method].shape == want[method].shape else np.inf
                same_row = len(got_rows) == len(want_rows) and all(
                    got_row[method]["target"] == want_row[method]["target"] and
                    abs(got_row[method]["score"] - want_row[method]["score"]) <=
                    TOLERANCE * (1 + abs(want_row[method]["score"]))
                    for got_row, want_row in zip(got_rows, want_rows))
                print("%-40s %-22s within %.2g%s" % (os.path.basename(model), method, error,
                                                     "" if same_row else ", target or score differs"))
                failures += error > TOLERANCE or not same_row
    return failures


def main():
    illume, directory = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or sorted(os.path.basename(p)[:-len("_dynamic.onnx")]
                                   for p in glob.glob(os.path.join(directory, "*_dynamic.onnx")))
    failures = sum(check(illume, directory, name) for name in names)
    print("%d models, %d failures" % (len(names), failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
