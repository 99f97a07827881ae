/* illume: explain what a neural network looked at. The command-line front
 * over the public C API. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* How long an OpenMP thread spins for work before it sleeps. Sleeping at once
 * (OMP_WAIT_POLICY=passive) costs a wake-up at every parallel region: on the
 * CI machine MobileNetV2 at batch 1 took 4.7 ms a pass that way and 1.7 ms
 * spinning. Spinning long (libgomp's default, 300,000 turns) slowed two
 * illume processes sharing the cores 1.8 to 13 times over (ResNet-50 at batch
 * 1: 36.6 ms passive, 65 to 468 ms). 1,000 turns keeps the first gain and
 * costs 10 to 65% in the second (docs/performance.md, "How threads wait").
 * libgomp reads the count only when it loads, before main: so the command
 * restarts itself once with it, unless the user chose how threads wait. */
static void prefer_short_spinning(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0) return;
    execv("/proc/self/exe", argv);
}

static const char *const help =
    "usage: illume [--version] [--help] COMMAND [ARGS]\n"
    "\n"
    "illume imports a model exported to ONNX, runs it on the CPU, and explains\n"
    "what it looked at.\n"
    "\n"
    "Commands:\n"
    "  info MODEL     inputs, outputs, op histogram, parameters, FLOPs and\n"
    "                 whether every op is supported\n"
    "  run MODEL INPUT...   run a model on a .npy tensor or on images\n"
    "  explain MODEL INPUT... -m METHOD   what the model looked at: saliency,\n"
    "                 integrated gradients, SmoothGrad, Grad-CAM, occlusion, ...\n"
    "                 (no arguments: the bundled demo)\n"
    "  bench MODEL    time forward passes: images/s and peak memory\n"
    "\n"
    "Run 'illume COMMAND --help' for the options of a command.\n"
    "\n"
    "Exit codes:\n"
    "  0 success          4 invalid model         7 out of memory\n"
    "  1 internal error   5 unsupported model     8 backend failure\n"
    "  2 usage error      6 invalid input data\n"
    "  3 file cannot be read or written\n";

int main(int argc, char **argv) {
    prefer_short_spinning(argv);
    if (argc < 2) {
        fputs(help, stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 || strcmp(command, "help") == 0) {
        fputs(help, stdout);
        return 0;
    }
    if (strcmp(command, "--version") == 0) {
        printf("illume %s\n", illume_version());
        return 0;
    }
    if (strcmp(command, "info") == 0) return command_info(argc - 1, argv + 1);
    if (strcmp(command, "run") == 0) return command_run(argc - 1, argv + 1);
    if (strcmp(command, "bench") == 0) return command_bench(argc - 1, argv + 1);
    if (strcmp(command, "explain") == 0) return command_explain(argc - 1, argv + 1);
    fprintf(stderr, "illume: unknown command '%s'\n\n%s", command, help);
    return EXIT_USAGE;
}
