/* The arguments of illume explain: its help, and the request they make. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "explain.h"
#include "method_options.h"

static const char *const help_text =
    "usage: illume explain MODEL INPUT... -m METHOD[,METHOD...] [-o OUT] [options]\n"
    "       illume explain            (the bundled demo: every method on its samples)\n"
    "\n"
    "Explains what MODEL looked at for each input: the attribution of the target\n"
    "output to every input element (or, for the Grad-CAM family, to every position of\n"
    "a layer). INPUT is one .npy tensor or PNG/JPEG images (one batch row each, see\n"
    "the preprocessing options); a folder or a quoted glob ('images/*.jpg') runs as a\n"
    "dataset, one output per image in the folder -o names, skipping images whose\n"
    "outputs exist (so a stopped run resumes).\n"
    "\n";

/* The second part of the help, after the methods the library lists. */
static const char *const options_text =
    "  -m, --method LIST     methods, comma-separated (default saliency)\n"
    "  --target T            K (for every input), K1,K2,... (one per input) or top (default)\n"
    "  -o, --output PATH     .npy of the attributions (several methods: PATH-METHOD.npy);\n"
    "                        for a dataset, the output folder\n"
    "  --heatmap DIR         a PNG per input: the image and each method side by side\n"
    "  --percentile P        scale heatmaps by the P-th percentile of |value| (default max)\n"
    "  --json FILE           targets, scores, IG and LRP deltas, timings\n"
    "  --print-rules         LRP: print the rule of every node before explaining\n"
    "  --labels FILE         class names for the printed targets\n"
    "\n"
    "  --threads N           CPU threads (default: all cores)\n"
    "  --device DEVICE       cpu, cuda, cuda:N or auto (default auto, the CPU for now)\n"
    "  --fast                CUDA: allow TF32 math and non-deterministic algorithms\n"
    "  --autotune            CUDA: time cuDNN's convolution algorithms once per layer\n"
    "\n";

static int parse_methods(const char *text, explain_request *request) {
    char buffer[512];
    snprintf(buffer, sizeof buffer, "%s", text);
    request->method_count = 0;
    for (char *name = strtok(buffer, ","); name; name = strtok(NULL, ",")) {
        illume_method method;
        if (illume_method_from_name(name, &method) != ILLUME_OK || request->method_count == MAX_METHODS) return -1;
        request->methods[request->method_count++] = method;
    }
    return request->method_count > 0 ? 0 : -1;
}

static int parse_targets(const char *text, explain_request *request) {
    if (strcmp(text, "top") == 0) {
        request->target_count = 0;
        return 0;
    }
    int count = 1;
    for (const char *c = text; *c; c++) count += *c == ',';
    request->targets = realloc(request->targets, sizeof(int64_t) * (size_t)count);
    if (!request->targets) return -1;
    int64_t *values = request->targets;
    int parsed;
    if (parse_shape(text, values, count, &parsed) || parsed != count) return -1;
    request->target_count = count;
    return 0;
}

int explain_parse_arguments(int argc, char **argv, explain_request *request) {
    illume_explain_options_default(&request->options);
    input_options_default(&request->preprocessing);
    request->methods[0] = ILLUME_SALIENCY;
    request->method_count = 1;
    request->inputs = calloc((size_t)argc + 1, sizeof(char *));
    if (!request->inputs) return report(ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        int parsed = input_parse_option("explain", argc, argv, &i, &request->preprocessing);
        if (!parsed) parsed = method_option_parse("explain", argc, argv, &i, &request->options, &request->baseline_path);
        if (parsed < 0) return EXIT_USAGE;
        if (parsed) continue;
        int has_value = i + 1 < argc;
        const char *value = has_value ? argv[i + 1] : NULL;
        if (strcmp(flag, "--print-rules") == 0) {
            request->print_rules = 1;
            continue;
        }
        if (strcmp(flag, "--fast") == 0) {
            request->options.fast = 1;
            continue;
        }
        if (strcmp(flag, "--autotune") == 0) {
            request->options.autotune = 1;
            continue;
        }
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            printf("%sMethods (docs/methods.md defines each and names its peer's equivalent):\n", help_text);
            for (int m = 0; m < ILLUME_METHOD_COUNT; m++) {
                illume_method_info info;
                illume_method_describe((illume_method)m, NULL, &info);
                printf("  %-23s%s\n", info.name, info.help);
            }
            printf("\n%s%s%s", options_text, method_options_help, input_options_help);
            return -1;
        }
        int takes = strcmp(flag, "-m") == 0 || strcmp(flag, "--method") == 0 || strcmp(flag, "--target") == 0 ||
                    strcmp(flag, "-o") == 0 || strcmp(flag, "--output") == 0 || strcmp(flag, "--heatmap") == 0 ||
                    strcmp(flag, "--json") == 0 || strcmp(flag, "--labels") == 0 ||
                    strcmp(flag, "--percentile") == 0 || strcmp(flag, "--threads") == 0 ||
                    strcmp(flag, "--device") == 0;
        if (takes && !has_value) return usage_error("explain", "%s needs a value", flag);
        if (takes) i++;
        float floats[1];
        int count;
        if (strcmp(flag, "-m") == 0 || strcmp(flag, "--method") == 0) {
            if (parse_methods(value, request)) return usage_error("explain", "unknown method in '%s'", value);
        } else if (strcmp(flag, "--target") == 0) {
            if (parse_targets(value, request)) return usage_error("explain", "--target expects K, K1,K2,... or top");
        } else if (strcmp(flag, "-o") == 0 || strcmp(flag, "--output") == 0) {
            request->output = value;
        } else if (strcmp(flag, "--heatmap") == 0) {
            request->heatmap = value;
        } else if (strcmp(flag, "--json") == 0) {
            request->json = value;
        } else if (strcmp(flag, "--labels") == 0) {
            request->labels_path = value;
        } else if (strcmp(flag, "--percentile") == 0) {
            if (parse_floats(value, floats, 1, &count) || !(floats[0] > 0 && floats[0] <= 100))
                return usage_error("explain", "--percentile expects a number in (0, 100]");
            request->percentile = floats[0];
        } else if (strcmp(flag, "--threads") == 0) {
            if (parse_int(value, 1, 4096, &request->threads)) return usage_error("explain", "bad --threads");
        } else if (strcmp(flag, "--device") == 0) {
            request->options.device = value;
        } else if (flag[0] == '-' && flag[1]) {
            return usage_error("explain", "unknown option '%s'", flag);
        } else if (!request->model_path) {
            request->model_path = flag;
        } else {
            request->inputs[request->input_count++] = argv[i];
        }
    }
    if (request->model_path && request->input_count == 0)
        return usage_error("explain", "give INPUT after MODEL (or no arguments at all for the demo)");
    return 0;
}
