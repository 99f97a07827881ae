"""The demo's data set: coloured shapes on textured noise, generated from a seed.

Every image is 64x64 RGB (uint8). One shape per image, of a random class,
position, size, rotation and colour, drawn anti-aliased over a background of
multi-scale colour noise with a few faint distractor strokes, so that a model
has to find the shape's outline rather than read the colours or the texture.
The same seed gives the same images (numpy's PCG64 generator).

As a script it writes the demo's sample images:
    python3 demo/make_dataset.py --samples demo/samples
"""

import argparse
import os

import numpy as np

CLASSES = ("circle", "square", "triangle", "cross", "ring", "star")
SIZE = 64
SUPERSAMPLE = 4
# The seed the demo's sample images come from; training and testing use others.
SAMPLE_SEED = 7777


def _inside(shape, u, v):
    """Mask of the unit-sized shape at local coordinates (u, v), radius 1."""
    radius = np.hypot(u, v)
    if shape == "circle":
        return radius <= 1.0
    if shape == "square":
        # Half side 0.8 gives about the circle's area, so size says nothing.
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == "triangle":
        # Equilateral, vertices on the unit circle: three half-planes at distance 1/2.
        inside = np.ones_like(u, dtype=bool)
        for angle in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3):
            inside &= -(u * np.cos(angle) + v * np.sin(angle)) <= 0.5
        return inside
    if shape == "cross":
        arm = 0.3
        return ((np.abs(u) <= arm) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= arm) & (np.abs(u) <= 1.0))
    if shape == "ring":
        return (radius <= 1.0) & (radius >= 0.55)
    if shape == "star":
        # Five points: fold the angle into one half-spike and test against its edge.
        spike = 2 * np.pi / 5
        phi = np.mod(np.arctan2(v, u), spike)
        phi = np.minimum(phi, spike - phi)
        x, y = radius * np.cos(phi), radius * np.sin(phi)
        inner = 0.42
        bx, by = inner * np.cos(spike / 2), inner * np.sin(spike / 2)
        # Inside when (x, y) lies on the origin's side of the line from (1, 0) to (bx, by).
        return (bx - 1.0) * y - by * (x - 1.0) >= 0.0
    raise ValueError(f"unknown shape '{shape}'")


def _background(rng):
    """Multi-scale value noise mixed between two random colours, plus fine grain."""
    texture = np.zeros((SIZE, SIZE), dtype=np.float64)
    weight_total = 0.0
    for cells, weight in ((4, 1.0), (8, 0.6), (16, 0.4), (32, 0.25)):
        coarse = rng.random((cells + 1, cells + 1))
        # Bilinear upsampling of the coarse grid to the image.
        position = np.linspace(0, cells, SIZE, endpoint=False)
        index = position.astype(int)
        fraction = position - index
        rows = coarse[index] * (1 - fraction)[:, None] + coarse[index + 1] * fraction[:, None]
        layer = rows[:, index] * (1 - fraction)[None, :] + rows[:, index + 1] * fraction[None, :]
        texture += weight * layer
        weight_total += weight
    texture /= weight_total
    texture = (texture - texture.min()) / max(texture.max() - texture.min(), 1e-6)
    first, second = rng.random(3), rng.random(3)
    image = first[None, None, :] * (1 - texture[:, :, None]) + second[None, None, :] * texture[:, :, None]
    image += rng.normal(0.0, 0.04, size=image.shape)
    return image


def _distractors(rng, image, count):
    """Faint straight strokes: edges in the background that belong to no shape."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    for _ in range(count):
        angle = rng.uniform(0, np.pi)
        offset = rng.uniform(-SIZE / 2, SIZE / 2)
        distance = np.abs((x - SIZE / 2) * np.sin(angle) - (y - SIZE / 2) * np.cos(angle) - offset)
        coverage = np.clip(1.5 - distance, 0, 1)[:, :, None] * rng.uniform(0.15, 0.35)
        image[:] = image * (1 - coverage) + rng.random(3)[None, None, :] * coverage


def _shape_colour(rng, background):
    """A random colour that stands apart from the background's mean colour."""
    mean = background.reshape(-1, 3).mean(axis=0)
    for _ in range(100):
        colour = rng.random(3)
        if np.linalg.norm(colour - mean) >= 0.45:
            return colour
    return 1.0 - np.round(mean)


def render(rng, label):
    """One uint8 image (SIZE, SIZE, 3) of class index `label`."""
    image = _background(rng)
    _distractors(rng, image, rng.integers(0, 4))
    radius = rng.uniform(10.0, 22.0)
    centre = rng.uniform(radius * 0.9, SIZE - radius * 0.9, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    colour = _shape_colour(rng, image)
    # Coverage from SUPERSAMPLE^2 samples per pixel gives anti-aliased edges.
    steps = (np.arange(SIZE * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    y, x = np.meshgrid(steps, steps, indexing="ij")
    dx, dy = (x - centre[0]) / radius, (y - centre[1]) / radius
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    mask = _inside(CLASSES[label], u, v).astype(np.float64)
    coverage = mask.reshape(SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(1, 3))[:, :, None]
    shaded = colour[None, None, :] + rng.normal(0.0, 0.03, size=image.shape)
    image = image * (1 - coverage) + shaded * coverage
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def generate(count, seed):
    """`count` images (N, SIZE, SIZE, 3) uint8 and labels (N,) int64, classes balanced in turn."""
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = np.arange(count, dtype=np.int64) % len(CLASSES)
    rng.shuffle(labels)
    images = np.stack([render(rng, int(label)) for label in labels])
    return images, labels


def write_samples(folder, per_class=1):
    """The first `per_class` images of each class drawn from SAMPLE_SEED, as CLASS.png or CLASS-K.png."""
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    images, labels = generate(len(CLASSES) * per_class * 4, SAMPLE_SEED)
    written = []
    for label, name in enumerate(CLASSES):
        chosen = np.flatnonzero(labels == label)[:per_class]
        for k, index in enumerate(chosen):
            filename = f"{name}.png" if per_class == 1 else f"{name}-{k + 1}.png"
            path = os.path.join(folder, filename)
            Image.fromarray(images[index], mode="RGB").save(path, optimize=True)
            written.append(path)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", metavar="FOLDER", help="write one sample PNG per class here")
    parser.add_argument("--preview", metavar="FILE", help="write a grid of 8 images per class to this PNG")
    arguments = parser.parse_args()
    if not arguments.samples and not arguments.preview:
        parser.error("give --samples FOLDER and/or --preview FILE")
    if arguments.samples:
        for path in write_samples(arguments.samples):
            print(path)
    if arguments.preview:
        from PIL import Image

        images, labels = generate(len(CLASSES) * 8, SAMPLE_SEED + 1)
        order = np.argsort(labels, kind="stable")
        grid = images[order].reshape(len(CLASSES), 8, SIZE, SIZE, 3).transpose(0, 2, 1, 3, 4)
        Image.fromarray(grid.reshape(len(CLASSES) * SIZE, 8 * SIZE, 3)).save(arguments.preview)
        print(arguments.preview)


if __name__ == "__main__":
    main()
