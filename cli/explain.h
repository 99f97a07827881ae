/* What the files of illume explain share: the request its arguments make,
 * the run that carries it out, and the functions that cross files. */
#ifndef ILLUME_CLI_EXPLAIN_H
#define ILLUME_CLI_EXPLAIN_H

#include <stdint.h>
#include <stdio.h>

#include "illume.h"
#include "input.h"
#include "labels.h"

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

/* explain.c: keeps the message in run->message and returns status. */
illume_status explain_fail(explain_run *run, illume_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* explain_arguments.c: fills request (inputs and targets malloc'd) from argv.
 * 0 to go on, -1 after --help, else the exit code of a usage error (message
 * printed). */
int explain_parse_arguments(int argc, char **argv, explain_request *request);

/* demo.c: makes request the bundled demo's: its model, samples and labels,
 * every method. */
void demo_fill_request(explain_request *request);

/* explain_outputs.c: what a run writes and prints. names holds the input
 * files of the rows, or is NULL for the rows of one tensor (named by their
 * index). */

/* One .npy per method with the rows of every input (-o). */
illume_status write_attributions(explain_run *run, const explain_results *results, int64_t count);
/* One .npy per image and method in the -o folder, named after the image. */
illume_status write_attributions_per_image(explain_run *run, const explain_results *results, char **images,
                                           int count);
/* Whether every output of an image exists already (a resumed run skips it). */
int all_outputs_exist(const explain_request *request, const char *image_file);
/* One PNG per input row: the input, then each method's map. */
illume_status write_heatmaps(explain_run *run, const illume_tensor *inputs, const explain_results *results,
                             char **names);
/* A line per input row: its target, score and each method's delta. */
void print_rows(explain_run *run, const explain_results *results, char **names, int64_t count);
/* The JSON report (--json): opened with its header, a record per row, closed
 * with the totals; a failure to close becomes status when status is ILLUME_OK. */
illume_status open_json_report(explain_run *run);
void write_json_rows(explain_run *run, const explain_results *results, char **names, int64_t count);
illume_status close_json_report(explain_run *run, illume_status status);

#endif
