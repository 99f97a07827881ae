"""Exports PyTorch models three ways for tests/frameworks/check_fixed_batch.py:
with a fixed batch of 1 and of 4 (torch.onnx.export without dynamic axes,
constant folding on, so the batch lands in Reshape shapes) and with a
symbolic batch, and writes five input rows for them.

    export_fixed_batch_torch.py OUT_DIR

Files: NAME_b1.onnx, NAME_b4.onnx, NAME_dynamic.onnx, NAME.input.npy (5 rows).
Models: `flatten_by_view`, a small CNN with BatchNorm that flattens by
x.view(x.size(0), -1) (a Reshape whose shape constant holds the batch), and
torchvision's ResNet-18 on 64x64 images (a Flatten). Random weights, seeded.
"""
import os
import sys

import numpy as np
import torch
import torchvision


class FlattenByView(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.norm = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.dense = torch.nn.Linear(16 * 16 * 16, 10)

    def forward(self, x):
        x = torch.relu(self.norm(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        return self.dense(x.view(x.size(0), -1))


def export(model, size, name, directory):
    model.eval()
    for batch in (1, 4):
        torch.onnx.export(model, torch.randn(batch, 3, size, size), os.path.join(directory, "%s_b%d.onnx" % (name, batch)),
                          opset_version=13, input_names=["x"], output_names=["y"])
    torch.onnx.export(model, torch.randn(2, 3, size, size), os.path.join(directory, name + "_dynamic.onnx"),
                      opset_version=13, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    rows = torch.randn(5, 3, size, size, generator=torch.Generator().manual_seed(5)).numpy()
    np.save(os.path.join(directory, name + ".input.npy"), rows.astype(np.float32))


def main():
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(0)
    with torch.no_grad():
        export(FlattenByView(), 32, "torch_flatten_by_view", directory)
        export(torchvision.models.resnet18(num_classes=20), 64, "torch_resnet18", directory)


if __name__ == "__main__":
    main()
