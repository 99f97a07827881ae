/* illume info MODEL: what a model holds and whether illume runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const help =
    "usage: illume info MODEL [--shape DIMS] [--batch N] [--values]\n"
    "       illume info --backends\n"
    "\n"
    "Prints the model's inputs and outputs, its op histogram, parameter count,\n"
    "FLOPs for one run, and whether illume supports every op (and if not, which\n"
    "and where). Exits with 5 when something is unsupported.\n"
    "\n"
    "  --shape DIMS   shape of the (first) input for the FLOP count, e.g. 1,3,224,224\n"
    "  --batch N      batch size for a symbolic first dimension (default 1)\n"
    "  --values       every node's outputs with their shapes: the names that explain's\n"
    "                 --layer and --feature take\n"
    "  --backends     which backends this build has and which devices they see\n";

/* The backends compiled in and the devices visible. */
static int print_backends(void) {
    printf("cpu: compiled (oneDNN), used by --device cpu and auto\n");
    if (!illume_has_cuda()) {
        printf("cuda: not compiled (configure with the CUDA toolkit and cuDNN, -DILLUME_CUDA=ON)\n");
        return 0;
    }
    int devices = illume_cuda_devices();
    printf("cuda: compiled; %d device%s visible%s\n", devices, devices == 1 ? "" : "s",
           devices ? " (--device cuda or cuda:N; every op, not verified on a GPU yet)" : "");
    return 0;
}

typedef struct histogram_entry {
    const char *op;
    int count;
    int unsupported;
} histogram_entry;

static void print_value(const illume_value_info *info) {
    printf("  %s: %s [", info->name, info->dtype == ILLUME_INT64 ? "int64" : "float32");
    if (info->rank < 0) printf("?");
    for (int d = 0; d < info->rank; d++) {
        if (d) printf(", ");
        if (info->dims[d] >= 0) printf("%lld", (long long)info->dims[d]);
        else printf("%s", info->dim_names[d] ? info->dim_names[d] : "?");
    }
    printf("]\n");
}

/* Each node's op and its outputs' names and inferred shapes. */
static illume_status print_values(illume_context *context, const illume_model *model, int input_count,
                                  const illume_tensor *shapes) {
    int count = illume_model_value_count(model);
    illume_value_info *values = calloc((size_t)count + 1, sizeof *values);
    if (!values) return ILLUME_ERROR_OUT_OF_MEMORY;
    illume_status status = illume_model_values(context, model, input_count, shapes, values);
    if (status != ILLUME_OK) {
        free(values);
        return status;
    }
    printf("values:\n");
    int k = 0;
    for (int n = 0; n < illume_model_node_count(model); n++) {
        illume_node_info node;
        illume_model_node(model, n, &node);
        for (int o = 0; o < node.output_count; o++, k++) {
            if (!values[k].name) continue;
            printf("  %-20s", node.op_type);
            print_value(&values[k]);
        }
    }
    free(values);
    return ILLUME_OK;
}

static void print_histogram(const illume_model *model) {
    int nodes = illume_model_node_count(model);
    histogram_entry *entries = calloc((size_t)nodes + 1, sizeof *entries);
    int kinds = 0;
    if (!entries) return;
    for (int n = 0; n < nodes; n++) {
        illume_node_info node;
        illume_model_node(model, n, &node);
        int k = 0;
        while (k < kinds && strcmp(entries[k].op, node.op_type) != 0) k++;
        if (k == kinds) entries[kinds++].op = node.op_type;
        entries[k].count++;
        if (!node.supported) entries[k].unsupported++;
    }
    printf("ops (%d nodes):\n", nodes);
    for (int k = 0; k < kinds; k++)
        printf("  %-24s %5d%s\n", entries[k].op, entries[k].count, entries[k].unsupported ? "  unsupported" : "");
    free(entries);
}

static void format_count(char *buffer, size_t size, double value, const char *unit) {
    const char *prefixes[] = {"", "K", "M", "G", "T", "P"};
    int p = 0;
    while (value >= 1000.0 && p < 5) {
        value /= 1000.0;
        p++;
    }
    snprintf(buffer, size, "%.3g %s%s", value, prefixes[p], unit);
}

/* Whether a model that fixes its batch size runs others (illume rebinds it) or runs that many rows at a time. */
static void print_batch(illume_context *context, const illume_model *model, const illume_tensor *shapes) {
    illume_batch_info info;
    if (illume_model_batch(context, model, shapes, &info) != ILLUME_OK) {
        printf("batch: unknown (%s)\n", illume_last_error(context));
    } else if (!info.fixed) {
        printf("batch: any (the inputs' batch dimension is symbolic)\n");
    } else if (info.rebinds) {
        printf("batch: fixed at %lld in the file; illume rebinds it to any batch\n", (long long)info.fixed);
    } else {
        printf("batch: fixed at %lld in the file; runs %lld rows at a time, the last batch padded (%s)\n",
               (long long)info.fixed, (long long)info.fixed, info.reason);
    }
}

int command_info(int argc, char **argv) {
    const char *path = NULL;
    int64_t shape[ILLUME_MAX_RANK];
    int shape_rank = -1;
    long long batch = 1;
    int list_values = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            return 0;
        } else if (strcmp(argv[i], "--shape") == 0) {
            if (i + 1 >= argc || parse_shape(argv[++i], shape, ILLUME_MAX_RANK, &shape_rank))
                return usage_error("info", "--shape expects dimensions like 1,3,224,224");
        } else if (strcmp(argv[i], "--batch") == 0) {
            if (i + 1 >= argc || parse_int(argv[++i], 1, 1 << 20, &batch))
                return usage_error("info", "--batch expects a positive integer");
        } else if (strcmp(argv[i], "--values") == 0) {
            list_values = 1;
        } else if (strcmp(argv[i], "--backends") == 0) {
            return print_backends();
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("info", "unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return usage_error("info", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!path) return usage_error("info", "no MODEL given");
    illume_context *context = illume_context_create();
    illume_model *model;
    illume_status status = illume_model_inspect(context, path, &model);
    if (status != ILLUME_OK) {
        int code = report(status, "%s", illume_last_error(context));
        illume_context_destroy(context);
        return code;
    }
    printf("model: %s\n", path);
    printf("producer: %s, opset %d\n", illume_model_producer(model), illume_model_opset(model));
    int input_count = illume_model_input_count(model);
    illume_tensor *shapes = calloc((size_t)input_count + 1, sizeof *shapes);
    int shapes_known = shapes != NULL;
    printf("inputs:\n");
    for (int i = 0; i < input_count; i++) {
        illume_value_info info;
        illume_model_input(model, i, &info);
        print_value(&info);
        if (!shapes) continue;
        shapes[i].dtype = info.dtype;
        shapes[i].rank = info.rank;
        for (int d = 0; d < info.rank; d++) {
            shapes[i].dims[d] = info.dims[d];
            if (info.dims[d] < 0 && d == 0) shapes[i].dims[d] = batch;
            else if (info.dims[d] < 0) shapes_known = 0;
        }
        if (info.rank < 0) shapes_known = 0;
        if (i == 0 && shape_rank >= 0) {
            shapes[i].rank = shape_rank;
            memcpy(shapes[i].dims, shape, sizeof(int64_t) * (size_t)shape_rank);
            shapes_known = 1;
        }
    }
    printf("outputs:\n");
    for (int o = 0; o < illume_model_output_count(model); o++) {
        illume_value_info info;
        illume_model_output(model, o, &info);
        print_value(&info);
    }
    print_histogram(model);
    char text[64];
    format_count(text, sizeof text, (double)illume_model_parameter_count(model), "");
    printf("parameters: %lld (%s)\n", (long long)illume_model_parameter_count(model), text);
    int problems = illume_model_problem_count(model);
    int code = 0;
    if (problems == 0 && shapes_known) {
        int64_t flops;
        status = illume_model_flops(context, model, input_count, shapes, &flops);
        if (status == ILLUME_OK) {
            format_count(text, sizeof text, (double)flops, "FLOP");
            printf("flops: %lld (%s per run; a multiply-add counts 2)\n", (long long)flops, text);
        } else {
            printf("flops: unknown (%s)\n", illume_last_error(context));
            fflush(stdout);
            code = report(status, "%s: cannot count FLOPs: %s", path, illume_last_error(context));
        }
    } else if (problems == 0) {
        printf("flops: unknown (give --shape for the input's dimensions)\n");
    }
    if (problems == 0 && shapes_known && code == 0) print_batch(context, model, shapes);
    if (list_values && problems == 0 && shapes_known && code == 0) {
        status = print_values(context, model, input_count, shapes);
        if (status != ILLUME_OK) {
            fflush(stdout);
            code = report(status, "%s: cannot infer the values' shapes: %s", path, illume_last_error(context));
        }
    } else if (list_values && problems == 0 && code == 0) {
        printf("values: unknown (give --shape for the input's dimensions)\n");
    }
    if (problems == 0) {
        printf("supported: yes\n");
    } else {
        printf("supported: no\n");
        for (int p = 0; p < problems; p++) printf("  %s\n", illume_model_problem(model, p));
        fflush(stdout);
        code = report(ILLUME_ERROR_UNSUPPORTED, "%s: not supported: %s%s", path, illume_model_problem(model, 0),
                      problems > 1 ? " (and more, listed above)" : "");
    }
    free(shapes);
    illume_model_free(model);
    illume_context_destroy(context);
    return code;
}
