#!/usr/bin/env python3
"""Flax (nnx) models exported to ONNX with jax2onnx, checked with illume
against ONNX Runtime and JAX's own gradients (the checks and their
tolerances are in illume_checks.py).

    flax_models.py NAME OUT_DIR --illume PATH

exports model NAME of MODELS to OUT_DIR/NAME.onnx, computes its references
(kept with a stamp: a rerun with the same script and libraries reuses them),
runs the checks with the illume binary PATH in OUT_DIR/NAME/, and exits with
status 1 where any failed.

The models take (batch, 32, 32, 3) inputs, channels last as Flax
convolutions do, and return logits: flatten_cnn (Conv-BatchNorm-ReLU,
Conv-ReLU, Flatten, Dense: its Grad-CAM layer is the Flatten's input, which
jax2onnx transposes back to channels last) and pooling_cnn (two
Conv-BatchNorm-ReLU, Conv-ReLU, the mean over height and width, Dense).
Weights are random (nnx.Rngs(SEED)), biases and BatchNorm's scales and
offsets included (from N(0, 0.1) and U(0.5, 1.5), where Flax starts them at
constants: a trained model has neither). Each BatchNorm has momentum 0 and
the model is called once in training mode on random inputs, so its
statistics are that batch's rather than the initial mean 0 and variance 1.
The models are exported by jax2onnx.to_onnx at its default opset, the batch
symbolic.

The inputs are ROWS standard normal rows, the targets the top class of each
row. The references, from JAX: ONNX Runtime's outputs (checked against the
model's), the target logits, and by jax.grad the gradient of the target
logit with respect to the input (saliency), times the input (gradxinput), and
Grad-CAM at the input of the Flatten or of the pooling as Captum's
LayerGradCam with relu_attributions defines it: relu(sum_c
mean_hw(dlogit/dA_c) A_c). Each gradient is computed twice: in float32, and
in float64 (jax_enable_x64, the model's parameters cast to float64).
"""
import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import jax2onnx
import numpy as np
import onnx
import onnxruntime
from flax import nnx

import illume_checks

jax.config.update("jax_enable_x64", True)  # for the float64 references; the models and exports stay float32

SEED = 20260419
IMAGE_SIZE = 32
ROWS = 2
CALIBRATION_ROWS = 8
CLASSES = 10
RANDOM_BIAS = nnx.initializers.normal(0.1)


def random_scale(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, 0.5, 1.5)


def conv(inputs, outputs, rngs, strides=1):
    return nnx.Conv(inputs, outputs, (3, 3), strides=strides, bias_init=RANDOM_BIAS, rngs=rngs)


def batch_norm(channels, rngs):
    return nnx.BatchNorm(channels, momentum=0.0, scale_init=random_scale, bias_init=RANDOM_BIAS, rngs=rngs)


class FlattenCNN(nnx.Module):
    """Conv-BatchNorm-ReLU, Conv(stride 2)-ReLU, Flatten, Dense."""

    def __init__(self, rngs):
        self.conv1 = conv(3, 8, rngs)
        self.norm1 = batch_norm(8, rngs)
        self.conv2 = conv(8, 16, rngs, strides=2)
        self.dense = nnx.Linear(16 * (IMAGE_SIZE // 2) ** 2, CLASSES, bias_init=RANDOM_BIAS, rngs=rngs)

    def features(self, x):
        """The activation Grad-CAM explains: the Flatten's input."""
        x = nnx.relu(self.norm1(self.conv1(x)))
        return nnx.relu(self.conv2(x))

    def head(self, features):
        return self.dense(features.reshape(features.shape[0], -1))

    def __call__(self, x):
        return self.head(self.features(x))


class PoolingCNN(nnx.Module):
    """Conv-BatchNorm-ReLU, Conv(stride 2)-BatchNorm-ReLU, Conv-ReLU, mean over height and width, Dense."""

    def __init__(self, rngs):
        self.conv1 = conv(3, 8, rngs)
        self.norm1 = batch_norm(8, rngs)
        self.conv2 = conv(8, 16, rngs, strides=2)
        self.norm2 = batch_norm(16, rngs)
        self.conv3 = conv(16, 32, rngs)
        self.dense = nnx.Linear(32, CLASSES, bias_init=RANDOM_BIAS, rngs=rngs)

    def features(self, x):
        """The activation Grad-CAM explains: the pooling's input."""
        x = nnx.relu(self.norm1(self.conv1(x)))
        x = nnx.relu(self.norm2(self.conv2(x)))
        return nnx.relu(self.conv3(x))

    def head(self, features):
        return self.dense(features.mean(axis=(1, 2)))

    def __call__(self, x):
        return self.head(self.features(x))


MODELS = {"flatten_cnn": FlattenCNN, "pooling_cnn": PoolingCNN}


def random_inputs(rows, seed):
    return np.random.default_rng(seed).standard_normal((rows, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)


def build_calibrated(name):
    """Model NAME with seeded random weights and BatchNorm statistics from a training-mode call, in eval mode."""
    model = MODELS[name](nnx.Rngs(SEED))
    model.train()
    model(jnp.asarray(random_inputs(CALIBRATION_ROWS, SEED + 1)))
    model.eval()
    return model


def export(model, path, batch_size="B"):
    """jax2onnx's export of model at its default opset, input (batch_size, 32, 32, 3) (a name: symbolic)."""
    onnx.save(jax2onnx.to_onnx(model, [(batch_size, IMAGE_SIZE, IMAGE_SIZE, 3)]), path)


def as_float64(model):
    """A copy of model with its floating-point parameters and statistics in float64."""
    graph, state = nnx.split(model)
    state = jax.tree.map(lambda a: a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a, state)
    return nnx.merge(graph, state)


def gradients(model, inputs, targets):
    """saliency, gradxinput and gradcam of the targets, computed in the dtype of model and inputs."""
    rows = jnp.arange(len(targets))
    saliency = jax.grad(lambda x: model(x)[rows, targets].sum())(inputs)
    activation = model.features(inputs)
    channel_weights = jax.grad(lambda a: model.head(a)[rows, targets].sum())(activation).mean(axis=(1, 2))
    gradcam = jax.nn.relu(jnp.einsum("nhwc,nc->nhw", activation, channel_weights))[:, None]
    results = {"saliency": saliency, "gradxinput": saliency * inputs, "gradcam": gradcam}
    return {key: np.asarray(value, np.float32) for key, value in results.items()}


def make_references(name, model_path):
    """Exports model NAME to model_path and returns its references (see the module's docstring)."""
    model = build_calibrated(name)
    export(model, model_path)
    inputs = random_inputs(ROWS, SEED + 2)
    logits = np.asarray(model(jnp.asarray(inputs)))
    outputs = illume_checks.onnxruntime_outputs(model_path, inputs, logits)
    targets = outputs.argmax(axis=1)
    references = {"inputs": inputs, "targets": targets, "outputs": outputs,
                  "logits": logits[np.arange(ROWS), targets]}
    for dtype, copy in (("float32", model), ("float64", as_float64(model))):
        results = gradients(copy, jnp.asarray(inputs, dtype), jnp.asarray(targets))
        references.update({f"{key}.{dtype}": value for key, value in results.items()})
    return references


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(MODELS))
    parser.add_argument("out_dir")
    parser.add_argument("--illume", required=True, help="the illume binary")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    model_path = os.path.join(args.out_dir, args.name + ".onnx")
    stamp = illume_checks.stamp(__file__, ["jax", "jaxlib", "flax", "jax2onnx", "onnx", "onnxruntime"])
    start = time.monotonic()
    references = illume_checks.cached_references(model_path, stamp, lambda: make_references(args.name, model_path))
    export_seconds = time.monotonic() - start
    checker = illume_checks.Checker(args.illume, os.path.join(args.out_dir, args.name), args.name)
    illume_checks.check_model(checker, model_path, references, illume_checks.small_settings(IMAGE_SIZE, IMAGE_SIZE))
    illume_checks.summary(checker, export_seconds)
    sys.exit(1 if checker.failures else 0)


if __name__ == "__main__":
    main()
