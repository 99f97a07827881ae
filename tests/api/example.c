/* The example program of docs/api.md: loads a model, runs it on one input,
 * and explains that input's top class with two methods.
 *
 *   example MODEL.onnx INPUT.npy [EXPECTED.npy]
 *
 * INPUT.npy: a float32 array of the model's input shape with a batch of one;
 * EXPECTED.npy: the model's first output for it (ONNX Runtime's, say).
 * The program checks what it can: the output against EXPECTED.npy, when
 * given; each explanation's target and score against the run's output; the
 * attributions' shape (the input's) and that every one is finite. It exits
 * with 0 when all of that holds, 1 when something fails, 2 on bad usage. */
#include <illume.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints what failed, with illume's message, and says whether it failed. */
static int failed(illume_context *context, illume_status status, const char *what) {
    if (status == ILLUME_OK) return 0;
    fprintf(stderr, "%s: %s: %s\n", what, illume_status_name(status), illume_last_error(context));
    return 1;
}

/* Reads a .npy file of float32, little-endian and in C order (NumPy's
 * format 1.0, which NumPy writes for such small arrays) into tensor, whose
 * data the caller frees. Returns 0 on success. */
static int read_npy(const char *path, illume_tensor *tensor) {
    FILE *file = fopen(path, "rb");
    unsigned char start[10];
    char header[1024] = "";
    int ok = file && fread(start, 1, sizeof start, file) == sizeof start && memcmp(start, "\x93NUMPY\x01", 7) == 0;
    size_t header_size = ok ? (size_t)start[8] | (size_t)start[9] << 8 : 0;
    ok = ok && header_size < sizeof header && fread(header, 1, header_size, file) == header_size &&
         strstr(header, "'descr': '<f4'") && strstr(header, "'fortran_order': False") && strstr(header, "'shape': (");
    *tensor = (illume_tensor){.dtype = ILLUME_FLOAT32};
    for (char *dims = ok ? strstr(header, "'shape': (") + 10 : NULL; ok && *dims != ')'; dims += strspn(dims, ", ")) {
        char *end;
        long long dim = strtoll(dims, &end, 10);
        ok = end != dims && dim >= 0 && tensor->rank < ILLUME_MAX_RANK;
        if (ok) tensor->dims[tensor->rank++] = dim;
        dims = end;
    }
    size_t bytes = ok ? illume_tensor_bytes(tensor) : 0;
    tensor->data = bytes ? malloc(bytes) : NULL;
    ok = tensor->data && fread(tensor->data, 1, bytes, file) == bytes;
    if (file) fclose(file);
    if (!ok) fprintf(stderr, "%s: not a .npy file of float32 in C order, or empty\n", path);
    return !ok;
}

static int64_t element_count(const illume_tensor *tensor) {
    return (int64_t)(illume_tensor_bytes(tensor) / sizeof(float));
}

/* Runs the model on input and writes its first output into output, whose
 * data the caller frees. */
static int run(illume_context *context, const illume_model *model, const illume_tensor *input, illume_tensor *output) {
    /* Option structs are made by their _default macro, never zeroed: it sets
     * their size, which the library checks (docs/api.md, "Option structs and
     * binary compatibility"). */
    illume_session_options options;
    illume_session_options_default(&options);
    illume_session *session = NULL;
    if (failed(context, illume_session_create(context, model, &options, 1, input, &session), "making a session"))
        return 1;
    /* A buffer for every output: the session writes them all. */
    int count = illume_session_output_count(session);
    illume_tensor *outputs = calloc((size_t)count, sizeof *outputs);
    int status = outputs == NULL;
    for (int k = 0; !status && k < count; k++) {
        illume_value_info info;
        illume_session_output(session, k, &info); /* fails only on an index out of range */
        outputs[k] = (illume_tensor){.dtype = info.dtype, .rank = info.rank};
        memcpy(outputs[k].dims, info.dims, sizeof info.dims);
        outputs[k].data = malloc(illume_tensor_bytes(&outputs[k]));
        status = outputs[k].data == NULL;
    }
    if (!status) status = failed(context, illume_session_run(session, 1, input, count, outputs), "running");
    for (int k = 1; outputs && k < count; k++) free(outputs[k].data);
    if (!status) *output = outputs[0];
    else if (outputs) free(outputs[0].data);
    free(outputs);
    illume_session_free(session);
    return status;
}

/* NumPy's allclose in spirit: max |actual - expected| at most 1e-4 of max |expected|. */
static int matches(const illume_tensor *actual, const illume_tensor *expected) {
    if (actual->rank != expected->rank || memcmp(actual->dims, expected->dims, sizeof(int64_t) * (size_t)actual->rank))
        return 0;
    const float *a = actual->data, *e = expected->data;
    double largest_difference = 0, largest = 0;
    for (int64_t i = 0; i < element_count(actual); i++) {
        largest_difference = fmax(largest_difference, fabs((double)a[i] - e[i]));
        largest = fmax(largest, fabs((double)e[i]));
    }
    printf("output: largest difference from the expected %.3g (largest value %.3g)\n", largest_difference, largest);
    return largest_difference <= 1e-4 * largest;
}

/* Explains input for its top class (target -1) with the method called
 * `name`, at the score given (for a model that ends in a Softmax: the logit
 * or the probability); top and top_score are the class and the output the
 * run found. */
static int explain(illume_context *context, const illume_model *model, const illume_tensor *input, const char *name,
                   illume_score score, int64_t top, float top_score) {
    illume_explain_options options;
    illume_explain_options_default(&options);
    options.score = score;
    if (illume_method_from_name(name, &options.method) != ILLUME_OK) {
        fprintf(stderr, "no method '%s'\n", name);
        return 1;
    }
    illume_method_info info;
    if (failed(context, illume_method_describe(options.method, &options, &info), "describing the method")) return 1;
    printf("%s: %s\n", info.name, info.help);

    /* An explainer is made for one row's shape and explains any number of rows of it. */
    illume_explainer *explainer = NULL;
    if (failed(context, illume_explainer_create(context, model, &options, input, &explainer), "making an explainer"))
        return 1;
    illume_tensor attributions;
    int status = failed(context, illume_explainer_shape(explainer, 1, &attributions), "asking the shape");
    attributions.data = status ? NULL : malloc(illume_tensor_bytes(&attributions));
    int64_t target = -1;
    illume_explain_row row;
    illume_explain_report report;
    status = status || attributions.data == NULL ||
             failed(context, illume_explain(explainer, input, &target, &attributions, &row, &report), "explaining");
    if (!status) {
        printf("  class %lld, %s %.4f", (long long)row.target, illume_explainer_score(explainer), row.score);
        if (info.has_delta) printf(", completeness delta %.3g", row.delta);
        printf("; %.3f s, passes %lld, rows a pass %lld\n", report.seconds, (long long)report.passes,
               (long long)report.batch_rows);
        int64_t nonfinite = 0;
        double total = 0;
        for (int64_t i = 0; i < element_count(&attributions); i++) {
            float value = ((const float *)attributions.data)[i];
            nonfinite += !isfinite(value);
            total += fabs(value);
        }
        printf("  sum of |attributions| %.4g\n", total);
        if (attributions.rank != input->rank ||
            memcmp(attributions.dims, input->dims, sizeof(int64_t) * (size_t)input->rank) != 0) {
            fprintf(stderr, "%s: the attributions are not of the input's shape\n", name);
            status = 1;
        }
        if (nonfinite > 0 || total == 0) {
            fprintf(stderr, "%s: %lld attributions are not finite, or all are zero\n", name, (long long)nonfinite);
            status = 1;
        }
        /* Every score but the logit, the input of a final Softmax, is the model's output. */
        int output_score = strcmp(illume_explainer_score(explainer), "logit") != 0;
        if (row.target != top || (output_score && fabsf(row.score - top_score) > 1e-4f * fmaxf(1, fabsf(top_score)))) {
            fprintf(stderr, "%s: explained class %lld (score %g), the run's top class is %lld (output %g)\n", name,
                    (long long)row.target, row.score, (long long)top, top_score);
            status = 1;
        }
    }
    free(attributions.data);
    illume_explainer_free(explainer);
    return status;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: example MODEL.onnx INPUT.npy [EXPECTED.npy]\n");
        return 2;
    }
    /* The library must know everything this program's illume.h declares. */
    if (illume_api_version() < ILLUME_API_VERSION) {
        fprintf(stderr, "libillume %s has API version %d; this program needs %d\n", illume_version(),
                illume_api_version(), ILLUME_API_VERSION);
        return 1;
    }
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_tensor input = {0}, output = {0}, expected = {0};
    int status = context == NULL || failed(context, illume_model_load(context, argv[1], &model), "loading the model");
    if (!status && illume_model_input_count(model) != 1) {
        fprintf(stderr, "this example runs models of one input\n");
        status = 1;
    }
    if (!status) {
        illume_value_info info;
        illume_model_input(model, 0, &info);
        printf("model %s: opset %d, %lld parameters, input '%s' of rank %d\n", argv[1], illume_model_opset(model),
               (long long)illume_model_parameter_count(model), info.name, info.rank);
    }
    status = status || read_npy(argv[2], &input) || run(context, model, &input, &output);
    if (!status && argc == 4) {
        status = read_npy(argv[3], &expected);
        if (!status && !matches(&output, &expected)) {
            fprintf(stderr, "the output does not match %s\n", argv[3]);
            status = 1;
        }
    }
    /* The top class: the output of a classifier, (1, classes). */
    int64_t top = 0;
    const float *scores = output.data;
    for (int64_t c = 1; !status && c < element_count(&output); c++)
        if (scores[c] > scores[top]) top = c;
    if (!status) printf("top class %lld, output %.4f\n", (long long)top, scores[top]);
    /* Two methods: integrated gradients of the probability, whose rows report
     * a completeness delta, and LRP with its default composite of rules,
     * whose relevance starts at the logit. */
    status = status || explain(context, model, &input, "ig", ILLUME_SCORE_PROBABILITY, top, scores[top]);
    status = status || explain(context, model, &input, "lrp", ILLUME_SCORE_LOGIT, top, scores[top]);
    free(input.data);
    free(output.data);
    free(expected.data);
    illume_model_free(model);
    illume_context_destroy(context);
    printf("%s\n", status ? "FAILED" : "ok");
    return status;
}
