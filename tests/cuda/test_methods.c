/* test_cuda_methods (label gpu): whole models on the CUDA backend against
 * the CPU backend through the public API.
 *
 *   test_cuda_methods [--methods a,b,c] MODEL.onnx... | DIRECTORY
 *
 * For each model (every .onnx file of DIRECTORY when given one), on a
 * random batch of two images of the model's input shape (symbolic or
 * unknown dimensions taken as 1, the batch as 2): the forward outputs, then
 * every explanation method with small step and sample counts, on both
 * backends. Outputs agree within 1e-4 and attributions within 1e-3 of the
 * largest CPU magnitude; both backends explain the same targets, and
 * SmoothGrad's noise (Philox, seeded) is the same on both, so its maps agree
 * like every other. A method the model cannot take (occlusion without an
 * image, Grad-CAM without a layer) must fail alike on both.
 * Without a CUDA device it reports skipped (exit code 77). With
 * ILLUME_TEST_DEVICE=cpu it compares the CPU with itself, which checks this
 * test (and that the methods repeat exactly) where no GPU is. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comparison.h"
#include "illume.h"

#define SKIPPED 77
#define ROWS 2
#define OUTPUT_TOLERANCE 1e-4
#define ATTRIBUTION_TOLERANCE 1e-3

static int failures, cases;
/* The device compared with the CPU: CUDA, or ILLUME_TEST_DEVICE (cpu checks this test itself). */
static const char *device = "cuda";
static int methods[ILLUME_METHOD_COUNT]; /* the methods compared */

static void expect_close(const char *model, const char *what, const float *got, const float *want, int64_t count,
                         double tolerance) {
    cases++;
    double difference = relative_difference(got, want, count);
    if (!(difference <= tolerance)) {
        failures++;
        printf("FAIL %s, %s: %s differs from the CPU by %.3g of the largest magnitude\n", model, what, device,
               difference);
    }
}

static void fail(const char *model, const char *what, const char *why) {
    cases++;
    failures++;
    printf("FAIL %s, %s: %s\n", model, what, why);
}

static int64_t element_count(const illume_tensor *tensor) {
    int64_t count = 1;
    for (int d = 0; d < tensor->rank; d++) count *= tensor->dims[d];
    return count;
}

/* The first output of one forward pass on device, into a buffer the caller frees; NULL on failure. */
static float *forward(illume_context *context, const illume_model *model, const char *device,
                      const illume_tensor *input, int64_t *count) {
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = device;
    illume_session *session = NULL;
    if (illume_session_create(context, model, &options, 1, input, &session) != ILLUME_OK) return NULL;
    int output_count = illume_session_output_count(session);
    illume_tensor outputs[8];
    float *first = NULL;
    illume_status status = output_count <= 8 ? ILLUME_OK : ILLUME_ERROR_UNSUPPORTED;
    for (int o = 0; status == ILLUME_OK && o < output_count; o++) {
        illume_value_info info;
        illume_session_output(session, o, &info);
        outputs[o] = (illume_tensor){.dtype = info.dtype, .rank = info.rank};
        memcpy(outputs[o].dims, info.dims, sizeof outputs[o].dims);
        outputs[o].data = malloc(illume_tensor_bytes(&outputs[o]) + 1);
    }
    if (status == ILLUME_OK) status = illume_session_run(session, 1, input, output_count, outputs);
    for (int o = 0; o < output_count && o < 8; o++) {
        if (o == 0 && status == ILLUME_OK) {
            first = outputs[0].data;
            *count = element_count(&outputs[0]);
        } else {
            free(outputs[o].data);
        }
    }
    illume_session_free(session);
    return first;
}

/* The attributions of one method on device; NULL when it fails (its error in context). */
static float *explain(illume_context *context, const illume_model *model, illume_method method, const char *device,
                      const illume_tensor *input, int64_t *count, int64_t *targets) {
    illume_explain_options options;
    illume_explain_options_default(&options);
    options.method = method;
    options.device = device;
    options.steps = 8;
    options.samples = 4;
    options.seed = 2026;
    illume_tensor row = *input;
    row.dims[0] = 1;
    row.data = NULL;
    illume_explainer *explainer = NULL;
    if (illume_explainer_create(context, model, &options, &row, &explainer) != ILLUME_OK) return NULL;
    illume_tensor attributions;
    illume_explainer_shape(explainer, ROWS, &attributions);
    attributions.data = malloc(illume_tensor_bytes(&attributions) + 1);
    illume_explain_row rows[ROWS];
    illume_status status = illume_explain(explainer, input, NULL, &attributions, rows, NULL);
    illume_explainer_free(explainer);
    if (status != ILLUME_OK) {
        free(attributions.data);
        return NULL;
    }
    for (int r = 0; r < ROWS; r++) targets[r] = rows[r].target;
    *count = element_count(&attributions);
    return attributions.data;
}

static void compare_model(const char *path) {
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    if (illume_model_load(context, path, &model) != ILLUME_OK) {
        fail(path, "loading", illume_last_error(context));
        illume_context_destroy(context);
        return;
    }
    illume_value_info info;
    illume_model_input(model, 0, &info);
    illume_tensor input = {.dtype = ILLUME_FLOAT32, .rank = info.rank};
    for (int d = 0; d < info.rank; d++) input.dims[d] = d == 0 ? ROWS : (info.dims[d] > 0 ? info.dims[d] : 1);
    int64_t elements = element_count(&input);
    float *data = malloc(sizeof(float) * (size_t)elements);
    uint64_t state = 0x9E3779B97F4A7C15ull;
    random_fill(data, elements, &state);
    input.data = data;

    int64_t cpu_count = 0, gpu_count = 0;
    float *want = forward(context, model, "cpu", &input, &cpu_count);
    float *got = want ? forward(context, model, device, &input, &gpu_count) : NULL;
    if (got && gpu_count == cpu_count) expect_close(path, "forward", got, want, cpu_count, OUTPUT_TOLERANCE);
    else fail(path, "forward", illume_last_error(context));
    free(want);
    free(got);

    for (int m = 0; m < ILLUME_METHOD_COUNT; m++) {
        if (!methods[m]) continue;
        int64_t cpu_targets[ROWS] = {0}, gpu_targets[ROWS] = {0};
        want = explain(context, model, (illume_method)m, "cpu", &input, &cpu_count, cpu_targets);
        char cpu_error[512];
        snprintf(cpu_error, sizeof cpu_error, "%s", want ? "" : illume_last_error(context));
        got = explain(context, model, (illume_method)m, device, &input, &gpu_count, gpu_targets);
        const char *name = illume_method_name((illume_method)m);
        if (!want && !got)
            printf("skipped %s, %s: the model does not take it (%s)\n", path, name, cpu_error);
        else if (!want || !got || gpu_count != cpu_count)
            fail(path, name, want ? illume_last_error(context) : cpu_error);
        else if (memcmp(cpu_targets, gpu_targets, sizeof cpu_targets) != 0)
            fail(path, name, "the backends explain different targets");
        else
            expect_close(path, name, got, want, cpu_count, ATTRIBUTION_TOLERANCE);
        free(want);
        free(got);
    }
    free(data);
    illume_model_free(model);
    illume_context_destroy(context);
}

static int ends_with(const char *text, const char *end) {
    size_t length = strlen(text), end_length = strlen(end);
    return length >= end_length && strcmp(text + length - end_length, end) == 0;
}

/* --methods a,b,c: only those; every method otherwise. */
static int choose_methods(const char *list) {
    if (!list) {
        for (int m = 0; m < ILLUME_METHOD_COUNT; m++) methods[m] = 1;
        return 1;
    }
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *name = strtok(copy, ","); name; name = strtok(NULL, ",")) {
        illume_method method;
        if (illume_method_from_name(name, &method) != ILLUME_OK) {
            fprintf(stderr, "test_cuda_methods: unknown method '%s'\n", name);
            return 0;
        }
        methods[method] = 1;
    }
    return 1;
}

int main(int argc, char **argv) {
    int first = 1;
    const char *list = NULL;
    if (argc > 2 && strcmp(argv[1], "--methods") == 0) {
        list = argv[2];
        first = 3;
    }
    if (argc <= first || !choose_methods(list)) {
        fprintf(stderr, "usage: test_cuda_methods [--methods a,b,c] MODEL.onnx... | DIRECTORY\n");
        return 2;
    }
    if (getenv("ILLUME_TEST_DEVICE")) device = getenv("ILLUME_TEST_DEVICE");
    if (strncmp(device, "cuda", 4) == 0 && (!illume_has_cuda() || illume_cuda_devices() < 1)) {
        printf("SKIP no CUDA device: the CUDA backend cannot be compared\n");
        return SKIPPED;
    }
    for (int a = first; a < argc; a++) {
        if (ends_with(argv[a], ".onnx")) {
            compare_model(argv[a]);
            continue;
        }
        DIR *directory = opendir(argv[a]);
        if (!directory) {
            fail(argv[a], "opening", "not a model nor a folder (the zoo tests export the zoo's models)");
            continue;
        }
        for (struct dirent *entry; (entry = readdir(directory));) {
            if (!ends_with(entry->d_name, ".onnx")) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], entry->d_name);
            compare_model(path);
        }
        closedir(directory);
    }
    printf("cuda/gpu_methods: %d cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
