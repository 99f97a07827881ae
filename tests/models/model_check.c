/* model_check: runs a whole model with illume on recorded inputs and compares
 * every output with the recorded reference (ONNX Runtime's, written by
 * export_models.py).
 *
 *   model_check MODEL.onnx CASE... [--expect-fold] [--tolerance T]
 *       CASE is a file prefix: CASE.input.npy is the input, CASE.outputK.npy
 *       the reference for output K. One model serves every case, so cases
 *       of different batch sizes bind different shapes to the same model.
 *       Each case runs in a session with fold_batchnorm on (run twice, to
 *       catch state left behind by a run) and one with it off.
 *       --expect-fold also requires folding to remove nodes.
 *   model_check --compare ACTUAL.npy REFERENCE.npy [--tolerance T]
 *       compares two files (the output of `illume run`, say).
 *
 * Agreement rule, per output: max |actual - reference| <= T * max |reference|
 * (T = 1e-4 unless given); fold on and off must agree by the same rule. The
 * exit status is 0 when everything agrees, 1 when something does not, 2 on
 * a usage error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "illume.h"
#include "npy.h"

#define DEFAULT_TOLERANCE 1e-4
#define MAX_OUTPUTS 16

typedef struct difference {
    double absolute; /* max |actual - reference| */
    double relative; /* absolute / max |reference| */
} difference;

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static int same_shape(const illume_tensor *a, const illume_tensor *b) {
    if (a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return 1;
}

static void format_shape(const illume_tensor *tensor, char *text, size_t size) {
    size_t used = (size_t)snprintf(text, size, "[");
    for (int d = 0; d < tensor->rank && used < size; d++)
        used += (size_t)snprintf(text + used, size - used, d ? ",%lld" : "%lld", (long long)tensor->dims[d]);
    if (used < size) snprintf(text + used, size - used, "]");
}

static int64_t element_count(const illume_tensor *tensor) {
    int64_t count = 1;
    for (int d = 0; d < tensor->rank; d++) count *= tensor->dims[d];
    return count;
}

/* Returns 1 when actual agrees with reference by the rule, 0 otherwise (with
 * the reason printed, prefixed by what). */
static int agree(const char *what, const illume_tensor *actual, const illume_tensor *reference, double tolerance,
                 difference *result) {
    result->absolute = result->relative = INFINITY;
    char actual_shape[128], reference_shape[128];
    format_shape(actual, actual_shape, sizeof actual_shape);
    format_shape(reference, reference_shape, sizeof reference_shape);
    if (actual->dtype != reference->dtype || !same_shape(actual, reference)) {
        printf("FAIL %s: %s %s, the reference is %s %s\n", what, actual->dtype == ILLUME_FLOAT32 ? "float32" : "int64",
               actual_shape, reference->dtype == ILLUME_FLOAT32 ? "float32" : "int64", reference_shape);
        return 0;
    }
    int64_t count = element_count(actual);
    double largest_difference = 0.0, largest_reference = 0.0;
    for (int64_t i = 0; i < count; i++) {
        double a, b;
        if (actual->dtype == ILLUME_FLOAT32) {
            a = ((const float *)actual->data)[i];
            b = ((const float *)reference->data)[i];
        } else {
            a = (double)((const int64_t *)actual->data)[i];
            b = (double)((const int64_t *)reference->data)[i];
        }
        if (!isfinite(a) || !isfinite(b)) {
            if (!(isnan(a) && isnan(b)) && a != b) {
                printf("FAIL %s: element %lld is %g, the reference %g\n", what, (long long)i, a, b);
                return 0;
            }
            continue;
        }
        double gap = fabs(a - b);
        if (gap > largest_difference) largest_difference = gap;
        if (fabs(b) > largest_reference) largest_reference = fabs(b);
    }
    result->absolute = largest_difference;
    result->relative = largest_reference > 0.0 ? largest_difference / largest_reference : largest_difference;
    if (!(largest_difference <= tolerance * largest_reference)) {
        printf("FAIL %s: max |difference| %.3g exceeds %g * max |reference| = %.3g\n", what, largest_difference,
               tolerance, tolerance * largest_reference);
        return 0;
    }
    return 1;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "batch3" for the case prefix ".../model.batch3". */
static const char *case_name(const char *prefix) {
    const char *name = base_name(prefix);
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

typedef struct run_result {
    illume_tensor outputs[MAX_OUTPUTS];
    int output_count;
    int node_count;
    double create_seconds;
    double run_seconds;
} run_result;

static void release_outputs(run_result *result) {
    for (int o = 0; o < result->output_count; o++) free(result->outputs[o].data);
    result->output_count = 0;
}

/* Makes a session with fold_batchnorm as given and runs it `runs` times,
 * keeping the last run's outputs and checking that each run agrees with the
 * first. Returns 1 on success. */
static int run_model(illume_context *context, const illume_model *model, const illume_tensor *input, int fold,
                     int runs, double tolerance, const char *what, run_result *result) {
    memset(result, 0, sizeof *result);
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = "cpu";
    options.fold_batchnorm = fold;
    illume_session *session = NULL;
    double start = seconds_now();
    illume_status status = illume_session_create(context, model, &options, 1, input, &session);
    result->create_seconds = seconds_now() - start;
    if (status != ILLUME_OK) {
        printf("FAIL %s: session: %s\n", what, illume_last_error(context));
        return 0;
    }
    illume_session_stats stats;
    illume_session_get_stats(session, &stats);
    result->node_count = stats.node_count;
    int count = illume_session_output_count(session);
    if (count < 1 || count > MAX_OUTPUTS) {
        printf("FAIL %s: the session has %d outputs\n", what, count);
        illume_session_free(session);
        return 0;
    }
    illume_tensor first[MAX_OUTPUTS] = {{0}};
    int ok = 1;
    for (int o = 0; o < count && ok; o++) {
        illume_value_info info;
        illume_session_output(session, o, &info);
        result->outputs[o].dtype = first[o].dtype = info.dtype;
        result->outputs[o].rank = first[o].rank = info.rank;
        memcpy(result->outputs[o].dims, info.dims, sizeof info.dims);
        memcpy(first[o].dims, info.dims, sizeof info.dims);
        size_t bytes = illume_tensor_bytes(&result->outputs[o]);
        result->outputs[o].data = malloc(bytes + 1);
        first[o].data = malloc(bytes + 1);
        result->output_count = o + 1;
        if (!result->outputs[o].data || !first[o].data) {
            printf("FAIL %s: out of memory for output %d\n", what, o);
            ok = 0;
        }
    }
    for (int r = 0; r < runs && ok; r++) {
        start = seconds_now();
        status = illume_session_run(session, 1, input, count, r == 0 ? first : result->outputs);
        result->run_seconds = seconds_now() - start;
        if (status != ILLUME_OK) {
            printf("FAIL %s: run: %s\n", what, illume_last_error(context));
            ok = 0;
        }
        for (int o = 0; r > 0 && ok && o < count; o++) {
            char label[512];
            difference repeat;
            snprintf(label, sizeof label, "%s, output %d, run %d against run 1", what, o, r + 1);
            ok = agree(label, &result->outputs[o], &first[o], tolerance, &repeat);
        }
    }
    for (int o = 0; o < count; o++) {
        if (runs == 1) {
            free(result->outputs[o].data);
            result->outputs[o].data = first[o].data;
        } else {
            free(first[o].data);
        }
    }
    illume_session_free(session);
    if (!ok) release_outputs(result);
    return ok;
}

static int file_exists(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file) fclose(file);
    return file != NULL;
}

/* The nodes a session keeps with fold_batchnorm as given and no activation
 * fused (a Relu fuses into a BatchNormalization left unfolded as into the
 * Conv that took one in, so with fusion the counts need not differ); -1 when
 * no session is made. */
static int unfused_node_count(illume_context *context, const illume_model *model, const illume_tensor *input,
                              int fold) {
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = "cpu";
    options.fold_batchnorm = fold;
    options.fuse_activations = 0;
    illume_session *session = NULL;
    if (illume_session_create(context, model, &options, 1, input, &session) != ILLUME_OK) return -1;
    illume_session_stats stats;
    illume_session_get_stats(session, &stats);
    illume_session_free(session);
    return stats.node_count;
}

/* Checks one case; returns 1 when everything agrees. */
static int check_case(illume_context *context, const illume_model *model, const char *model_name, const char *prefix,
                      int expect_fold, double tolerance) {
    char path[4096], error[1024], what[512];
    illume_tensor input = {0};
    illume_tensor references[MAX_OUTPUTS] = {{0}};
    run_result folded = {0}, unfolded = {0};
    int reference_count = 0, ok = 1;
    snprintf(path, sizeof path, "%s.input.npy", prefix);
    if (npy_read(path, &input, error, sizeof error) != ILLUME_OK) {
        printf("FAIL %s: %s\n", prefix, error);
        return 0;
    }
    for (;;) {
        snprintf(path, sizeof path, "%s.output%d.npy", prefix, reference_count);
        if (!file_exists(path)) break;
        if (reference_count == MAX_OUTPUTS || npy_read(path, &references[reference_count], error, sizeof error)) {
            printf("FAIL %s: %s\n", prefix, reference_count == MAX_OUTPUTS ? "too many outputs" : error);
            ok = 0;
            break;
        }
        reference_count++;
    }
    if (ok && reference_count == 0) {
        printf("FAIL %s: no reference %s.output0.npy\n", prefix, prefix);
        ok = 0;
    }
    snprintf(what, sizeof what, "%s %s, fold_batchnorm on", model_name, case_name(prefix));
    ok = ok && run_model(context, model, &input, 1, 2, tolerance, what, &folded);
    snprintf(what, sizeof what, "%s %s, fold_batchnorm off", model_name, case_name(prefix));
    ok = ok && run_model(context, model, &input, 0, 1, tolerance, what, &unfolded);
    if (ok && (folded.output_count != reference_count || unfolded.output_count != reference_count)) {
        printf("FAIL %s: illume gives %d outputs, there are %d references\n", prefix, folded.output_count,
               reference_count);
        ok = 0;
    }
    if (ok && expect_fold) {
        int with_fold = unfused_node_count(context, model, &input, 1);
        int without = unfused_node_count(context, model, &input, 0);
        if (with_fold < 0 || !(with_fold < without)) {
            printf("FAIL %s: folding BatchNormalization left %d nodes of %d (activations not fused)\n", prefix,
                   with_fold, without);
            ok = 0;
        }
    }
    for (int o = 0; ok && o < reference_count; o++) {
        difference on, off, between;
        char shape[128];
        format_shape(&references[o], shape, sizeof shape);
        snprintf(what, sizeof what, "%s %s output %d, fold_batchnorm on", model_name, case_name(prefix), o);
        int agreed = agree(what, &folded.outputs[o], &references[o], tolerance, &on);
        snprintf(what, sizeof what, "%s %s output %d, fold_batchnorm off", model_name, case_name(prefix), o);
        agreed &= agree(what, &unfolded.outputs[o], &references[o], tolerance, &off);
        snprintf(what, sizeof what, "%s %s output %d, fold_batchnorm on against off", model_name, case_name(prefix),
                 o);
        agreed &= agree(what, &folded.outputs[o], &unfolded.outputs[o], tolerance, &between);
        printf("%-4s %-28s %-7s %-6d %-14s %9.2e %9.2e %9.2e %9.2e %8d %8d %9.1f %9.1f\n", agreed ? "ok" : "FAIL",
               model_name, case_name(prefix), o, shape, on.absolute, on.relative, off.absolute, off.relative,
               folded.node_count, unfolded.node_count, 1e3 * folded.create_seconds, 1e3 * folded.run_seconds);
        ok &= agreed;
    }
    release_outputs(&folded);
    release_outputs(&unfolded);
    for (int o = 0; o < reference_count; o++) free(references[o].data);
    free(input.data);
    return ok;
}

static int compare_files(const char *actual_path, const char *reference_path, double tolerance) {
    illume_tensor actual = {0}, reference = {0};
    char error[1024];
    int ok = 0;
    if (npy_read(actual_path, &actual, error, sizeof error) != ILLUME_OK ||
        npy_read(reference_path, &reference, error, sizeof error) != ILLUME_OK) {
        printf("FAIL %s\n", error);
    } else {
        difference result;
        ok = agree(actual_path, &actual, &reference, tolerance, &result);
        if (ok)
            printf("ok   %s against %s: max abs %.2e, max rel %.2e\n", actual_path, reference_path, result.absolute,
                   result.relative);
    }
    free(actual.data);
    free(reference.data);
    return ok;
}

static int usage(const char *message) {
    fprintf(stderr,
            "model_check: %s\n"
            "usage: model_check MODEL.onnx CASE... [--expect-fold] [--tolerance T]\n"
            "       model_check --compare ACTUAL.npy REFERENCE.npy [--tolerance T]\n",
            message);
    return 2;
}

int main(int argc, char **argv) {
    const char *positional[64];
    int positional_count = 0, expect_fold = 0, compare = 0;
    double tolerance = DEFAULT_TOLERANCE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-fold") == 0) {
            expect_fold = 1;
        } else if (strcmp(argv[i], "--compare") == 0) {
            compare = 1;
        } else if (strcmp(argv[i], "--tolerance") == 0) {
            char *end = NULL;
            if (i + 1 < argc) tolerance = strtod(argv[++i], &end);
            if (!end || *end || !(tolerance >= 0.0)) return usage("--tolerance needs a non-negative number");
        } else if (argv[i][0] == '-') {
            return usage("unknown option");
        } else if (positional_count < 64) {
            positional[positional_count++] = argv[i];
        } else {
            return usage("too many arguments");
        }
    }
    if (compare) {
        if (positional_count != 2) return usage("--compare takes two files");
        return compare_files(positional[0], positional[1], tolerance) ? 0 : 1;
    }
    if (positional_count < 2) return usage("give a model and at least one case");

    illume_context *context = illume_context_create();
    if (!context) return usage("cannot make a context");
    illume_model *model = NULL;
    if (illume_model_load(context, positional[0], &model) != ILLUME_OK) {
        printf("FAIL %s: %s\n", positional[0], illume_last_error(context));
        illume_context_destroy(context);
        return 1;
    }
    char model_name[256];
    snprintf(model_name, sizeof model_name, "%s", base_name(positional[0]));
    char *extension = strstr(model_name, ".onnx");
    if (extension) *extension = '\0';
    printf("tolerance: max |illume - reference| <= %g * max |reference| per output\n", tolerance);
    printf("%-4s %-28s %-7s %-6s %-14s %9s %9s %9s %9s %8s %8s %9s %9s\n", "", "model", "case", "output", "shape",
           "abs(on)", "rel(on)", "abs(off)", "rel(off)", "nodes", "nodes", "create", "run");
    printf("%-4s %-28s %-7s %-6s %-14s %9s %9s %9s %9s %8s %8s %9s %9s\n", "", "", "", "", "", "", "", "", "",
           "(fold)", "(keep)", "ms", "ms");
    int failures = 0;
    for (int c = 1; c < positional_count; c++)
        failures += !check_case(context, model, model_name, positional[c], expect_fold, tolerance);
    illume_model_free(model);
    illume_context_destroy(context);
    printf("%s: %d of %d cases agree\n", model_name, positional_count - 1 - failures, positional_count - 1);
    return failures ? 1 : 0;
}
