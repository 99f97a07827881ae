/* test_captum: illume's explanation methods against reference attributions
 * (Captum's, tests/explain; Zennit's LRP, tests/lrp),
 * recorded by make_references.py in a fixture folder.
 *
 *   test_captum FIXTURES MODEL FAMILY [--tolerance T]
 *
 * Runs every case of FIXTURES/manifest.txt for MODEL and FAMILY (lines
 * "MODEL FAMILY CASE METHOD [OPTIONS]", the options those of `illume
 * explain`, LRP's included, plus --target top, --delta and --ambiguity A) on
 * FIXTURES/MODEL.input.npy with the targets of MODEL.targets.npy. Each case
 * runs with the default memory budget and, where that ran more than one row
 * a pass, again with a budget a fifth of the first run's arena (raised until
 * it holds one row), so that the rows stream through smaller batches. Each
 * run must agree with CASE.npy by
 *     max |illume - captum| <= (T + A) * max |captum|      (T = 1e-3)
 * where A (0 unless given) is the reference's own uncertainty at ReLU and
 * max pool knife edges, measured by make_references.py; must report the
 * targets explained and their scores (MODEL.logits.npy); and with --delta
 * must give the completeness delta of CASE.delta.npy (delta, f(x) and
 * f(baseline) per row) within (T + A) * max(|f(x)|, |f(baseline)|). Prints
 * the measured ratio of every case. Exit status: 0 when every case agrees, 1 when one does not, 2 on a usage
 * error or an unreadable fixture. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "illume.h"
#include "method_options.h"
#include "npy.h"

#define DEFAULT_TOLERANCE 1e-3
#define SCORE_TOLERANCE 1e-4
#define MAX_WORDS 32
#define LINE_SIZE 2048
/* The second run's budget: this fraction of the first run's arena. */
#define SMALL_BUDGET_DIVISOR 5

typedef struct reference_set {
    const char *directory;
    illume_context *context;
    illume_model *model;
    illume_tensor inputs, targets, logits;
    double tolerance;
} reference_set;

typedef struct test_case {
    const char *name;
    illume_explain_options options;
    int top;          /* explain the top class instead of the recorded targets */
    int delta;        /* compare the completeness delta */
    double ambiguity; /* the reference's own uncertainty at knife edges, relative to max |captum| */
} test_case;

static int64_t element_count(const illume_tensor *tensor) {
    int64_t count = 1;
    for (int d = 0; d < tensor->rank; d++) count *= tensor->dims[d];
    return count;
}

static int read_fixture_file(const reference_set *set, const char *name, const char *suffix, illume_dtype dtype,
                             illume_tensor *tensor) {
    char path[LINE_SIZE], error[512];
    snprintf(path, sizeof path, "%s/%s%s", set->directory, name, suffix);
    if (npy_read(path, tensor, error, sizeof error) != ILLUME_OK) {
        printf("ERROR %s\n", error);
        return 0;
    }
    if (tensor->dtype != dtype) {
        printf("ERROR %s: expected %s data\n", path, dtype == ILLUME_FLOAT32 ? "float32" : "int64");
        return 0;
    }
    return 1;
}

/* Fills a case from the words of a manifest line after MODEL FAMILY. */
static int parse_case(char **words, int count, test_case *test) {
    memset(test, 0, sizeof *test);
    illume_explain_options_default(&test->options);
    test->options.device = "cpu";
    if (count < 2) {
        printf("ERROR a manifest line needs a case and a method\n");
        return 0;
    }
    test->name = words[0];
    if (illume_method_from_name(words[1], &test->options.method) != ILLUME_OK) {
        printf("ERROR %s: unknown method '%s'\n", test->name, words[1]);
        return 0;
    }
    illume_explain_options *options = &test->options;
    for (int i = 2; i < count; i++) {
        /* The options of `illume explain`, parsed as the command line parses them. */
        const char *baseline_path = NULL;
        int parsed = method_option_parse(test->name, count, words, &i, options, &baseline_path);
        if (parsed < 0) return 0;
        if (parsed && baseline_path) {
            printf("ERROR %s: a manifest's baseline is zeros, blur or a number\n", test->name);
            return 0;
        }
        if (parsed) continue;
        const char *flag = words[i];
        if (strcmp(flag, "--delta") == 0) {
            test->delta = 1;
            continue;
        }
        if (i + 1 >= count) {
            printf("ERROR %s: %s needs a value\n", test->name, flag);
            return 0;
        }
        const char *value = words[++i];
        char *end;
        double number = strtod(value, &end);
        int ok;
        if (strcmp(flag, "--target") == 0) {
            ok = strcmp(value, "top") == 0;
            test->top = 1;
        } else if (strcmp(flag, "--ambiguity") == 0) {
            ok = end != value && *end == '\0' && number >= 0;
            test->ambiguity = number;
        } else {
            printf("ERROR %s: unknown option %s\n", test->name, flag);
            return 0;
        }
        if (!ok) {
            printf("ERROR %s: bad value '%s' for %s\n", test->name, value, flag);
            return 0;
        }
    }
    return 1;
}

/* max |actual - reference| / max |reference|; infinity when a value is not finite. */
static double relative_difference(const float *actual, const float *reference, int64_t count) {
    double largest_difference = 0.0, largest_reference = 0.0;
    for (int64_t i = 0; i < count; i++) {
        if (!isfinite(actual[i]) || !isfinite(reference[i])) return INFINITY;
        double gap = fabs((double)actual[i] - (double)reference[i]);
        if (gap > largest_difference) largest_difference = gap;
        if (fabs((double)reference[i]) > largest_reference) largest_reference = fabs((double)reference[i]);
    }
    return largest_reference > 0.0 ? largest_difference / largest_reference : largest_difference;
}

static int64_t top_class(const float *logits, int64_t classes) {
    int64_t best = 0;
    for (int64_t k = 1; k < classes; k++)
        if (logits[k] > logits[best]) best = k;
    return best;
}

/* Checks the reported targets and scores, and with --delta the completeness deltas. */
static int check_rows(const reference_set *set, const test_case *test, const char *label,
                      const illume_explain_row *rows, const illume_tensor *deltas) {
    int64_t count = set->inputs.dims[0], classes = set->logits.dims[1];
    const float *logits = set->logits.data;
    int ok = 1;
    for (int64_t r = 0; r < count; r++) {
        const float *row = logits + r * classes;
        int64_t expected = test->options.feature ? test->options.feature_channel
                           : test->top           ? top_class(row, classes)
                                                 : ((const int64_t *)set->targets.data)[r];
        double largest = 0.0;
        for (int64_t k = 0; k < classes; k++) largest = fmax(largest, fabs((double)row[k]));
        if (rows[r].target != expected) {
            printf("FAIL %s: row %lld explained target %lld, not %lld\n", label, (long long)r,
                   (long long)rows[r].target, (long long)expected);
            ok = 0;
        } else if (!test->options.feature &&
                   !(fabs((double)rows[r].score - (double)row[expected]) <= SCORE_TOLERANCE * largest)) {
            printf("FAIL %s: row %lld reports the score %.7g, the model gives %.7g\n", label, (long long)r,
                   (double)rows[r].score, (double)row[expected]);
            ok = 0;
        }
        if (!deltas) continue;
        /* delta, f(x), f(baseline): the delta is compared relative to the larger end. */
        const float *reference = (const float *)deltas->data + 3 * r;
        double scale = fmax(fabs((double)reference[1]), fabs((double)reference[2]));
        double allowed = (set->tolerance + test->ambiguity) * scale;
        double gap = fabs((double)rows[r].delta - (double)reference[0]);
        printf("  %s row %lld: delta %.4g, Captum's %.4g, |difference| / max(|f(x)|, |f(b)|) %.2e\n", label,
               (long long)r, (double)rows[r].delta, (double)reference[0], gap / scale);
        if (!(gap <= allowed)) {
            printf("FAIL %s: row %lld's delta %.7g differs from Captum's %.7g by more than %.3g\n", label,
                   (long long)r, (double)rows[r].delta, (double)reference[0], allowed);
            ok = 0;
        }
    }
    return ok;
}

/* One explanation of the fixture's inputs under a memory budget (0: the
 * default; a budget under what one row needs grows until it holds one);
 * writes the attributions into result (malloc'd data). */
static int explain_once(const reference_set *set, const test_case *test, size_t budget, const char *label,
                        illume_tensor *result, illume_explain_row *rows, illume_explain_report *report) {
    illume_explain_options options = test->options;
    options.max_memory = budget;
    illume_tensor row = set->inputs;
    row.dims[0] = 1;
    row.data = NULL;
    illume_explainer *explainer = NULL;
    illume_status status;
    while ((status = illume_explainer_create(set->context, set->model, &options, &row, &explainer)) ==
               ILLUME_ERROR_OUT_OF_MEMORY &&
           options.max_memory && options.max_memory < SIZE_MAX / 2)
        options.max_memory += options.max_memory / 2;
    if (status != ILLUME_OK) {
        printf("FAIL %s: explainer: %s\n", label, illume_last_error(set->context));
        return 0;
    }
    int64_t count = set->inputs.dims[0];
    int64_t *targets = malloc(sizeof(int64_t) * (size_t)count);
    illume_explainer_shape(explainer, count, result);
    result->data = malloc(illume_tensor_bytes(result) + 1);
    int ok = targets && result->data;
    if (!ok) printf("FAIL %s: out of memory\n", label);
    for (int64_t r = 0; ok && r < count; r++) targets[r] = test->top ? -1 : ((const int64_t *)set->targets.data)[r];
    if (ok && illume_explain(explainer, &set->inputs, targets, result, rows, report) != ILLUME_OK) {
        printf("FAIL %s: explain: %s\n", label, illume_last_error(set->context));
        ok = 0;
    }
    free(targets);
    illume_explainer_free(explainer);
    return ok;
}

static int same_shape(const illume_tensor *a, const illume_tensor *b) {
    if (a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return 1;
}

/* Returns 1 when the case agrees with Captum under both budgets, 0 when not, -1 on a fixture error. */
static int run_case(const reference_set *set, const test_case *test) {
    illume_tensor reference = {0}, deltas = {0};
    if (!read_fixture_file(set, test->name, ".npy", ILLUME_FLOAT32, &reference)) return -1;
    if (test->delta && !read_fixture_file(set, test->name, ".delta.npy", ILLUME_FLOAT32, &deltas)) {
        free(reference.data);
        return -1;
    }
    if (test->delta && (deltas.rank != 2 || deltas.dims[0] != set->inputs.dims[0] || deltas.dims[1] != 3)) {
        printf("ERROR %s.delta.npy: expected (%lld, 3)\n", test->name, (long long)set->inputs.dims[0]);
        free(reference.data);
        free(deltas.data);
        return -1;
    }
    int64_t count = set->inputs.dims[0];
    illume_explain_row *rows = calloc((size_t)count, sizeof *rows);
    int ok = rows != NULL;
    size_t budget = 0;
    int64_t first_batch = 0;
    /* The second run only where the first ran more than one row a pass. */
    for (int run = 0; ok && run < 2 && (run == 0 || first_batch > 1); run++) {
        char label[LINE_SIZE];
        snprintf(label, sizeof label, "%s (%s budget)", test->name, run == 0 ? "default" : "small");
        illume_tensor attributions = {0};
        illume_explain_report report;
        ok = explain_once(set, test, budget, label, &attributions, rows, &report);
        if (ok && !same_shape(&attributions, &reference)) {
            printf("FAIL %s: the attributions' shape differs from the reference's\n", label);
            ok = 0;
        }
        if (ok) {
            double ratio = relative_difference(attributions.data, reference.data, element_count(&reference));
            int agrees = ratio <= set->tolerance + test->ambiguity;
            printf("%s %s: max|illume - reference| / max|reference| = %.2e", agrees ? "ok  " : "FAIL", label, ratio);
            if (test->ambiguity > 0.0) printf(" (the reference's knife-edge ambiguity %.2e)", test->ambiguity);
            printf(", %lld rows a pass, %lld passes\n", (long long)report.batch_rows, (long long)report.passes);
            ok = agrees;
        }
        if (ok) ok = check_rows(set, test, label, rows, test->delta ? &deltas : NULL);
        if (ok && run == 1 && report.batch_rows >= first_batch) {
            printf("FAIL %s: a smaller memory budget still ran %lld rows a pass\n", label,
                   (long long)report.batch_rows);
            ok = 0;
        }
        first_batch = report.batch_rows;
        budget = report.peak_bytes / SMALL_BUDGET_DIVISOR;
        free(attributions.data);
    }
    free(rows);
    free(reference.data);
    free(deltas.data);
    return ok;
}

static int load_fixture(reference_set *set, const char *model) {
    char path[LINE_SIZE];
    snprintf(path, sizeof path, "%s/%s.onnx", set->directory, model);
    if (illume_model_load(set->context, path, &set->model) != ILLUME_OK) {
        printf("ERROR %s: %s\n", path, illume_last_error(set->context));
        return 0;
    }
    if (!read_fixture_file(set, model, ".input.npy", ILLUME_FLOAT32, &set->inputs) ||
        !read_fixture_file(set, model, ".targets.npy", ILLUME_INT64, &set->targets) ||
        !read_fixture_file(set, model, ".logits.npy", ILLUME_FLOAT32, &set->logits))
        return 0;
    int64_t count = set->inputs.dims[0];
    if (set->inputs.rank != 4 || count < 1 || set->targets.rank != 1 || set->targets.dims[0] != count ||
        set->logits.rank != 2 || set->logits.dims[0] != count) {
        printf("ERROR %s: inputs (N, C, H, W), targets (N) and logits (N, classes) do not fit together\n", model);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4 && !(argc == 6 && strcmp(argv[4], "--tolerance") == 0)) {
        fprintf(stderr, "usage: test_captum FIXTURES MODEL FAMILY [--tolerance T]\n");
        return 2;
    }
    reference_set set = {.directory = argv[1], .tolerance = DEFAULT_TOLERANCE};
    const char *model = argv[2], *family = argv[3];
    float tolerance = (float)DEFAULT_TOLERANCE;
    int values;
    if (argc == 6 && (parse_floats(argv[5], &tolerance, 1, &values) || tolerance < 0)) {
        fprintf(stderr, "test_captum: bad tolerance '%s'\n", argv[5]);
        return 2;
    }
    set.tolerance = tolerance;
    char path[LINE_SIZE];
    snprintf(path, sizeof path, "%s/manifest.txt", set.directory);
    FILE *manifest = fopen(path, "r");
    if (!manifest) {
        printf("ERROR cannot read %s\n", path);
        return 2;
    }
    set.context = illume_context_create();
    int status = set.context && load_fixture(&set, model) ? 0 : 2;
    int cases = 0, failed = 0;
    char line[LINE_SIZE];
    while (status == 0 && fgets(line, sizeof line, manifest)) {
        char *words[MAX_WORDS];
        int count = 0;
        for (char *word = strtok(line, " \t\r\n"); word && count < MAX_WORDS; word = strtok(NULL, " \t\r\n"))
            words[count++] = word;
        if (count == 0 || words[0][0] == '#' || count < 2 || strcmp(words[0], model) || strcmp(words[1], family))
            continue;
        test_case test;
        int result = parse_case(words + 2, count - 2, &test) ? run_case(&set, &test) : -1;
        if (result < 0) status = 2;
        cases++;
        failed += result == 0;
    }
    fclose(manifest);
    if (status == 0 && cases == 0) {
        printf("ERROR the manifest has no case for model %s, family %s\n", model, family);
        status = 2;
    }
    if (status == 0) {
        printf("%s %s: %d of %d cases agree with the reference within (%g + the knife-edge ambiguity) x max|reference|\n",
               model, family, cases - failed, cases, set.tolerance);
        status = failed ? 1 : 0;
    }
    free(set.inputs.data);
    free(set.targets.data);
    free(set.logits.data);
    illume_model_free(set.model);
    illume_context_destroy(set.context);
    return status;
}
