"""Writes the starting inputs of the fuzz targets into OUT_DIR/TARGET/: valid
inputs of every kind each parser reads, from which the committed corpora
(tests/fuzz/corpus/TARGET/) were grown and minimized (docs/fuzzing.md).
Usage: make_seeds.py FIXTURES_DIR OUT_DIR. Seeded: every run writes the same
bytes.
"""
import io
import os
import shutil
import sys

import numpy as np
from PIL import Image


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as file:
        file.write(data)


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def npy_seeds(out, rng):
    arrays = {
        "float32": rng.standard_normal((1, 3, 8, 8)).astype(np.float32),
        "float64": rng.standard_normal((2, 3)),
        "int8": np.arange(-4, 4, dtype=np.int8),
        "int64": np.arange(6, dtype=np.int64).reshape(2, 3),
        "uint16": np.arange(5, dtype=np.uint16),
        "uint64": np.array([2**63 + 5], dtype=np.uint64),
        "bool": np.array([[True, False]]),
        "scalar": np.float32(2.5),
        "empty": np.zeros((0, 3), np.float32),
        "rank8": np.zeros((1,) * 8, np.float32),
        "fortran": np.asfortranarray(rng.standard_normal((2, 3)).astype(np.float32)),
        "big_endian": np.arange(3, dtype=">f4"),
    }
    for name, array in arrays.items():
        write(out, name + ".npy", npy_bytes(array))
    write(out, "version2.npy", npy_bytes(arrays["float32"][:, :1, :2, :2], version=(2, 0)))
    write(out, "version3.npy", npy_bytes(arrays["int64"], version=(3, 0)))


def image_bytes(image, form, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=form, **options)
    return buffer.getvalue()


def image_seeds(out, rng):
    pixels = (rng.random((6, 10, 3)) * 255).astype(np.uint8)
    rgb = Image.fromarray(pixels)
    images = {
        "rgb.png": image_bytes(rgb, "PNG"),
        "interlaced.png": image_bytes(rgb, "PNG", interlace=1),
        "gray.png": image_bytes(rgb.convert("L"), "PNG"),
        "bits1.png": image_bytes(rgb.convert("1"), "PNG"),
        "palette.png": image_bytes(rgb.convert("P"), "PNG", transparency=0),
        "rgba.png": image_bytes(rgb.convert("RGBA"), "PNG"),
        "gray16.png": image_bytes(Image.fromarray((pixels[:, :, 0].astype(np.uint16) * 257)), "PNG"),
        "baseline.jpg": image_bytes(rgb, "JPEG", quality=80),
        "progressive.jpg": image_bytes(rgb, "JPEG", quality=80, progressive=True),
        "gray.jpg": image_bytes(rgb.convert("L"), "JPEG"),
        "cmyk.jpg": image_bytes(rgb.convert("CMYK"), "JPEG"),
        "subsampled.jpg": image_bytes(rgb, "JPEG", subsampling=2),
    }
    # The option bytes of fuzz_image.c before each file: flags, height - 1, width - 1.
    options = [(0, 7, 7), (1, 3, 4), (2 | 4, 15, 15), (8, 0, 0), (16, 7, 7), (32, 7, 7)]
    for k, (name, data) in enumerate(images.items()):
        flags, height, width = options[k % len(options)]
        write(out, name, bytes([flags, height, width]) + data)


def rules_seeds(out, fixtures):
    maps = {
        "composite.txt": b"first=zbox:-3,3; conv=gamma:0.25; dense=epsilon:1e-6",
        "nodes.txt": b"node:conv1=flat; node:dense=wsquare; index:1-1=pass",
        "kinds.txt": b"add=norm;avgpool=norm;maxpool=gradient;activation=pass;batchnorm=pass",
        "alpha_beta.txt": b"conv=alpha-beta:2,1;first=zplus",
        "epsilon.txt": b"conv=epsilon:0.1; dense=epsilon",
        "escaped.json": b'{"node:conv\\"1": "flat", "conv": "gamma"}',
        "empty.json": b"{}",
    }
    for name, data in maps.items():
        write(out, name, data)
    shutil.copy(os.path.join(fixtures, "rules.json"), os.path.join(out, "fixture.json"))


def command_line_seeds(out):
    vectors = {
        "info": ["info", "model.onnx", "--values"],
        "info_shape": ["info", "model.onnx", "--shape", "2,3,8,8"],
        "info_backends": ["info", "--backends"],
        "run_npy": ["run", "model.onnx", "input.npy", "-o", "out.npy", "--labels", "labels.txt", "--top", "2"],
        "run_images": ["run", "model.onnx", "image.png", "image.jpg", "--imagenet", "--layout", "nchw"],
        "run_size": ["run", "model.onnx", "image.png", "--size", "8,8", "--mean", "0.5", "--std", "0.25"],
        "run_fixed_batch": ["run", "fixed.onnx", "input.npy", "-o", "out.npy"],
        "run_no_rows": ["run", "fixed.onnx", "empty.npy", "--top", "1"],
        "run_any_size": ["run", "any_size.onnx", "no_pixels.npy"],
        "bench": ["bench", "model.onnx", "--batch", "2", "--iterations", "1", "--warmup", "0", "--json"],
        "bench_method": ["bench", "model.onnx", "-m", "ig", "--steps", "2", "--iterations", "1", "--profile"],
        "explain": ["explain", "model.onnx", "image.png", "-m", "saliency,gradcam", "-o", "out.npy",
                    "--heatmap", "maps", "--json", "run.json"],
        "explain_ig": ["explain", "model.onnx", "input.npy", "-m", "ig", "--steps", "3", "--baseline", "blur",
                       "--blur-sigma", "2", "--quadrature", "trapezoid", "--target", "1"],
        "explain_smoothgrad": ["explain", "model.onnx", "image.jpg", "-m", "smoothgrad", "--samples", "2",
                               "--noise", "0.2", "--base", "gradxinput", "--seed", "3"],
        "explain_occlusion": ["explain", "model.onnx", "image.png", "-m", "occlusion", "--window", "4,4",
                              "--stride", "2,2", "--fill", "0.5"],
        "explain_lrp": ["explain", "model.onnx", "image.png", "-m", "lrp", "--composite", "epsilon-gamma-box",
                        "--low", "-3", "--high", "3", "--rules", "rules.json", "--print-rules", "--tap", "p1",
                        "--tap-sum"],
        "explain_deeplift": ["explain", "model.onnx", "input.npy", "-m", "deeplift", "--baseline", "0.5",
                             "--score", "probability"],
        "explain_feature": ["explain", "model.onnx", "input.npy", "-m", "guided-backprop", "--feature", "r2",
                            "--channel", "1"],
        "explain_dataset": ["explain", "model.onnx", "*.png", "-o", "out", "--layer", "p1", "--upsample",
                            "-m", "gradcam++", "--max-memory", "64M"],
        "explain_demo": ["explain"],
    }
    for name, vector in vectors.items():
        write(out, name, b"\0".join(argument.encode() for argument in vector))


def main():
    fixtures, out = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(15)
    write(os.path.join(out, "model_loader"), "model.onnx", open(os.path.join(fixtures, "model.onnx"), "rb").read())
    npy_seeds(os.path.join(out, "npy"), rng)
    image_seeds(os.path.join(out, "image"), rng)
    rules_seeds(os.path.join(out, "rules"), fixtures)
    command_line_seeds(os.path.join(out, "command_line"))


if __name__ == "__main__":
    main()
