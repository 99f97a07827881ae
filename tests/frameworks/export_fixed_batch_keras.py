"""Exports a Keras model three ways for check_fixed_batch.py: with a fixed
batch of 1 and of 4 in tf2onnx's input signature (the batch then lands in the
Reshape of its Flatten) and with a symbolic batch, and writes five input rows.

    export_fixed_batch_keras.py OUT_DIR

Files: keras_small_cnn_b1.onnx, _b4.onnx, _dynamic.onnx and
keras_small_cnn.input.npy. The model is keras_models.py's small_cnn (Conv,
BatchNorm, ReLU, Conv, ReLU, Flatten, Dense, softmax; channels last), its
weights and BatchNorm statistics as keras_models.py makes them.
"""
import os
import sys

import numpy as np

import keras_models

NAME = "small_cnn"


def main():
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    model = keras_models.build_calibrated(NAME)
    _, preprocess, opset = keras_models.MODELS[NAME]
    for batch, suffix in ((1, "_b1"), (4, "_b4"), (None, "_dynamic")):
        keras_models.export(model, os.path.join(directory, "keras_%s%s.onnx" % (NAME, suffix)), opset, batch)
    rows = preprocess(keras_models.random_images(5, keras_models.SEED + 3))
    np.save(os.path.join(directory, "keras_%s.input.npy" % NAME), np.asarray(rows, np.float32))


if __name__ == "__main__":
    main()
