"""What the scripts that time illume beside a peer share
(compare_captum.py, compare_zennit.py, compare_onnxruntime.py,
layers_onnxruntime.py): the torchvision model both sides run (random
weights, fixed seed) and its ONNX export, ONNX Runtime's session, running a
child process, the rounds that alternate illume and the
peer, and the report of their rates and ratio."""
import statistics
import subprocess


def build_model(name):
    import torch
    import torchvision
    torch.manual_seed(0)
    extra = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    return getattr(torchvision.models, name)(**extra).eval()


def export(name, path, size):
    import torch
    model = build_model(name)
    example = torch.randn(1, 3, size, size)
    torch.onnx.export(model, example, path, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def onnxruntime_session(model, batch, threads, profile_prefix=None):
    """ONNX Runtime on the CPU as the comparisons run it (all graph
    optimizations, intra-op threads `threads`, sequential execution), with a
    random input of `batch` rows for a symbolic batch dimension; profiling
    into files named from profile_prefix when given. Returns the session and
    its feed."""
    import numpy as np
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    model_input = session.get_inputs()[0]
    shape = [batch if not isinstance(d, int) else d for d in model_input.shape]
    return session, {model_input.name: np.random.default_rng(1).random(shape, dtype=np.float32)}


def run(command, environment=None):
    """Runs a child (in `environment`, else this process's) and returns its
    standard output; shows its error output when it fails, and names the
    program when it cannot start (an --illume path that is not built)."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=environment)
    except OSError as error:
        raise SystemExit(f"cannot run {command[0]}: {error.strerror} (build illume first, or give --illume PATH)")
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)}\nexited with {result.returncode}:\n{result.stderr.strip()}")
    return result.stdout


def alternate(rounds, illume_rate, peer_rate):
    """Rounds of illume then the peer, each in a process of its own: illume's
    last report (illume bench --json), and per round both rates and their ratio."""
    ours, theirs, ratios = [], [], []
    report = None
    for _ in range(rounds):
        report = illume_rate()
        peer = peer_rate()
        ours.append(report["images_per_second"])
        theirs.append(peer)
        ratios.append(report["images_per_second"] / peer)
    return report, ours, theirs, ratios


def print_rates(peer_name, report, ours, theirs, ratios):
    passes = f"rows per pass {report['batch_rows']}, " if "batch_rows" in report else ""
    print(f"illume  {statistics.median(ours):9.3f} inputs/s  ({passes}"
          f"peak resident {report['peak_rss_mib']:.0f} MiB)")
    print(f"{peer_name:6s}  {statistics.median(theirs):9.3f} inputs/s")
    print(f"ratio illume/{peer_name}: median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
