/* illume bench MODEL: forward throughput and memory on random input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli.h"
#include "method_options.h"

static const char *const help =
    "usage: illume bench MODEL [--batch N] [--shape DIMS] [--iterations K] [--warmup W]\n"
    "                    [--threads T] [--device DEVICE [--fast] [--autotune]] [--no-split-batch]\n"
    "                    [--no-winograd] [--json | --profile]\n"
    "                    [-m METHOD [method options]]\n"
    "\n"
    "Times forward passes of MODEL on random input and prints images/s, the\n"
    "median and minimum time per batch, the planned activation arena and the\n"
    "process's peak resident memory (on CUDA also the device memory peak). A\n"
    "benchmark, not a test: compare runs made on the same machine (bench/ has\n"
    "scripts that time ONNX Runtime beside it).\n"
    "\n"
    "  --batch N        batch size (default 1, or the batch a model fixes; a model that\n"
    "                   fixes one is rebound to N where it can be: see illume info)\n"
    "  --shape DIMS     the full input shape, e.g. 16,3,224,224\n"
    "  --iterations K   timed runs (default 20)\n"
    "  --warmup W       untimed runs first (default 3)\n"
    "  --threads T      CPU threads (default: all cores)\n"
    "  --device DEVICE  cpu, cuda, cuda:N or auto (default auto, the CPU for now)\n"
    "  --fast           CUDA: allow TF32 math and non-deterministic algorithms\n"
    "  --autotune       CUDA: time cuDNN's convolution algorithms once per layer\n"
    "  --no-split-batch run every node on the whole batch; by default the CPU runs a\n"
    "                   model's first nodes, where activations outweigh weights, image by image\n"
    "  --no-winograd    run every convolution by the direct sum; by default the CPU runs 3x3\n"
    "                   ones with enough channels by Winograd's algorithm (rounding differs ~1e-6)\n"
    "  --json           one JSON object instead of text\n"
    "  --profile        also print the time spent in each op type and in transfers\n"
    "                   (on CUDA: the split between cuDNN/cuBLAS, illume's kernels and transfers)\n"
    "  -m METHOD        time an explanation method instead (illume explain's methods and\n"
    "                   options below); --batch inputs per call, --target K (default 0)\n"
    "\n";

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One line of --profile: an op's time per run (or per call of a method). */
static void print_profile_entry(const illume_profile_entry *entry, long long runs, const char *run) {
    printf("  %-22s %-9s %9.3f ms per %s  (%lld calls)\n", entry->op_type, entry->backward ? "backward" : "",
           entry->seconds * 1e3 / (double)runs, run, (long long)entry->calls);
}

/* The profile of a session or of an explainer, entry by entry. */
typedef int (*profile_reader)(const void *source, int index, illume_profile_entry *entry);

static int session_entry(const void *session, int index, illume_profile_entry *entry) {
    return illume_session_profile(session, index, entry);
}

static int explainer_entry(const void *explainer, int index, illume_profile_entry *entry) {
    return illume_explainer_profile(explainer, index, entry);
}

static int on_cuda(const char *device) { return strncmp(device, "cuda", 4) == 0; }

/* --profile: each op's time, and on CUDA where the time went: cuDNN and
 * cuBLAS (the convolutions and matrix products, a fused activation's kernel
 * included), illume's own kernels (every other op), and the transfers. */
static void print_profile(profile_reader read, const void *source, long long runs, const char *run,
                          const char *device) {
    static const char *const library_ops[] = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
    double library = 0.0, kernels = 0.0, transfers = 0.0;
    illume_profile_entry entry;
    for (int k = 0; k < read(source, k, &entry); k++) {
        print_profile_entry(&entry, runs, run);
        int in_library = 0;
        for (size_t op = 0; op < sizeof library_ops / sizeof library_ops[0]; op++)
            in_library |= strcmp(entry.op_type, library_ops[op]) == 0;
        if (strcmp(entry.op_type, ILLUME_PROFILE_TRANSFERS) == 0) transfers += entry.seconds;
        else if (in_library) library += entry.seconds;
        else kernels += entry.seconds;
    }
    double total = library + kernels + transfers;
    if (!on_cuda(device) || total <= 0.0) return;
    printf("time split: cuDNN and cuBLAS %.1f%%, illume's kernels %.1f%%, transfers %.1f%% (of %.3f ms per %s)\n",
           100.0 * library / total, 100.0 * kernels / total, 100.0 * transfers / total, total * 1e3 / (double)runs,
           run);
}

/* The device memory line, on CUDA. */
static void print_device_memory(const char *device) {
    if (on_cuda(device)) printf("device memory peak: %.1f MiB\n", (double)illume_cuda_peak_bytes() / 1048576.0);
}

/* Times illume_explain on one batch of inputs, after warm-up calls. */
static int bench_explain(illume_context *context, const illume_model *model, const illume_explain_options *options,
                         const illume_tensor *inputs, long long target, long long iterations, long long warmup,
                         int json, const char *path) {
    illume_tensor row = *inputs;
    row.dims[0] = 1;
    row.data = NULL;
    int64_t count = inputs->dims[0];
    illume_explainer *explainer = NULL;
    illume_tensor attributions = {0};
    int64_t *targets = malloc(sizeof(int64_t) * (size_t)count);
    double *times = calloc((size_t)iterations, sizeof(double));
    illume_explain_report summary = {0};
    int code = 0;
    illume_status status = illume_explainer_create(context, model, options, &row, &explainer);
    if (status == ILLUME_OK) {
        illume_explainer_shape(explainer, count, &attributions);
        attributions.data = malloc(illume_tensor_bytes(&attributions) + 1);
    }
    if (status == ILLUME_OK && (!targets || !times || !attributions.data)) status = ILLUME_ERROR_OUT_OF_MEMORY;
    for (int64_t r = 0; targets && r < count; r++) targets[r] = target;
    for (long long k = 0; status == ILLUME_OK && k < warmup + iterations; k++) {
        double start = now_seconds();
        status = illume_explain(explainer, inputs, targets, &attributions, NULL, &summary);
        if (k >= warmup) times[k - warmup] = now_seconds() - start;
    }
    if (status != ILLUME_OK) {
        code = report(status, "%s", illume_last_error(context));
    } else {
        qsort(times, (size_t)iterations, sizeof(double), compare_doubles);
        double median = times[iterations / 2];
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        double peak_mib = (double)usage.ru_maxrss / 1024.0;
        if (json)
            printf("{\"model\": \"%s\", \"method\": \"%s\", \"batch\": %lld, \"median_ms\": %.3f, "
                   "\"min_ms\": %.3f, \"images_per_second\": %.3f, \"batch_rows\": %lld, \"passes\": %lld, "
                   "\"arena_bytes\": %zu, \"peak_rss_mib\": %.1f, \"device_peak_mib\": %.1f}\n",
                   path, illume_method_name(options->method), (long long)count, median * 1e3, times[0] * 1e3,
                   (double)count / median, (long long)summary.batch_rows, (long long)summary.passes,
                   summary.peak_bytes, peak_mib, (double)illume_cuda_peak_bytes() / 1048576.0);
        else
            printf("model: %s  method %s  %lld inputs per call, %lld calls after %lld warm-up\n"
                   "time per call: median %.3f ms, min %.3f ms\nthroughput: %.2f inputs/s\n"
                   "rows per pass: %lld, passes per call: %lld; arena %.1f MiB; peak resident memory %.1f MiB\n",
                   path, illume_method_name(options->method), (long long)count, iterations, warmup, median * 1e3,
                   times[0] * 1e3, (double)count / median, (long long)summary.batch_rows, (long long)summary.passes,
                   summary.peak_bytes / 1048576.0, peak_mib);
    }
    if (code == 0 && !json) print_device_memory(options->device);
    if (code == 0 && options->profile)
        print_profile(explainer_entry, explainer, warmup + iterations, "call", options->device);
    illume_explainer_free(explainer);
    free(attributions.data);
    free(targets);
    free(times);
    return code;
}

int command_bench(int argc, char **argv) {
    const char *path = NULL, *device = "auto";
    long long batch = 0, iterations = 20, warmup = 3, threads = 0;
    int64_t shape[ILLUME_MAX_RANK];
    int shape_rank = -1, json = 0, profile = 0, explaining = 0, fast = 0, autotune = 0, split_batch = 1,
        winograd = 1;
    long long target = 0;
    illume_explain_options method_options;
    illume_explain_options_default(&method_options);
    const char *baseline_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        int has_value = i + 1 < argc;
        int parsed = method_option_parse("bench", argc, argv, &i, &method_options, &baseline_path);
        if (parsed < 0) return EXIT_USAGE;
        if (parsed) continue;
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            printf("%s%s", help, method_options_help);
            return 0;
        } else if (strcmp(flag, "-m") == 0 || strcmp(flag, "--method") == 0) {
            if (!has_value || illume_method_from_name(argv[++i], &method_options.method) != ILLUME_OK)
                return usage_error("bench", "-m needs a method name (see illume explain --help)");
            explaining = 1;
        } else if (strcmp(flag, "--target") == 0) {
            if (!has_value || parse_int(argv[++i], 0, INT64_MAX, &target)) return usage_error("bench", "bad --target");
        } else if (strcmp(flag, "--batch") == 0) {
            if (!has_value || parse_int(argv[++i], 1, 1 << 20, &batch)) return usage_error("bench", "bad --batch");
        } else if (strcmp(flag, "--shape") == 0) {
            if (!has_value || parse_shape(argv[++i], shape, ILLUME_MAX_RANK, &shape_rank))
                return usage_error("bench", "bad --shape");
        } else if (strcmp(flag, "--iterations") == 0) {
            if (!has_value || parse_int(argv[++i], 1, 1000000, &iterations))
                return usage_error("bench", "bad --iterations");
        } else if (strcmp(flag, "--warmup") == 0) {
            if (!has_value || parse_int(argv[++i], 0, 1000000, &warmup)) return usage_error("bench", "bad --warmup");
        } else if (strcmp(flag, "--threads") == 0) {
            if (!has_value || parse_int(argv[++i], 1, 4096, &threads)) return usage_error("bench", "bad --threads");
        } else if (strcmp(flag, "--device") == 0) {
            if (!has_value) return usage_error("bench", "--device needs a value");
            device = argv[++i];
        } else if (strcmp(flag, "--fast") == 0) {
            fast = 1;
        } else if (strcmp(flag, "--autotune") == 0) {
            autotune = 1;
        } else if (strcmp(flag, "--no-split-batch") == 0) {
            split_batch = 0;
        } else if (strcmp(flag, "--no-winograd") == 0) {
            winograd = 0;
        } else if (strcmp(flag, "--json") == 0) {
            json = 1;
        } else if (strcmp(flag, "--profile") == 0) {
            profile = 1;
        } else if (flag[0] == '-' && flag[1]) {
            return usage_error("bench", "unknown option '%s'", flag);
        } else if (!path) {
            path = flag;
        } else {
            return usage_error("bench", "unexpected argument '%s'", flag);
        }
    }
    if (!path) return usage_error("bench", "no MODEL given");
    if (json && profile) return usage_error("bench", "--json and --profile do not go together");

    int code = 0;
    illume_context *context = illume_context_create();
    illume_set_threads(context, (int)threads);
    illume_model *model = NULL;
    illume_session *session = NULL;
    illume_tensor input = {0};
    illume_tensor *outputs = NULL;
    double *times = calloc((size_t)iterations, sizeof(double));
    int output_count = 0;
    illume_status status = illume_model_load(context, path, &model);
    if (status != ILLUME_OK || !times) {
        code = report(status, "%s", illume_last_error(context));
        goto done;
    }
    if (illume_model_input_count(model) != 1) {
        code = report(ILLUME_ERROR_UNSUPPORTED, "illume bench times models with one input");
        goto done;
    }
    illume_value_info info;
    illume_model_input(model, 0, &info);
    input.dtype = ILLUME_FLOAT32;
    input.rank = shape_rank >= 0 ? shape_rank : info.rank;
    for (int d = 0; d < input.rank; d++) {
        input.dims[d] = shape_rank >= 0 ? shape[d] : info.dims[d];
        if (d == 0 && batch) input.dims[d] = batch;
        if (input.dims[d] < 0 && d == 0) input.dims[d] = 1;
        if (input.dims[d] < 0) {
            code = usage_error("bench", "the input's dimension %d is symbolic: give --shape", d);
            goto done;
        }
    }
    size_t bytes = illume_tensor_bytes(&input);
    input.data = malloc(bytes + 1);
    if (!input.data) {
        code = report(ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    srand(1);
    for (size_t i = 0; i < bytes / sizeof(float); i++) ((float *)input.data)[i] = (float)rand() / (float)RAND_MAX;
    if (explaining) {
        if (baseline_path) {
            code = usage_error("bench", "illume bench takes no baseline file");
            goto done;
        }
        method_options.device = device;
        method_options.fast = fast;
        method_options.autotune = autotune;
        method_options.profile = profile;
        code = bench_explain(context, model, &method_options, &input, target, iterations, warmup, json, path);
        goto done;
    }
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = device;
    options.fast = fast;
    options.autotune = autotune;
    options.profile = profile;
    options.split_batch = split_batch;
    options.winograd = winograd;
    double setup_start = now_seconds();
    status = illume_session_create(context, model, &options, 1, &input, &session);
    if (status != ILLUME_OK) {
        code = report(status, "%s", illume_last_error(context));
        goto done;
    }
    double setup = now_seconds() - setup_start;
    output_count = illume_session_output_count(session);
    outputs = calloc((size_t)output_count, sizeof *outputs);
    for (int o = 0; outputs && o < output_count; o++) {
        illume_value_info output;
        illume_session_output(session, o, &output);
        outputs[o].dtype = output.dtype;
        outputs[o].rank = output.rank;
        memcpy(outputs[o].dims, output.dims, sizeof output.dims);
        outputs[o].data = malloc(illume_tensor_bytes(&outputs[o]) + 1);
    }
    for (long long k = 0; k < warmup + iterations; k++) {
        double start = now_seconds();
        status = illume_session_run(session, 1, &input, output_count, outputs);
        if (status != ILLUME_OK) {
            code = report(status, "%s", illume_last_error(context));
            goto done;
        }
        if (k >= warmup) times[k - warmup] = now_seconds() - start;
    }
    qsort(times, (size_t)iterations, sizeof(double), compare_doubles);
    double median = times[iterations / 2], fastest = times[0];
    int64_t images = input.dims[0];
    illume_session_stats stats;
    illume_session_get_stats(session, &stats);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double peak_mib = (double)usage.ru_maxrss / 1024.0;
    if (json) {
        printf("{\"model\": \"%s\", \"batch\": %lld, \"iterations\": %lld, \"median_ms\": %.3f, \"min_ms\": %.3f, "
               "\"images_per_second\": %.3f, \"arena_bytes\": %zu, \"activation_bytes\": %zu, "
               "\"constant_bytes\": %zu, \"peak_rss_mib\": %.1f, \"device_peak_mib\": %.1f, \"setup_ms\": %.1f, "
               "\"image_by_image_nodes\": %d, \"winograd_convolutions\": %d}\n",
               path, (long long)images, iterations, median * 1e3, fastest * 1e3, (double)images / median,
               stats.arena_bytes, stats.activation_bytes, stats.constant_bytes, peak_mib,
               (double)illume_cuda_peak_bytes() / 1048576.0, setup * 1e3, stats.image_node_count,
               stats.winograd_count);
    } else {
        printf("model: %s  batch %lld  %lld runs after %lld warm-up\n", path, (long long)images, iterations, warmup);
        printf("time per batch: median %.3f ms, min %.3f ms\n", median * 1e3, fastest * 1e3);
        printf("throughput: %.2f images/s\n", (double)images / median);
        printf("activation arena: %.1f MiB (%.1f MiB if nothing were reused)\n", stats.arena_bytes / 1048576.0,
               stats.activation_bytes / 1048576.0);
        printf("weights: %.1f MiB; peak resident memory: %.1f MiB; setup %.1f ms\n",
               stats.constant_bytes / 1048576.0, peak_mib, setup * 1e3);
        if (stats.image_node_count)
            printf("image by image: the first %d of %d nodes\n", stats.image_node_count, stats.node_count);
        if (stats.winograd_count) printf("convolutions by Winograd's algorithm: %d\n", stats.winograd_count);
    }
    if (!json) print_device_memory(device);
    if (profile) print_profile(session_entry, session, warmup + iterations, "run", device);
done:
    for (int o = 0; outputs && o < output_count; o++) free(outputs[o].data);
    free(outputs);
    free(times);
    free(input.data);
    illume_session_free(session);
    illume_model_free(model);
    illume_context_destroy(context);
    return code;
}
