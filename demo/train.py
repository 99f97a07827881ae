"""Train the demo's shape classifier and export it to ONNX.

    python3 demo/train.py            # writes demo/model.onnx, demo/labels.txt, demo/samples/*.png

Trains a small CNN (conv + batch norm + ReLU blocks, max pooling, one residual
block, global average pooling, a linear classifier) on the images of
make_dataset.py, on the CPU, from fixed seeds. The model takes pixels scaled to
[0, 1] with no mean or std, NCHW float32 of any batch size, as `illume run` and
`illume explain` feed PNG files by default. After export, ONNX Runtime must
reproduce PyTorch's logits on the sample images.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_dataset  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_SEED, TEST_SEED, TORCH_SEED = 1, 2, 3


class ConvBlock(nn.Module):
    """3x3 convolution, batch norm, ReLU."""

    def __init__(self, inputs, outputs):
        super().__init__()
        self.conv = nn.Conv2d(inputs, outputs, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(outputs)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Residual(nn.Module):
    """Two 3x3 convolutions whose output is added to the block's input before the last ReLU."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(y)) + x)


class ShapeNet(nn.Module):
    """Module names become the ONNX node names (/block5/relu/Relu, ...), so keep them readable."""

    def __init__(self, classes):
        super().__init__()
        self.block1 = ConvBlock(3, 16)  # 64x64
        self.pool1 = nn.MaxPool2d(2)
        self.block2 = ConvBlock(16, 32)  # 32x32
        self.pool2 = nn.MaxPool2d(2)
        self.residual = Residual(32)  # 16x16
        self.pool3 = nn.MaxPool2d(2)
        self.block4 = ConvBlock(32, 64)  # 8x8
        self.block5 = ConvBlock(64, 64)  # 8x8: the layer Grad-CAM looks at
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(64, classes)

    def forward(self, x):
        x = self.pool1(self.block1(x))
        x = self.pool2(self.block2(x))
        x = self.pool3(self.residual(x))
        x = self.block5(self.block4(x))
        return self.classifier(torch.flatten(self.pool(x), 1))


def to_tensor(images):
    """uint8 NHWC to float32 NCHW in [0, 1], as illume scales PNG pixels."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)


def augment(batch, generator):
    """Flips and quarter turns: every class stays itself under them."""
    if torch.rand(1, generator=generator).item() < 0.5:
        batch = batch.flip(3)
    if torch.rand(1, generator=generator).item() < 0.5:
        batch = batch.flip(2)
    turns = int(torch.randint(0, 4, (1,), generator=generator).item())
    return torch.rot90(batch, turns, (2, 3))


def accuracy(model, images, labels, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images), batch):
            logits = model(to_tensor(images[start : start + batch]))
            correct += (logits.argmax(1).numpy() == labels[start : start + batch]).sum()
    return correct / len(images)


def train(model, images, labels, epochs, batch, generator):
    inputs, targets = to_tensor(images), torch.from_numpy(labels)
    steps = epochs * ((len(images) + batch - 1) // batch)
    optimiser = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=4e-3, total_steps=steps, pct_start=0.2)
    loss_function = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        total, started = 0.0, time.time()
        for start in range(0, len(images), batch):
            chosen = order[start : start + batch]
            loss = loss_function(model(augment(inputs[chosen], generator)), targets[chosen])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(chosen)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(images):.4f} ({time.time() - started:.0f} s)", flush=True)


def export(model, path):
    model.eval()
    example = torch.zeros(1, 3, make_dataset.SIZE, make_dataset.SIZE)
    torch.onnx.export(
        model,
        example,
        path,
        opset_version=13,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        # Keep BatchNormalization nodes (inference form, running statistics) rather than
        # letting the exporter fold them, so the graph shows the model as written; the
        # model is in eval mode, so they use the running statistics. Constant folding
        # would have nothing to fold here and warns in this mode.
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
    )


def check_with_onnxruntime(model, path, sample_paths):
    """ONNX Runtime's logits on the sample PNGs must match PyTorch's; returns the predicted classes."""
    import onnxruntime
    from PIL import Image

    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sample_paths])
    inputs = to_tensor(images)
    model.eval()
    with torch.no_grad():
        expected = model(inputs).numpy()
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"input": inputs.numpy()})[0]
    difference = float(np.abs(got - expected).max())
    print(f"ONNX Runtime vs PyTorch on {len(sample_paths)} samples: max |logit difference| {difference:.2e}")
    if difference > 1e-4 or not np.array_equal(got.argmax(1), expected.argmax(1)):
        raise SystemExit("the exported model does not reproduce PyTorch's outputs")
    return got.argmax(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=10000, help="training images (default 10000)")
    parser.add_argument("--test", type=int, default=3000, help="held-out test images (default 3000)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch (default 2)")
    parser.add_argument("--output", default=HERE, help="folder for model.onnx, labels.txt, samples/")
    arguments = parser.parse_args()

    torch.set_num_threads(arguments.threads)
    torch.manual_seed(TORCH_SEED)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(TORCH_SEED)

    started = time.time()
    train_images, train_labels = make_dataset.generate(arguments.train, TRAIN_SEED)
    test_images, test_labels = make_dataset.generate(arguments.test, TEST_SEED)
    print(f"generated {arguments.train} training and {arguments.test} test images ({time.time() - started:.0f} s)")

    model = ShapeNet(len(make_dataset.CLASSES))
    parameters = sum(p.numel() for p in model.parameters())
    print(f"ShapeNet: {parameters} parameters")
    started = time.time()
    train(model, train_images, train_labels, arguments.epochs, arguments.batch, generator)
    print(f"trained in {time.time() - started:.0f} s")
    print(f"train accuracy {accuracy(model, train_images, train_labels):.4f}")
    print(f"test accuracy  {accuracy(model, test_images, test_labels):.4f}")

    os.makedirs(arguments.output, exist_ok=True)
    model_path = os.path.join(arguments.output, "model.onnx")
    export(model, model_path)
    print(f"{model_path}: {os.path.getsize(model_path)} bytes")
    with open(os.path.join(arguments.output, "labels.txt"), "w") as labels:
        labels.write("".join(name + "\n" for name in make_dataset.CLASSES))
    samples = make_dataset.write_samples(os.path.join(arguments.output, "samples"))
    predicted = check_with_onnxruntime(model, model_path, samples)
    for path, label in zip(samples, predicted):
        print(f"  {os.path.basename(path)}: {make_dataset.CLASSES[label]}")


if __name__ == "__main__":
    main()
