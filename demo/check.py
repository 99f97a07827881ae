"""Check the committed demo: illume must classify every sample as its file name says and
match ONNX Runtime's logits.

    python3 demo/check.py build/illume

Runs `ILLUME run demo/model.onnx demo/samples/*.png -o FILE.npy`, feeds ONNX
Runtime the same pixels scaled to [0, 1], and exits non-zero, saying why, when a
sample's top class is not the one its name gives or when the logits differ by
more than the tolerance.
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("illume", help="path to the illume executable")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest |logit difference| (default 1e-3)")
    arguments = parser.parse_args()

    import onnxruntime
    from PIL import Image

    model = os.path.join(HERE, "model.onnx")
    with open(os.path.join(HERE, "labels.txt")) as file:
        classes = [line.strip() for line in file if line.strip()]
    samples = sorted(glob.glob(os.path.join(HERE, "samples", "*.png")))
    if not samples:
        sys.exit(f"no samples in {os.path.join(HERE, 'samples')}")
    expected_classes = []
    for path in samples:
        name = os.path.splitext(os.path.basename(path))[0].split("-")[0]
        if name not in classes:
            sys.exit(f"{path}: '{name}' is not a class of labels.txt")
        expected_classes.append(classes.index(name))

    with tempfile.TemporaryDirectory() as folder:
        output = os.path.join(folder, "logits.npy")
        command = [arguments.illume, "run", model, *samples, "--top", "0", "-o", output]
        try:
            result = subprocess.run(command, capture_output=True, text=True)
        except OSError as error:
            sys.exit(f"cannot run {arguments.illume}: {error.strerror}")
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
        got = np.load(output)

    pixels = np.stack([np.asarray(Image.open(path).convert("RGB")) for path in samples])
    inputs = pixels.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    reference = session.run(["logits"], {"input": inputs})[0]

    failures = 0
    if got.shape != reference.shape:
        sys.exit(f"illume's logits have shape {got.shape}, ONNX Runtime's {reference.shape}")
    difference = float(np.abs(got - reference).max())
    print(f"max |illume - ONNX Runtime| over {len(samples)} samples: {difference:.2e}")
    if difference > arguments.tolerance:
        print(f"FAIL: logits differ by more than {arguments.tolerance}")
        failures += 1
    for path, expected, row in zip(samples, expected_classes, got):
        predicted = int(row.argmax())
        verdict = "ok" if predicted == expected else "FAIL"
        print(f"{verdict}: {os.path.basename(path)} -> {classes[predicted]}")
        failures += predicted != expected
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
