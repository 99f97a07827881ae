"""Checks the illume command line on an ONNX export against references that
the exporting framework computed (keras_models.py with TensorFlow,
flax_models.py with JAX), and prints one line per check with its error.

Every check runs the `illume` binary on the export and a .npy file of input
rows, with the targets given explicitly (the top class of each row). The
errors are relative: max |actual - reference| / max |reference|.

    run            `illume run` against ONNX Runtime's first output: 1e-4
                   (both compute the same float32 graph; they differ by
                   rounding only).
    score          the score `explain --json` reports for each row against
                   the framework's logit of the target (the Softmax's input
                   where the model ends in one): 1e-4.
    gradients      `explain -m saliency,gradxinput,gradcam` against the
                   framework's gradient of the target logit, the gradient
                   times the input, and its Grad-CAM at its usual layer (the
                   input of the global average pooling or of the Flatten;
                   illume must find that layer by itself): 1e-3 against the
                   framework's float32 or its float64 computation. Where
                   float32 rounds a ReLU's input to the other side of zero,
                   two correct float32 engines give different gradients in
                   that unit's receptive field, and in a deep network with
                   random weights such flips happen in every input (in
                   Keras's ResNet50, about 25 of the 9 million ReLU inputs of
                   a row change sign between TensorFlow's float32 and
                   float64, most in the last blocks, whose receptive fields
                   cover the image: its float32 saliency is 4e-2 from its
                   float64 one). So where neither is within 1e-3, illume's
                   float32 must be as close to the exact gradient as the
                   framework's float32 is: its L2 error against float64
                   (||a - r|| / ||r||) at most FLOAT32_NOISE (3) times the
                   framework's float32 one. L2 rather than the largest
                   difference, which one flip in an early layer decides; the
                   two engines' L2 errors measure 0.8 to 1.1 times each
                   other on ResNet50 and MobileNetV2. A wrong gradient (a
                   layout, a rule, a fold) is off by far more, and the models
                   without flips (the small ones, EfficientNetB0's smooth
                   activations) hold 1e-3.
    probability    where the model ends in a Softmax, saliency with `--score
                   probability` against the gradient of the target's
                   probability: 1e-3, float32 or float64 as above.
    lrp rules      `-m lrp --print-rules` gives no Mul, Add, Sub or Div node
                   the gradient rule: exporters leave BatchNorm as a
                   per-channel Mul and Add, which the engine must fold into
                   the convolution before them (runtime/fold_affine.c), and
                   a gradient rule there scales relevance at every layer.
    lrp canonical  the LRP relevance of the export against illume's LRP of a
                   copy of the export in which every Conv -> Mul(constant) ->
                   Add(constant) chain and every Conv -> BatchNormalization
                   has been merged into the Conv here with numpy (the
                   canonical form Zennit's canonizers give), for the
                   composites epsilon-plus-flat and epsilon-gamma-box (--low
                   -3 --high 3): 1e-4. The engine's fold and this merge
                   compute the same weights up to rounding, so the relevance
                   must agree as closely as the outputs do. (An export with
                   nothing to merge is its own canonical form.)
    lrp delta      the conservation gap `explain --json` reports is finite.
    other methods  every other method (OTHER_METHODS) once, on the first row
                   with small settings (small_settings): exit status 0,
                   finite values, the expected shape. (Their arithmetic is
                   checked against Captum in tests/explain; here, that they
                   run on these graphs.)
"""
import hashlib
import importlib.metadata as metadata
import json
import os
import re
import subprocess
import time

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper

OUTPUT_TOLERANCE = 1e-4
EXPORT_TOLERANCE = 1e-3
GRADIENT_TOLERANCE = 1e-3
LRP_TOLERANCE = 1e-4
FLOAT32_NOISE = 3
LRP_COMPOSITES = {"epsilon-plus-flat": [], "epsilon-gamma-box": ["--low", "-3", "--high", "3"]}
OTHER_METHODS = ["ig", "smoothgrad", "guided-backprop", "deconvnet", "gradcam++", "guided-gradcam", "occlusion",
                 "deeplift"]
MAP_METHODS = {"gradcam", "gradcam++"}  # methods that return the layer's (N, 1, h, w) map


def relative_error(actual, reference):
    """max |actual - reference| / max |reference| (the absolute error where the reference is all zeros)."""
    scale = np.max(np.abs(reference))
    error = np.max(np.abs(actual.astype(np.float64) - reference.astype(np.float64)))
    return error / scale if scale > 0 else error


def l2_error(actual, reference):
    """||actual - reference|| / ||reference||, over all elements."""
    difference = actual.astype(np.float64) - reference.astype(np.float64)
    return np.linalg.norm(difference) / np.linalg.norm(reference.astype(np.float64))


class Checker:
    """Runs illume for one model and records which checks failed."""

    def __init__(self, illume, work_dir, name):
        self.illume = illume
        self.work_dir = work_dir
        self.name = name
        self.failures = []
        self.seconds = {}  # the time of each illume command, by check
        os.makedirs(work_dir, exist_ok=True)

    def report(self, passed, check, text):
        print(f"{'ok  ' if passed else 'FAIL'} {self.name} {check}: {text}", flush=True)
        if not passed:
            self.failures.append(check)

    def compare(self, check, actual, references, tolerance):
        """Passes when actual is within tolerance of any of references ({label: array}). Where they are a
        framework's float32 and float64 gradients, also when actual's L2 error against the float64 one is at
        most FLOAT32_NOISE times the framework's own float32 gradient's (see the module's docstring)."""
        shape = next(iter(references.values())).shape
        if actual.shape != shape:
            self.report(False, check, f"shape {actual.shape}, expected {shape}")
            return
        errors = {label: relative_error(actual, reference) for label, reference in references.items()}
        text = ", ".join(f"error {error:.2e} against {label}" for label, error in errors.items())
        passed = min(errors.values()) <= tolerance
        text += f" (tolerance {tolerance:g})"
        if not passed and set(references) == {"float32", "float64"}:
            exact = references["float64"]
            ours, theirs = l2_error(actual, exact), l2_error(references["float32"], exact)
            passed = ours <= FLOAT32_NOISE * theirs
            text += (f"; L2 error against float64 {ours:.2e}, the framework's float32 {theirs:.2e}: "
                     f"up to {FLOAT32_NOISE:g}x that passes")
        self.report(passed, check, text)

    def run_illume(self, check, arguments):
        """Runs illume with arguments; reports a failure and returns None where it exits with an error."""
        start = time.monotonic()
        result = subprocess.run([self.illume] + arguments, capture_output=True, text=True)
        self.seconds[check] = time.monotonic() - start
        if result.returncode != 0:
            message = result.stderr.strip().splitlines()[-1:] or ["(no message)"]
            self.report(False, check, f"illume exited with {result.returncode}: {message[0]}")
            return None
        return result

    def explain(self, check, model, inputs_path, methods, targets, options=()):
        """illume explain; returns ({method: attributions}, json results, stdout) or None where it failed."""
        stem = os.path.join(self.work_dir, re.sub(r"[^A-Za-z0-9_.-]+", "_", check))
        arguments = ["explain", model, inputs_path, "-m", ",".join(methods),
                     "--target", ",".join(str(t) for t in targets), "-o", stem + ".npy", "--json", stem + ".json"]
        result = self.run_illume(check, arguments + list(options))
        if result is None:
            return None
        if len(methods) == 1:
            maps = {methods[0]: np.load(stem + ".npy")}
        else:
            maps = {method: np.load(f"{stem}-{method}.npy") for method in methods}
        with open(stem + ".json") as file:
            rows = json.load(file)["results"]
        return maps, rows, result.stdout


def check_run(checker, model, inputs_path, outputs):
    """`illume run` against ONNX Runtime's first output."""
    path = os.path.join(checker.work_dir, "run.npy")
    if checker.run_illume("run", ["run", model, inputs_path, "-o", path, "--top", "0"]) is not None:
        checker.compare("run", np.load(path), {"ONNX Runtime": outputs}, OUTPUT_TOLERANCE)


def check_methods(checker, check, model, inputs_path, targets, references, options=(), logits=None,
                  tolerance=GRADIENT_TOLERANCE):
    """Explains with every method of references ({method: {label: array}}, see Checker.compare) in one illume
    call and compares each method's attributions with its references within tolerance; with logits, also
    each row's reported score (within OUTPUT_TOLERANCE)."""
    explained = checker.explain(check, model, inputs_path, list(references), targets, options)
    if explained is None:
        return
    maps, rows, _ = explained
    for method, method_references in references.items():
        checker.compare(f"{check} {method}", maps[method], method_references, tolerance)
    if logits is not None:
        method = next(iter(references))
        scores = np.array([row["methods"][method]["score"] for row in rows])
        score_of = rows[0]["methods"][method]["score_of"]
        checker.compare(f"{check} score ({score_of})", scores, {"the target logits": logits}, OUTPUT_TOLERANCE)


def check_finite(checker, model, inputs_path, targets, shapes, options=()):
    """Runs each method of shapes ({method: expected shape}) on its own: exit 0, finite values, that shape."""
    for method, shape in shapes.items():
        explained = checker.explain(method, model, inputs_path, [method], targets, options)
        if explained is None:
            continue
        attributions = explained[0][method]
        finite = np.isfinite(attributions).all()
        checker.report(attributions.shape == shape and finite, method,
                       f"shape {attributions.shape} (expected {shape}), "
                       f"{'finite' if finite else 'NOT FINITE'}, largest |value| {np.nanmax(np.abs(attributions)):.3g}")


def per_channel(tensor, channels):
    """The values of a constant that broadcasts along the channel axis of an (N, C, H, W) value alone, one per
    channel; None for any other shape."""
    if tensor.ndim > 4:
        return None
    shape = (1,) * (4 - tensor.ndim) + tensor.shape
    if shape[0] != 1 or shape[2:] != (1, 1) or shape[1] not in (1, channels):
        return None
    return np.broadcast_to(tensor.reshape(-1), (channels,))


def merge_into_conv(model):
    """Merges the per-channel affine map after every Conv of a model into the Conv's weights and bias, with
    numpy: a Mul by a constant then an Add of a constant (constants that vary along the channels only), as
    tf2onnx leaves BatchNorm, or a BatchNormalization of constants, as jax2onnx does; each value read by the
    next node alone. With scale s and shift t per output channel, W' = W * s and b' = b * s + t. Returns the
    number of maps merged."""
    graph = model.graph
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    readers = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    graph_outputs = {value.name for value in graph.output}

    def only_reader(value, op_type):
        nodes = readers.get(value, [])
        if value in graph_outputs or len(nodes) != 1 or nodes[0].op_type != op_type:
            return None
        return nodes[0]

    def constant_operand(node, data, channels):
        other = [name for name in node.input if name != data]
        if len(node.input) != 2 or len(other) != 1 or other[0] not in constants:
            return None
        return per_channel(constants[other[0]], channels)

    def affine_after(conv, channels):
        """(scale, shift, nodes) of the affine map that alone reads conv's output, or None."""
        norm = only_reader(conv.output[0], "BatchNormalization")
        if norm is not None and len(norm.output) == 1 and all(name in constants for name in norm.input[1:]):
            gamma, beta, mean, variance = (constants[name].astype(np.float64) for name in norm.input[1:])
            epsilon = next((attribute.f for attribute in norm.attribute if attribute.name == "epsilon"), 1e-5)
            scale = gamma / np.sqrt(variance + epsilon)
            return scale, beta - mean * scale, [norm]
        mul = only_reader(conv.output[0], "Mul")
        add = mul and only_reader(mul.output[0], "Add")
        if add is None:
            return None
        scale, shift = constant_operand(mul, conv.output[0], channels), constant_operand(add, mul.output[0], channels)
        return None if scale is None or shift is None else (scale, shift, [mul, add])

    removed, merged = [], 0
    for conv in [node for node in graph.node if node.op_type == "Conv"]:
        if conv.input[1] not in constants:
            continue
        weights = constants[conv.input[1]]
        affine = affine_after(conv, weights.shape[0])
        if affine is None:
            continue
        scale, shift, nodes = affine
        bias = constants[conv.input[2]] if len(conv.input) > 2 else np.zeros(weights.shape[0], weights.dtype)
        merged_weights = (weights * scale.reshape((-1,) + (1,) * (weights.ndim - 1))).astype(weights.dtype)
        merged_bias = (bias * scale + shift).astype(weights.dtype)
        weights_name, bias_name = conv.name + "/merged_weights", conv.name + "/merged_bias"
        graph.initializer.extend([numpy_helper.from_array(merged_weights, weights_name),
                                  numpy_helper.from_array(merged_bias, bias_name)])
        del conv.input[1:]
        conv.input.extend([weights_name, bias_name])
        removed += [conv.output[0]] + [node.output[0] for node in nodes[:-1]]
        conv.output[0] = nodes[-1].output[0]
        for node in nodes:
            graph.node.remove(node)
        merged += 1
    kept = [value for value in graph.value_info if value.name not in removed]
    del graph.value_info[:]
    graph.value_info.extend(kept)
    return merged


def lrp_rules(stdout):
    """(node, op, rule) of each line of --print-rules (node names without spaces, as tf2onnx and jax2onnx
    write them)."""
    rules = []
    for line in stdout.splitlines():
        match = re.match(r"\s*\d+\s+(\S+)\s+(\S+)\s+(.+?)\s*$", line)
        if match:
            rules.append(match.groups())
    return rules


def check_lrp(checker, model, inputs_path, targets):
    """LRP's rules on the export, its conservation gap, and its relevance against that of the merged copy
    (merge_into_conv; an export with nothing to merge is its own canonical form, and is not run twice)."""
    merged = onnx.load(model)
    merged_count = merge_into_conv(merged)
    merged_path = os.path.join(checker.work_dir, "merged.onnx")
    onnx.save(merged, merged_path)
    print(f"     {checker.name}: {merged_count} affine maps (Mul and Add, or BatchNormalization) merged into "
          "the Conv before them", flush=True)
    for composite, options in LRP_COMPOSITES.items():
        options = ["--composite", composite] + options
        exported = checker.explain(f"lrp {composite}", model, inputs_path, ["lrp"], targets,
                                   options + ["--print-rules"])
        canonical = merged_count and checker.explain(f"lrp {composite} merged", merged_path, inputs_path,
                                                     ["lrp"], targets, options)
        if exported is None:
            continue
        maps, rows, stdout = exported
        rules = lrp_rules(stdout)
        affine = [f"{node} ({op})" for node, op, rule in rules
                  if op in ("Mul", "Add", "Sub", "Div") and rule == "gradient"]
        checker.report(bool(rules) and not affine, f"lrp {composite} rules",
                       f"{len(rules)} nodes, Mul/Add/Sub/Div with the gradient rule: {', '.join(affine) or 'none'}")
        deltas = np.array([row["methods"]["lrp"]["delta"] for row in rows])
        scores = np.array([row["methods"]["lrp"]["score"] for row in rows])
        checker.report(np.isfinite(deltas).all(), f"lrp {composite} delta",
                       f"conservation gaps {np.array2string(deltas, precision=4)} for scores "
                       f"{np.array2string(scores, precision=4)}")
        if canonical:
            checker.compare(f"lrp {composite} against the merged copy", maps["lrp"],
                            {"the merged copy": canonical[0]["lrp"]}, LRP_TOLERANCE)


def precisions(references, name):
    """The references stored as NAME.PRECISION (saliency.float32, saliency.float64), as {PRECISION: array}."""
    return {key.split(".", 1)[1]: value for key, value in references.items() if key.split(".", 1)[0] == name}


def check_model(checker, model, references, other_options):
    """Every check of this module on one export. references: inputs, targets, outputs, logits, and the
    gradients saliency.P, gradxinput.P, gradcam.P and, for a model ending in Softmax,
    probability_saliency.P (P = float32, float64). other_options: the small settings of OTHER_METHODS."""
    inputs_path = os.path.join(checker.work_dir, "inputs.npy")
    np.save(inputs_path, references["inputs"])
    targets = [int(t) for t in references["targets"]]
    check_run(checker, model, inputs_path, references["outputs"])
    gradient_methods = {method: precisions(references, method) for method in ("saliency", "gradxinput", "gradcam")}
    check_methods(checker, "explain", model, inputs_path, targets, gradient_methods, logits=references["logits"])
    probability = precisions(references, "probability_saliency")
    if probability:
        check_methods(checker, "probability", model, inputs_path, targets, {"saliency": probability},
                      options=["--score", "probability"])
    check_lrp(checker, model, inputs_path, targets)
    first_row_path = os.path.join(checker.work_dir, "first_row.npy")
    np.save(first_row_path, references["inputs"][:1])
    input_shape = references["inputs"][:1].shape
    map_shape = references["gradcam.float32"][:1].shape
    shapes = {method: map_shape if method in MAP_METHODS else input_shape for method in OTHER_METHODS}
    check_finite(checker, model, first_row_path, targets[:1], shapes, other_options)


def small_settings(height, width):
    """The small settings of OTHER_METHODS for inputs of height x width: 4 IG steps, 2 SmoothGrad samples,
    occlusion by a quarter of the input (windows of half its height and width, 4 of them)."""
    window = f"{height // 2},{width // 2}"
    return ["--steps", "4", "--samples", "2", "--window", window, "--stride", window]


def onnxruntime_outputs(model_path, inputs, framework_outputs):
    """ONNX Runtime's first output for inputs; raises where it is not within EXPORT_TOLERANCE of the
    framework's own outputs, so that a faulty export never becomes a reference (a faulty export is off by far
    more; the two differ by rounding, and by the ReLUs it flips: 5e-5 on Keras's ResNet50)."""
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    outputs = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    error = relative_error(outputs, framework_outputs)
    print(f"     ONNX Runtime against the framework on {os.path.basename(model_path)}: error {error:.2e}", flush=True)
    if error > EXPORT_TOLERANCE:
        raise RuntimeError(f"{model_path}: ONNX Runtime differs from the framework by {error:.2e}")
    return outputs


def cached_references(model_path, stamp, make):
    """The references an earlier run stored beside the export at model_path (NAME.onnx: NAME.references.npz,
    NAME.stamp) where its stamp is stamp (the exporting script and the library versions); otherwise make()
    exports the model to model_path and returns its references, which are stored."""
    base = model_path[:-len(".onnx")]
    references_path, stamp_path = base + ".references.npz", base + ".stamp"
    if all(os.path.exists(path) for path in (model_path, references_path, stamp_path)):
        with open(stamp_path) as file:
            if file.read() == stamp:
                print(f"reusing {model_path} and its references", flush=True)
                return dict(np.load(references_path))
    references = make()
    np.savez(references_path, **references)
    with open(stamp_path, "w") as file:
        file.write(stamp)
    return references


def stamp(script, distributions):
    """What an export depends on: the script's text and the versions of the packages named."""
    with open(script, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    return digest + "".join(f" {name}=={metadata.version(name)}" for name in distributions)


def summary(checker, export_seconds):
    """The last lines of a model's test: the time spent and the failed checks."""
    slowest = sorted(checker.seconds.items(), key=lambda item: -item[1])[:3]
    print(f"{checker.name}: export and references {export_seconds:.0f} s, illume {sum(checker.seconds.values()):.0f} s "
          f"(slowest: {', '.join(f'{check} {seconds:.0f} s' for check, seconds in slowest)})")
    if checker.failures:
        print(f"{checker.name}: {len(checker.failures)} checks failed: {', '.join(checker.failures)}")
