/* illume explain MODEL INPUT... -m METHOD: attribution maps for every input,
 * as .npy, PNG heatmaps and JSON; a folder or glob of images as a dataset
 * (one output per image, resumable); with no arguments, the bundled demo. */
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "heatmap.h"
#include "input.h"
#include "method_options.h"
#include "npy.h"

#ifndef ILLUME_DEMO_DIR
#define ILLUME_DEMO_DIR "demo"
#endif

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

#define MAX_METHODS ILLUME_METHOD_COUNT

typedef struct explain_request {
    const char *model_path;
    char **inputs;
    int input_count;
    illume_method methods[MAX_METHODS];
    int method_count;
    illume_explain_options options;
    const char *baseline_path;
    int64_t *targets; /* NULL for top */
    int target_count;
    const char *output, *heatmap, *json, *labels_path;
    float percentile;
    long long threads;
    input_options preprocessing;
    int demo;
    int print_rules;
} explain_request;

/* Results of one batch of inputs, per method. */
typedef struct explain_results {
    illume_tensor attributions[MAX_METHODS];
    illume_explain_row *rows[MAX_METHODS];
    illume_explain_report reports[MAX_METHODS];
} explain_results;

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

static int parse_arguments(int argc, char **argv, explain_request *request) {
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

static int is_directory(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

static int has_glob(const char *text) { return strpbrk(text, "*?[") != NULL; }

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The images of a dataset: a folder's PNG and JPEG files, or a glob's matches, sorted. */
static int list_dataset(const char *pattern, char ***files, int *count) {
    char buffer[4096];
    if (is_directory(pattern)) snprintf(buffer, sizeof buffer, "%s/*", pattern);
    else snprintf(buffer, sizeof buffer, "%s", pattern);
    glob_t found;
    if (glob(buffer, 0, NULL, &found) != 0) {
        *count = 0;
        *files = NULL;
        return 0;
    }
    *files = calloc(found.gl_pathc + 1, sizeof(char *));
    *count = 0;
    for (size_t k = 0; *files && k < found.gl_pathc; k++)
        if (!is_directory(found.gl_pathv[k]) && image_is_image(found.gl_pathv[k]))
            (*files)[(*count)++] = strdup(found.gl_pathv[k]);
    globfree(&found);
    if (!*files) return -1;
    qsort(*files, (size_t)*count, sizeof(char *), compare_strings);
    return 0;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The file name of an image without its folder and extension. */
static void stem(const char *path, char *out, size_t size) {
    snprintf(out, size, "%s", base_name(path));
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

static void method_path(const char *output, const char *method, int several, char *path, size_t size) {
    if (!several) {
        snprintf(path, size, "%s", output);
        return;
    }
    size_t length = strlen(output);
    if (length > 4 && strcmp(output + length - 4, ".npy") == 0)
        snprintf(path, size, "%.*s-%s.npy", (int)(length - 4), output, method);
    else
        snprintf(path, size, "%s-%s.npy", output, method);
}

static int is_positive(const explain_request *request, illume_method method) {
    illume_method_info info;
    return illume_method_describe(method, &request->options, &info) == ILLUME_OK && info.nonnegative;
}

typedef struct labels {
    char **names;
    int count;
} labels;

static void load_labels(const char *path, labels *result) {
    FILE *file = path ? fopen(path, "r") : NULL;
    char line[4096];
    while (file && fgets(line, sizeof line, file)) {
        line[strcspn(line, "\r\n")] = '\0';
        char **grown = realloc(result->names, sizeof(char *) * (size_t)(result->count + 1));
        if (!grown) break;
        result->names = grown;
        result->names[result->count++] = strdup(line);
    }
    if (file) fclose(file);
}

static void free_labels(labels *l) {
    for (int i = 0; i < l->count; i++) free(l->names[i]);
    free(l->names);
}

/* Everything that stays the same from batch to batch: the model and one explainer per method. */
typedef struct explain_run {
    explain_request *request;
    illume_context *context;
    illume_model *model;
    illume_value_info input_info;
    illume_explainer *explainers[MAX_METHODS];
    illume_tensor baseline;
    labels names;
    int64_t done, skipped;
    double seconds;
    FILE *json;
    int json_first;
    char message[2048]; /* what went wrong, when something did */
} explain_run;

static illume_status fail(explain_run *run, illume_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static illume_status fail(explain_run *run, illume_status status, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(run->message, sizeof run->message, format, arguments);
    va_end(arguments);
    return status;
}

/* A failure of the library, its message prefixed by what was being done. */
static illume_status library_failure(explain_run *run, illume_status status, const char *what) {
    return fail(run, status, "%s: %s", what, illume_last_error(run->context));
}

#define TRY(expression)                                                                                              \
    do {                                                                                                             \
        illume_status try_status_ = (expression);                                                                    \
        if (try_status_ != ILLUME_OK) return try_status_;                                                            \
    } while (0)

/* LRP: the rule of every node with --print-rules, and a warning for rules
 * that do not conserve relevance. */
static void report_rules(const illume_explainer *explainer, int print) {
    int count = illume_explainer_rule(explainer, -1, NULL);
    if (print && count > 0) printf("%5s  %-32s %-20s %s\n", "index", "node", "op", "rule");
    for (int k = 0; k < count; k++) {
        illume_rule_entry entry;
        illume_explainer_rule(explainer, k, &entry);
        if (print) printf("%5d  %-32s %-20s %s\n", entry.index, entry.node, entry.op_type, entry.rule);
        if (!entry.conserves)
            fprintf(stderr, "illume explain: warning: node %d (%s) has %s, which does not conserve relevance "
                    "(alpha - beta is not 1)\n", entry.index, entry.node, entry.rule);
    }
}

static illume_status make_explainers(explain_run *run, const illume_tensor *inputs) {
    illume_tensor row = *inputs;
    row.dims[0] = 1;
    row.data = NULL;
    explain_request *request = run->request;
    for (int m = 0; m < request->method_count; m++) {
        if (run->explainers[m]) continue;
        illume_explain_options options = request->options;
        options.method = request->methods[m];
        options.baseline_tensor = run->baseline.data ? &run->baseline : NULL;
        illume_status status = illume_explainer_create(run->context, run->model, &options, &row, &run->explainers[m]);
        if (status != ILLUME_OK) return library_failure(run, status, illume_method_name(request->methods[m]));
        report_rules(run->explainers[m], request->print_rules);
    }
    return ILLUME_OK;
}

static void free_results(explain_results *results, int count) {
    for (int m = 0; m < count; m++) {
        free(results->attributions[m].data);
        free(results->rows[m]);
    }
}

/* Runs every method on a batch of inputs. */
static illume_status explain_batch(explain_run *run, const illume_tensor *inputs, const int64_t *targets,
                                   explain_results *results) {
    explain_request *request = run->request;
    memset(results, 0, sizeof *results);
    TRY(make_explainers(run, inputs));
    int64_t count = inputs->dims[0];
    for (int m = 0; m < request->method_count; m++) {
        illume_tensor *attribution = &results->attributions[m];
        illume_explainer_shape(run->explainers[m], count, attribution);
        attribution->data = malloc(illume_tensor_bytes(attribution) + 1);
        results->rows[m] = calloc((size_t)count, sizeof(illume_explain_row));
        if (!attribution->data || !results->rows[m])
            return fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for the attributions");
        illume_status status = illume_explain(run->explainers[m], inputs, targets, attribution, results->rows[m],
                                              &results->reports[m]);
        if (status != ILLUME_OK) return library_failure(run, status, illume_method_name(request->methods[m]));
    }
    return ILLUME_OK;
}

/* One PNG per input row: the input, then each method's map. */
static illume_status write_heatmaps(explain_run *run, const illume_tensor *inputs, explain_results *results,
                                    char **names, int64_t first) {
    explain_request *request = run->request;
    const illume_tensor *x = inputs;
    int layout_last = request->preprocessing.channels_last;
    int64_t channels = x->rank == 4 ? x->dims[layout_last ? 3 : 1] : 1;
    int64_t height = x->rank >= 3 ? x->dims[x->rank - 2 - layout_last] : 1;
    int64_t width = x->rank >= 2 ? x->dims[x->rank - 1 - layout_last] : (x->rank == 1 ? x->dims[0] : 1);
    int64_t row_size = (int64_t)(illume_tensor_bytes(x) / sizeof(float)) / x->dims[0];
    /* A picture of no pixels has no scale to draw it at (a model that takes images of any size takes empty ones). */
    int empty = height < 1 || width < 1;
    for (int m = 0; m < request->method_count; m++) {
        const illume_tensor *a = &results->attributions[m];
        empty |= (a->rank >= 3 && a->dims[a->rank - 2] < 1) || (a->rank >= 2 && a->dims[a->rank - 1] < 1);
    }
    if (empty)
        return fail(run, ILLUME_ERROR_INVALID_INPUT,
                    "no heatmap of an input or a map without pixels (input %lld x %lld)", (long long)height,
                    (long long)width);
    unsigned char *image = malloc((size_t)(height * width * 3));
    if (!image) return fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = ILLUME_OK;
    for (int64_t r = 0; r < x->dims[0] && status == ILLUME_OK; r++) {
        heatmap_image((const float *)x->data + r * row_size, layout_last ? 0 : channels, height, width,
                      request->preprocessing.mean, request->preprocessing.std, image);
        heatmap_map maps[MAX_METHODS];
        for (int m = 0; m < request->method_count; m++) {
            const illume_tensor *a = &results->attributions[m];
            int64_t per_row = (int64_t)(illume_tensor_bytes(a) / sizeof(float)) / a->dims[0];
            int64_t map_height = a->rank >= 3 ? a->dims[a->rank - 2] : height;
            int64_t map_width = a->rank >= 2 ? a->dims[a->rank - 1] : width;
            maps[m] = (heatmap_map){(const float *)a->data + r * per_row, per_row / (map_height * map_width),
                                    map_height, map_width, is_positive(request, request->methods[m])};
        }
        char path[4096], file[1024];
        if (names) stem(names[r], file, sizeof file);
        else snprintf(file, sizeof file, "input-%lld", (long long)(first + r));
        snprintf(path, sizeof path, "%s/%s.png", request->heatmap, file);
        heatmap_panel panel = {image, height, width, request->percentile};
        char error[1024];
        if (heatmap_write(path, &panel, maps, request->method_count, error, sizeof error))
            status = fail(run, ILLUME_ERROR_IO, "%s", error);
    }
    free(image);
    return status;
}

static void print_rows(explain_run *run, explain_results *results, char **names, int64_t count, int64_t first) {
    explain_request *request = run->request;
    for (int64_t r = 0; r < count; r++) {
        illume_explain_row *row = &results->rows[0][r];
        const char *input = names ? base_name(names[r]) : "input";
        if (request->options.feature) {
            printf("%s: %s channel %lld (activation sum %.4f)", input, request->options.feature,
                   (long long)row->target, row->score);
        } else {
            const char *label =
                row->target >= 0 && row->target < run->names.count ? run->names.names[row->target] : "";
            printf("%s: target %lld %s%s(%s %.4f)", input, (long long)row->target, label, label[0] ? " " : "",
                   illume_explainer_score(run->explainers[0]), row->score);
        }
        if (!names) printf(" row %lld", (long long)(first + r));
        for (int m = 0; m < request->method_count; m++) {
            illume_method_info info;
            illume_method_describe(request->methods[m], &request->options, &info);
            if (info.has_delta && !isnan(results->rows[m][r].delta))
                printf("  %s delta %.3g", info.name, results->rows[m][r].delta);
        }
        printf("\n");
    }
}

static void write_json_rows(explain_run *run, explain_results *results, char **names, int64_t count, int64_t first) {
    explain_request *request = run->request;
    for (int64_t r = 0; run->json && r < count; r++) {
        fprintf(run->json, "%s\n    {\"input\": \"", run->json_first ? "" : ",");
        run->json_first = 0;
        if (names) fprintf(run->json, "%s", names[r]);
        else fprintf(run->json, "row %lld", (long long)(first + r));
        fprintf(run->json, "\", \"methods\": {");
        for (int m = 0; m < request->method_count; m++) {
            illume_explain_row *row = &results->rows[m][r];
            fprintf(run->json, "%s\"%s\": {\"target\": %lld, \"score\": %.9g, \"score_of\": \"%s\"", m ? ", " : "",
                    illume_method_name(request->methods[m]), (long long)row->target, row->score,
                    illume_explainer_score(run->explainers[m]));
            if (!isnan(row->delta)) fprintf(run->json, ", \"delta\": %.9g", row->delta);
            fprintf(run->json, ", \"seconds\": %.6f}", results->reports[m].seconds / (double)count);
        }
        fprintf(run->json, "}}");
    }
}

/* Rows r0.. of one method's attribution as an .npy of their own. */
static illume_status write_rows(explain_run *run, const illume_tensor *attribution, int64_t first, int64_t count,
                                const char *path) {
    illume_tensor part = *attribution;
    int64_t per_row = (int64_t)(illume_tensor_bytes(attribution) / sizeof(float)) / attribution->dims[0];
    part.dims[0] = count;
    part.data = (float *)attribution->data + first * per_row;
    char error[1024];
    illume_status status = npy_write(path, &part, error, sizeof error);
    if (status != ILLUME_OK) return fail(run, status, "%s", error);
    return ILLUME_OK;
}

static int64_t *targets_for(const explain_request *request, int64_t first, int64_t count) {
    int64_t *targets = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    for (int64_t r = 0; targets && r < count; r++)
        targets[r] = request->target_count == 0 ? -1
                     : request->target_count == 1 ? request->targets[0]
                                                  : request->targets[first + r];
    return targets;
}

static illume_status run_batch_mode(explain_run *run) {
    explain_request *request = run->request;
    illume_tensor inputs;
    char error[1024];
    illume_status status = input_load(request->inputs, request->input_count, &run->input_info,
                                      &request->preprocessing, &inputs, error, sizeof error);
    if (status != ILLUME_OK) return fail(run, status, "%s", error);
    int64_t count = inputs.dims[0];
    if (request->target_count > 1 && request->target_count != count) {
        free(inputs.data);
        return fail(run, ILLUME_ERROR_INVALID_INPUT, "%d targets for %lld inputs", request->target_count,
                    (long long)count);
    }
    int64_t *targets = targets_for(request, 0, count);
    explain_results results;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    status = targets ? explain_batch(run, &inputs, targets, &results) : fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    clock_gettime(CLOCK_MONOTONIC, &end);
    run->seconds += (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) * 1e-9;
    char **names = request->input_count == count ? request->inputs : NULL;
    if (status == ILLUME_OK) {
        print_rows(run, &results, names, count, 0);
        write_json_rows(run, &results, names, count, 0);
        run->done = count;
    }
    for (int m = 0; status == ILLUME_OK && request->output && m < request->method_count; m++) {
        char path[4096];
        method_path(request->output, illume_method_name(request->methods[m]), request->method_count > 1, path,
                    sizeof path);
        status = write_rows(run, &results.attributions[m], 0, count, path);
        if (status == ILLUME_OK) fprintf(stderr, "illume: wrote %s\n", path);
    }
    if (status == ILLUME_OK && request->heatmap) status = write_heatmaps(run, &inputs, &results, names, 0);
    free_results(&results, request->method_count);
    free(targets);
    free(inputs.data);
    return status;
}

/* Whether every output of an image exists already (a resumed run skips it). */
static int already_done(const explain_request *request, const char *image) {
    char file[1024], path[4096];
    stem(image, file, sizeof file);
    for (int m = 0; m < request->method_count; m++) {
        snprintf(path, sizeof path, "%s/%s.%s.npy", request->output, file, illume_method_name(request->methods[m]));
        if (access(path, F_OK) != 0) return 0;
    }
    return 1;
}

static void progress(explain_run *run, int64_t total) {
    if (!isatty(STDERR_FILENO)) return;
    int64_t finished = run->done + run->skipped;
    int width = 30, filled = total ? (int)(width * finished / total) : width;
    fprintf(stderr, "\r[%.*s%*s] %lld/%lld images  %.1f images/s", filled, "==============================",
            width - filled, "", (long long)finished, (long long)total,
            run->seconds > 0 ? (double)run->done / run->seconds : 0.0);
    if (finished == total) fputc('\n', stderr);
    fflush(stderr);
}

static illume_status ensure_directory(explain_run *run, const char *path) {
    if (mkdir(path, 0777) == 0 || (errno == EEXIST && is_directory(path))) return ILLUME_OK;
    return fail(run, ILLUME_ERROR_IO, "cannot make folder '%s': %s", path, strerror(errno));
}

/* Images a dataset run explains at once: four of the explainer's largest
 * batches (32 rows), so that within a chunk each batch's rows upload and
 * its results download while another batch computes (explain/explainer.c). */
#define CHUNK_IMAGES 128

/* A chunk of the dataset, decoded on a thread of its own while the chunk
 * before it is explained, so that decoding (on the host) and explaining (on
 * the device, or the other cores) overlap. */
typedef struct chunk {
    char *files[CHUNK_IMAGES];
    int count;
    const illume_value_info *input_info;
    const input_options *preprocessing;
    illume_tensor inputs;
    illume_status status;
    char error[1024];
    pthread_t thread;
    int decoding; /* the thread runs and must be joined */
} chunk;

static void *decode_chunk(void *argument) {
    chunk *c = argument;
    c->status = input_load(c->files, c->count, c->input_info, c->preprocessing, &c->inputs, c->error,
                           sizeof c->error);
    return NULL;
}

/* Takes the next images not done yet into c (counting the skipped ones)
 * and starts decoding them; c->count 0 when none are left. */
static void start_chunk(explain_run *run, char **files, int total, int *next, chunk *c) {
    c->count = 0;
    while (*next < total && c->count < CHUNK_IMAGES) {
        char *file = files[(*next)++];
        if (run->request->output && already_done(run->request, file)) run->skipped++;
        else c->files[c->count++] = file;
    }
    if (!c->count) return;
    c->decoding = pthread_create(&c->thread, NULL, decode_chunk, c) == 0;
    if (!c->decoding) decode_chunk(c);
}

static illume_status finish_chunk(chunk *c) {
    if (c->decoding) pthread_join(c->thread, NULL);
    c->decoding = 0;
    return c->status;
}

/* Explains a decoded chunk and writes its outputs. */
static illume_status explain_chunk(explain_run *run, chunk *c) {
    explain_request *request = run->request;
    int64_t *targets = targets_for(request, 0, c->count);
    explain_results results;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    illume_status status = targets ? explain_batch(run, &c->inputs, targets, &results)
                                   : fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    clock_gettime(CLOCK_MONOTONIC, &end);
    run->seconds += (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) * 1e-9;
    free(targets);
    if (status != ILLUME_OK) return status;
    for (int r = 0; status == ILLUME_OK && request->output && r < c->count; r++) {
        char file[1024], path[4096];
        stem(c->files[r], file, sizeof file);
        for (int m = 0; status == ILLUME_OK && m < request->method_count; m++) {
            snprintf(path, sizeof path, "%s/%s.%s.npy", request->output, file, illume_method_name(request->methods[m]));
            status = write_rows(run, &results.attributions[m], r, 1, path);
        }
    }
    if (status == ILLUME_OK && request->heatmap) status = write_heatmaps(run, &c->inputs, &results, c->files, 0);
    if (status == ILLUME_OK) {
        if (!isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO)) print_rows(run, &results, c->files, c->count, 0);
        write_json_rows(run, &results, c->files, c->count, 0);
        run->done += c->count;
    }
    free_results(&results, request->method_count);
    return status;
}

static illume_status run_dataset_mode(explain_run *run, char **files, int count) {
    explain_request *request = run->request;
    if (!request->output && !request->heatmap)
        return fail(run, ILLUME_ERROR_INVALID_INPUT,
                    "a dataset needs an output folder (-o DIR) or a heatmap folder (--heatmap DIR)");
    if (request->target_count > 1)
        return fail(run, ILLUME_ERROR_INVALID_INPUT, "a dataset takes one target for all images, or top");
    if (request->output) TRY(ensure_directory(run, request->output));
    chunk *chunks = calloc(2, sizeof *chunks);
    if (!chunks) return fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int k = 0; k < 2; k++) {
        chunks[k].input_info = &run->input_info;
        chunks[k].preprocessing = &request->preprocessing;
    }
    int next = 0, current = 0;
    illume_status status = ILLUME_OK;
    start_chunk(run, files, count, &next, &chunks[current]);
    if (!chunks[current].count) progress(run, count); /* every image was done before */
    while (status == ILLUME_OK && chunks[current].count) {
        chunk *this = &chunks[current], *following = &chunks[1 - current];
        start_chunk(run, files, count, &next, following);
        status = finish_chunk(this);
        if (status != ILLUME_OK) status = fail(run, status, "%s", this->error);
        else status = explain_chunk(run, this);
        free(this->inputs.data);
        this->inputs.data = NULL;
        progress(run, count);
        current = 1 - current;
    }
    /* After a failure the chunk decoding ahead still runs: wait for it before its memory goes. */
    for (int k = 0; k < 2; k++) {
        finish_chunk(&chunks[k]);
        free(chunks[k].inputs.data);
    }
    free(chunks);
    return status;
}

/* The demo's folder: installed beside the command (PREFIX/share/illume/demo),
 * else the source tree's. */
static void demo_directory(char *path, size_t size) {
    char executable[1024];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    if (length > 0) {
        executable[length] = '\0';
        char *slash = strrchr(executable, '/');
        if (slash) *slash = '\0';
        snprintf(path, size, "%s/../share/illume/demo", executable);
        if (is_directory(path)) return;
    }
    snprintf(path, size, "%s", ILLUME_DEMO_DIR);
}

static void use_demo(explain_request *request) {
    static char model[4096], samples[4096], labels_path[4096];
    char directory[2048];
    demo_directory(directory, sizeof directory);
    snprintf(model, sizeof model, "%s/model.onnx", directory);
    snprintf(samples, sizeof samples, "%s/samples", directory);
    snprintf(labels_path, sizeof labels_path, "%s/labels.txt", directory);
    request->demo = 1;
    request->model_path = model;
    request->inputs[0] = samples;
    request->input_count = 1;
    request->labels_path = labels_path;
    if (!request->heatmap) request->heatmap = "illume-demo";
    for (int m = 0; m < ILLUME_METHOD_COUNT; m++) request->methods[m] = (illume_method)m;
    request->method_count = ILLUME_METHOD_COUNT;
    request->options.upsample = 1;
    request->options.window[0] = request->options.window[1] = 8;
    request->options.stride[0] = request->options.stride[1] = 4;
    request->options.steps = 32;
    request->options.samples = 16;
}

static illume_status load_baseline(explain_run *run) {
    const char *path = run->request->baseline_path;
    if (!path) return ILLUME_OK;
    char error[1024];
    illume_status status = npy_read(path, &run->baseline, error, sizeof error);
    if (status != ILLUME_OK) return fail(run, status, "baseline: %s", error);
    return ILLUME_OK;
}

int command_explain(int argc, char **argv) {
    explain_request request;
    memset(&request, 0, sizeof request);
    int parsed = parse_arguments(argc, argv, &request);
    if (parsed != 0) {
        free(request.inputs);
        free(request.targets);
        return parsed < 0 ? 0 : parsed;
    }
    if (!request.model_path) use_demo(&request);
    explain_run run;
    memset(&run, 0, sizeof run);
    run.request = &request;
    run.context = illume_context_create();
    run.json_first = 1;
    illume_set_threads(run.context, (int)request.threads);
    load_labels(request.labels_path, &run.names);
    int code = 0;
    char **files = NULL;
    int file_count = 0;
    illume_status status = illume_model_load(run.context, request.model_path, &run.model);
    if (status != ILLUME_OK)
        library_failure(&run, status, request.demo ? "the demo model is missing" : "loading the model");
    if (status == ILLUME_OK && illume_model_input_count(run.model) != 1)
        status = fail(&run, ILLUME_ERROR_UNSUPPORTED, "%s has %d inputs; illume explain takes one", request.model_path,
                      illume_model_input_count(run.model));
    if (status == ILLUME_OK) {
        illume_model_input(run.model, 0, &run.input_info);
        input_choose_layout(&request.preprocessing, run.model);
        status = load_baseline(&run);
    }
    if (status == ILLUME_OK && request.heatmap) status = ensure_directory(&run, request.heatmap);
    if (status == ILLUME_OK && request.json) {
        run.json = fopen(request.json, "w");
        if (!run.json) status = fail(&run, ILLUME_ERROR_IO, "cannot write '%s'", request.json);
        else fprintf(run.json, "{\"model\": \"%s\", \"results\": [", request.model_path);
    }
    int dataset = request.input_count == 1 && (is_directory(request.inputs[0]) || has_glob(request.inputs[0]));
    if (status == ILLUME_OK && dataset) {
        if (list_dataset(request.inputs[0], &files, &file_count))
            status = fail(&run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        else if (file_count == 0)
            status = fail(&run, ILLUME_ERROR_IO, "no PNG or JPEG images in '%s'", request.inputs[0]);
        else
            status = run_dataset_mode(&run, files, file_count);
    } else if (status == ILLUME_OK) {
        status = run_batch_mode(&run);
    }
    if (run.json) {
        fprintf(run.json, "\n  ], \"images\": %lld, \"seconds\": %.6f}\n", (long long)run.done, run.seconds);
        if (fclose(run.json) != 0 && status == ILLUME_OK)
            status = fail(&run, ILLUME_ERROR_IO, "cannot write '%s'", request.json);
    }
    if (status != ILLUME_OK) {
        code = report(status, "%s", run.message);
    } else {
        fprintf(stderr, "illume: %lld inputs explained in %.2f s (%.2f inputs/s)\n", (long long)run.done, run.seconds,
                run.seconds > 0 ? (double)run.done / run.seconds : 0.0);
        if (run.skipped) fprintf(stderr, "illume: %lld images were already explained\n", (long long)run.skipped);
        if (request.heatmap) fprintf(stderr, "illume: heatmaps in %s/\n", request.heatmap);
    }
    for (int m = 0; m < MAX_METHODS; m++) illume_explainer_free(run.explainers[m]);
    for (int f = 0; f < file_count; f++) free(files[f]);
    free(files);
    free(run.baseline.data);
    free_labels(&run.names);
    illume_model_free(run.model);
    illume_context_destroy(run.context);
    free(request.inputs);
    free(request.targets);
    return code;
}
