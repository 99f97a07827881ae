/* illume explain MODEL INPUT... -m METHOD: attribution maps for every input,
 * as .npy, PNG heatmaps and JSON; a folder or glob of images as a dataset
 * (one output per image, resumable); with no arguments, the bundled demo.
 * This file holds the command's flow: the model and its explainers, then
 * the inputs as one batch or the dataset chunk by chunk. Its arguments are
 * read in explain_arguments.c, the demo's made in demo.c, the dataset listed
 * and decoded in dataset.c, the outputs written by explain_outputs.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"
#include "explain.h"
#include "npy.h"

illume_status explain_fail(explain_run *run, illume_status status, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(run->message, sizeof run->message, format, arguments);
    va_end(arguments);
    return status;
}

/* A failure of the library, its message prefixed by what was being done. */
static illume_status library_failure(explain_run *run, illume_status status, const char *what) {
    return explain_fail(run, status, "%s: %s", what, illume_last_error(run->context));
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

/* One explainer per method, made for the shape of the first batch's rows
 * and kept for every batch after it. */
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

/* The target of each of count rows: the one --target gives for all, its
 * own, or -1 for the top class. */
static int64_t *targets_for(const explain_request *request, int64_t count) {
    int64_t *targets = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    for (int64_t r = 0; targets && r < count; r++)
        targets[r] = request->target_count == 0 ? -1
                     : request->target_count == 1 ? request->targets[0]
                                                  : request->targets[r];
    return targets;
}

/* Runs every method on a batch of inputs. */
static illume_status run_methods(explain_run *run, const illume_tensor *inputs, const int64_t *targets,
                                 explain_results *results) {
    explain_request *request = run->request;
    TRY(make_explainers(run, inputs));
    int64_t count = inputs->dims[0];
    for (int m = 0; m < request->method_count; m++) {
        illume_tensor *attribution = &results->attributions[m];
        illume_explainer_shape(run->explainers[m], count, attribution);
        attribution->data = malloc(illume_tensor_bytes(attribution) + 1);
        results->rows[m] = calloc((size_t)count, sizeof(illume_explain_row));
        if (!attribution->data || !results->rows[m])
            return explain_fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for the attributions");
        illume_status status = illume_explain(run->explainers[m], inputs, targets, attribution, results->rows[m],
                                              &results->reports[m]);
        if (status != ILLUME_OK) return library_failure(run, status, illume_method_name(request->methods[m]));
    }
    return ILLUME_OK;
}

/* Explains the count rows of inputs for their targets, adding the time it
 * took to the run's; results are to be freed, whatever the status. */
static illume_status explain_batch(explain_run *run, const illume_tensor *inputs, int64_t count,
                                   explain_results *results) {
    memset(results, 0, sizeof *results);
    int64_t *targets = targets_for(run->request, count);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    illume_status status = targets ? run_methods(run, inputs, targets, results)
                                   : explain_fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    clock_gettime(CLOCK_MONOTONIC, &end);
    run->seconds += (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) * 1e-9;
    free(targets);
    return status;
}

/* The inputs as one batch: a .npy tensor, or images one row each. */
static illume_status run_batch_mode(explain_run *run) {
    explain_request *request = run->request;
    illume_tensor inputs;
    char error[1024];
    illume_status status = input_load(request->inputs, request->input_count, &run->input_info,
                                      &request->preprocessing, &inputs, error, sizeof error);
    if (status != ILLUME_OK) return explain_fail(run, status, "%s", error);
    int64_t count = inputs.dims[0];
    if (request->target_count > 1 && request->target_count != count) {
        free(inputs.data);
        return explain_fail(run, ILLUME_ERROR_INVALID_INPUT, "%d targets for %lld inputs", request->target_count,
                            (long long)count);
    }
    explain_results results;
    status = explain_batch(run, &inputs, count, &results);
    char **names = request->input_count == count ? request->inputs : NULL;
    if (status == ILLUME_OK) {
        print_rows(run, &results, names, count);
        write_json_rows(run, &results, names, count);
        run->done = count;
    }
    if (status == ILLUME_OK && request->output) status = write_attributions(run, &results, count);
    if (status == ILLUME_OK && request->heatmap) status = write_heatmaps(run, &inputs, &results, names);
    free_results(&results, request->method_count);
    free(inputs.data);
    return status;
}

/* A progress bar on a terminal: images finished (explained or skipped) and the rate. */
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
    return explain_fail(run, ILLUME_ERROR_IO, "cannot make folder '%s': %s", path, strerror(errno));
}

/* Takes the next images not done yet into c (counting the skipped ones)
 * and starts decoding them; c->count 0 when none are left. */
static void start_chunk(explain_run *run, char **files, int total, int *next, dataset_chunk *c) {
    c->count = 0;
    while (*next < total && c->count < CHUNK_IMAGES) {
        char *file = files[(*next)++];
        if (run->request->output && all_outputs_exist(run->request, file)) run->skipped++;
        else c->files[c->count++] = file;
    }
    if (c->count) dataset_chunk_start_decoding(c);
}

/* Explains a decoded chunk and writes its outputs. */
static illume_status explain_chunk(explain_run *run, dataset_chunk *c) {
    explain_request *request = run->request;
    explain_results results;
    illume_status status = explain_batch(run, &c->inputs, c->count, &results);
    if (status == ILLUME_OK && request->output)
        status = write_attributions_per_image(run, &results, c->files, c->count);
    if (status == ILLUME_OK && request->heatmap) status = write_heatmaps(run, &c->inputs, &results, c->files);
    if (status == ILLUME_OK) {
        /* On a terminal the progress bar stands for the lines. */
        if (!isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO)) print_rows(run, &results, c->files, c->count);
        write_json_rows(run, &results, c->files, c->count);
        run->done += c->count;
    }
    free_results(&results, request->method_count);
    return status;
}

/* The images of a dataset, a chunk at a time, the next chunk decoding
 * while one is explained. */
static illume_status run_dataset_mode(explain_run *run, char **files, int count) {
    explain_request *request = run->request;
    if (!request->output && !request->heatmap)
        return explain_fail(run, ILLUME_ERROR_INVALID_INPUT,
                            "a dataset needs an output folder (-o DIR) or a heatmap folder (--heatmap DIR)");
    if (request->target_count > 1)
        return explain_fail(run, ILLUME_ERROR_INVALID_INPUT, "a dataset takes one target for all images, or top");
    if (request->output) TRY(ensure_directory(run, request->output));
    dataset_chunk *chunks = calloc(2, sizeof *chunks);
    if (!chunks) return explain_fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int k = 0; k < 2; k++) {
        chunks[k].input_info = &run->input_info;
        chunks[k].preprocessing = &request->preprocessing;
    }
    int next = 0, current = 0;
    illume_status status = ILLUME_OK;
    start_chunk(run, files, count, &next, &chunks[current]);
    if (!chunks[current].count) progress(run, count); /* every image was done before */
    while (status == ILLUME_OK && chunks[current].count) {
        dataset_chunk *this = &chunks[current], *following = &chunks[1 - current];
        start_chunk(run, files, count, &next, following);
        status = dataset_chunk_finish_decoding(this);
        if (status != ILLUME_OK) status = explain_fail(run, status, "%s", this->error);
        else status = explain_chunk(run, this);
        free(this->inputs.data);
        this->inputs.data = NULL;
        progress(run, count);
        current = 1 - current;
    }
    /* After a failure the chunk decoding ahead still runs: wait for it before its memory goes. */
    for (int k = 0; k < 2; k++) {
        dataset_chunk_finish_decoding(&chunks[k]);
        free(chunks[k].inputs.data);
    }
    free(chunks);
    return status;
}

/* The dataset a folder or glob names. */
static illume_status run_dataset(explain_run *run) {
    const char *pattern = run->request->inputs[0];
    char **files = NULL;
    int count = 0;
    illume_status status;
    if (dataset_list(pattern, &files, &count))
        status = explain_fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    else if (count == 0)
        status = explain_fail(run, ILLUME_ERROR_IO, "no PNG or JPEG images in '%s'", pattern);
    else
        status = run_dataset_mode(run, files, count);
    dataset_free(files, count);
    return status;
}

static illume_status load_baseline(explain_run *run) {
    const char *path = run->request->baseline_path;
    if (!path) return ILLUME_OK;
    char error[1024];
    illume_status status = npy_read(path, &run->baseline, error, sizeof error);
    if (status != ILLUME_OK) return explain_fail(run, status, "baseline: %s", error);
    return ILLUME_OK;
}

int command_explain(int argc, char **argv) {
    explain_request request;
    memset(&request, 0, sizeof request);
    int parsed = explain_parse_arguments(argc, argv, &request);
    if (parsed != 0) {
        free(request.inputs);
        free(request.targets);
        return parsed < 0 ? 0 : parsed;
    }
    if (!request.model_path) demo_fill_request(&request);
    explain_run run;
    memset(&run, 0, sizeof run);
    run.request = &request;
    run.context = illume_context_create();
    run.json_first = 1;
    illume_set_threads(run.context, (int)request.threads);
    /* A labels file that cannot be read leaves the targets unnamed. */
    if (request.labels_path) labels_load(request.labels_path, &run.names);
    int code = 0;
    illume_status status = illume_model_load(run.context, request.model_path, &run.model);
    if (status != ILLUME_OK)
        library_failure(&run, status, request.demo ? "the demo model is missing" : "loading the model");
    if (status == ILLUME_OK && illume_model_input_count(run.model) != 1)
        status = explain_fail(&run, ILLUME_ERROR_UNSUPPORTED, "%s has %d inputs; illume explain takes one",
                              request.model_path, illume_model_input_count(run.model));
    if (status == ILLUME_OK) {
        illume_model_input(run.model, 0, &run.input_info);
        input_choose_layout(&request.preprocessing, run.model);
        status = load_baseline(&run);
    }
    if (status == ILLUME_OK && request.heatmap) status = ensure_directory(&run, request.heatmap);
    if (status == ILLUME_OK && request.json) status = open_json_report(&run);
    if (status == ILLUME_OK && request.input_count == 1 && dataset_is_folder_or_glob(request.inputs[0]))
        status = run_dataset(&run);
    else if (status == ILLUME_OK)
        status = run_batch_mode(&run);
    if (run.json) status = close_json_report(&run, status);
    if (status != ILLUME_OK) {
        code = report(status, "%s", run.message);
    } else {
        fprintf(stderr, "illume: %lld inputs explained in %.2f s (%.2f inputs/s)\n", (long long)run.done, run.seconds,
                run.seconds > 0 ? (double)run.done / run.seconds : 0.0);
        if (run.skipped) fprintf(stderr, "illume: %lld images were already explained\n", (long long)run.skipped);
        if (request.heatmap) fprintf(stderr, "illume: heatmaps in %s/\n", request.heatmap);
    }
    for (int m = 0; m < MAX_METHODS; m++) illume_explainer_free(run.explainers[m]);
    free(run.baseline.data);
    labels_free(&run.names);
    illume_model_free(run.model);
    illume_context_destroy(run.context);
    free(request.inputs);
    free(request.targets);
    return code;
}
