#!/usr/bin/env python3
"""Keras models exported to ONNX with tf2onnx, checked with illume against
ONNX Runtime and TensorFlow's own gradients (the checks and their tolerances
are in illume_checks.py).

    keras_models.py NAME OUT_DIR --illume PATH

exports model NAME of MODELS to OUT_DIR/NAME.onnx, computes its references
(kept with a stamp: a rerun with the same script and libraries reuses them),
runs the checks with the illume binary PATH in OUT_DIR/NAME/, and exits with
status 1 where any failed.

The models: tf.keras.applications ResNet50, MobileNetV2 and EfficientNetB0
with weights=None, and small_cnn (Conv-BatchNorm-ReLU, Conv-ReLU, Flatten,
Dense, softmax). Weights are random (tf.keras.utils.set_random_seed), biases
and BatchNorm's scales and offsets included (randomize_constant_weights).
Keras's initial BatchNorm statistics (mean 0, variance 1) make every input
look alike to a deep random network, so each BatchNormalization gets
momentum 0 and the model is called once in training mode on random images:
its statistics become that batch's. The models end in a softmax and are
exported with tf2onnx.convert.from_keras, input (batch, 224, 224, 3) (NHWC,
as Keras has it; the batch symbolic unless export is given one), ResNet50 at
opset 13 and the others at 17.

The inputs are ROWS random images (pixels uniform in [0, 255]) through the
model's preprocess_input, the targets the top class of each row. The
references, from TensorFlow: ONNX Runtime's outputs (checked against
Keras's), the target logits (the softmax's input: a twin built with
classifier_activation=None and the same weights), and by tf.GradientTape on
that twin the gradient of the target logit with respect to the input
(saliency), times the input (gradxinput), of the target probability (the
softmax of the logits), and Grad-CAM at the input of the
GlobalAveragePooling2D or Flatten layer as Captum's LayerGradCam with
relu_attributions defines it: relu(sum_c mean_hw(dlogit/dA_c) A_c). Each
gradient is computed twice: on the float32 twin and on a float64 twin (the
same architecture built under the float64 dtype policy, the weights copied).
"""
import argparse
import os
import sys
import time

import numpy as np
import onnxruntime
import tensorflow as tf
import tf2onnx

import illume_checks

SEED = 20260419
IMAGE_SIZE = 224
ROWS = 2
CALIBRATION_ROWS = 8


def small_cnn(classifier_activation="softmax"):
    """Conv-BatchNorm-ReLU, Conv-ReLU, Flatten, Dense, softmax: the VGG-like head whose Grad-CAM layer is the
    Flatten's input, which tf2onnx transposes back to NHWC."""
    layers = tf.keras.layers
    inputs = tf.keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.ReLU()(layers.Conv2D(16, 3, strides=2, padding="same")(x))
    outputs = layers.Dense(10, activation=classifier_activation)(layers.Flatten()(x))
    return tf.keras.Model(inputs, outputs, name="small_cnn")


def application(constructor):
    """A tf.keras.applications model with random weights, taking classifier_activation."""
    def build(classifier_activation="softmax"):
        return constructor(weights=None, input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
                           classifier_activation=classifier_activation)
    return build


def small_cnn_preprocess(images):
    return images / 127.5 - 1


# name: (builder, preprocess_input, opset)
MODELS = {
    "resnet50": (application(tf.keras.applications.ResNet50), tf.keras.applications.resnet50.preprocess_input, 13),
    "mobilenetv2": (application(tf.keras.applications.MobileNetV2),
                    tf.keras.applications.mobilenet_v2.preprocess_input, 17),
    "efficientnetb0": (application(tf.keras.applications.EfficientNetB0),
                       tf.keras.applications.efficientnet.preprocess_input, 17),
    "small_cnn": (small_cnn, small_cnn_preprocess, 17),
}


def random_images(rows, seed):
    """rows random NHWC images, pixels uniform in [0, 255], through the model's preprocessing below."""
    return np.random.default_rng(seed).uniform(0, 255, (rows, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)


def build(name, classifier_activation="softmax", dtype="float32"):
    """Model NAME, its layers computing in dtype (its weights random: copy them in with set_weights)."""
    tf.keras.config.set_dtype_policy(dtype)
    try:
        return MODELS[name][0](classifier_activation)
    finally:
        tf.keras.config.set_dtype_policy("float32")


def calibrate_batchnorm(model, images):
    """Sets every BatchNormalization's statistics to those of images: momentum 0, one training-mode call."""
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = 0.0
    model(images, training=True)


def randomize_constant_weights(model, seed):
    """Draws the weights Keras initializes to a constant at random, as a trained model has them: biases and
    BatchNorm offsets (zeros) from N(0, 0.1), BatchNorm scales (ones) from U(0.5, 1.5). (tf2onnx drops an Add
    of zeros, so a Dense layer's bias would not even be in the export.)"""
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        value = weight.numpy()
        if np.all(value == value.flat[0]):
            drawn = rng.uniform(0.5, 1.5, value.shape) if value.flat[0] == 1 else rng.normal(0, 0.1, value.shape)
            weight.assign(drawn.astype(value.dtype))


def build_calibrated(name):
    """Model NAME with seeded random weights and BatchNorm statistics from a training-mode pass."""
    tf.keras.utils.set_random_seed(SEED)
    model = build(name)
    randomize_constant_weights(model, SEED + 3)
    calibrate_batchnorm(model, MODELS[name][1](random_images(CALIBRATION_ROWS, SEED + 1)))
    return model


def export(model, path, opset, batch_size=None):
    """tf2onnx's export of model, input 'input' of shape (batch_size, 224, 224, 3) (None: symbolic)."""
    signature = (tf.TensorSpec((batch_size, IMAGE_SIZE, IMAGE_SIZE, 3), tf.float32, name="input"),)
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset, output_path=path)


def gradcam_layer(model):
    """The layer whose input TensorFlow's Grad-CAM explains: the last GlobalAveragePooling2D or Flatten."""
    return [layer for layer in model.layers
            if isinstance(layer, (tf.keras.layers.GlobalAveragePooling2D, tf.keras.layers.Flatten))][-1]


def gradients(logit_model, inputs, targets, dtype):
    """saliency, gradxinput, gradcam and probability_saliency of the targets, computed in dtype."""
    features = tf.keras.Model(logit_model.inputs, [gradcam_layer(logit_model).input, logit_model.outputs[0]])
    x = tf.constant(inputs, dtype)
    index = tf.stack([tf.range(len(targets)), tf.constant(targets, tf.int32)], axis=1)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        activation, logits = features(x, training=False)
        logit = tf.gather_nd(logits, index)
        probability = tf.gather_nd(tf.nn.softmax(logits), index)
    saliency = tape.gradient(logit, x)
    channel_weights = tf.reduce_mean(tape.gradient(logit, activation), axis=(1, 2))
    gradcam = tf.nn.relu(tf.einsum("nhwc,nc->nhw", activation, channel_weights))[:, None]
    results = {"saliency": saliency, "gradxinput": saliency * x, "gradcam": gradcam,
               "probability_saliency": tape.gradient(probability, x)}
    return {key: value.numpy().astype(np.float32) for key, value in results.items()}, logit.numpy()


def make_references(name, model_path, batch_size=None):
    """Exports model NAME to model_path and returns its references (see the module's docstring)."""
    model = build_calibrated(name)
    _, preprocess, opset = MODELS[name]
    export(model, model_path, opset, batch_size)
    inputs = preprocess(random_images(ROWS, SEED + 2))
    outputs = illume_checks.onnxruntime_outputs(model_path, inputs, model(inputs, training=False).numpy())
    targets = outputs.argmax(axis=1)
    references = {"inputs": inputs, "targets": targets, "outputs": outputs}
    for dtype in ("float32", "float64"):
        twin = build(name, classifier_activation=None, dtype=dtype)
        twin.set_weights(model.get_weights())
        results, logits = gradients(twin, inputs, targets, dtype)
        references.update({f"{key}.{dtype}": value for key, value in results.items()})
        if dtype == "float32":
            references["logits"] = logits
    return references


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(MODELS))
    parser.add_argument("out_dir")
    parser.add_argument("--illume", required=True, help="the illume binary")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    model_path = os.path.join(args.out_dir, args.name + ".onnx")
    stamp = illume_checks.stamp(__file__, ["tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime"])
    start = time.monotonic()
    references = illume_checks.cached_references(model_path, stamp, lambda: make_references(args.name, model_path))
    export_seconds = time.monotonic() - start
    checker = illume_checks.Checker(args.illume, os.path.join(args.out_dir, args.name), args.name)
    illume_checks.check_model(checker, model_path, references, illume_checks.small_settings(IMAGE_SIZE, IMAGE_SIZE))
    illume_checks.summary(checker, export_seconds)
    sys.exit(1 if checker.failures else 0)


if __name__ == "__main__":
    main()
