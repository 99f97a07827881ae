/* The library API on bad input, in one process: random buffers and damaged
 * copies of a valid model given to illume_model_load_from_memory thousands of
 * times, models with external data loaded from memory, and arguments that
 * break the API's rules. Every call must return the documented status with a
 * message, never crash, and (under AddressSanitizer) never leak.
 * Usage: api_robustness [MODEL_DIR]
 * Without MODEL_DIR only the checks that need no fixture run; MODEL_DIR is
 * where make_bad_models.py wrote its files (cnn.onnx, external/...). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "illume.h"
#include "mutation.h"

static int failures = 0;

#define CHECK(condition, ...)                                                                                          \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                                \
            printf(__VA_ARGS__);                                                                                       \
            printf("\n");                                                                                              \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

/* A failed call must leave no model behind and a message saying why. */
static void expect_failure(illume_context *context, illume_status status, illume_model *model, const char *what) {
    CHECK(status != ILLUME_OK, "%s: loaded", what);
    CHECK(model == NULL, "%s: failed but returned a model", what);
    CHECK(illume_last_error(context)[0] != '\0', "%s: failed (%s) without a message", what,
          illume_status_name(status));
}

static void random_buffers(void) {
    illume_context *context = illume_context_create();
    uint64_t state = 12345;
    unsigned char buffer[4096];
    int counts[9] = {0};
    for (int iteration = 0; iteration < 20000; iteration++) {
        size_t size = (size_t)(mutation_next(&state) % (iteration < 10000 ? 64 : sizeof buffer));
        mutation_random_bytes(&state, buffer, size);
        illume_model *model = NULL;
        illume_status status = illume_model_load_from_memory(context, buffer, size, NULL, &model);
        char what[64];
        snprintf(what, sizeof what, "random buffer %d (%zu bytes)", iteration, size);
        expect_failure(context, status, model, what);
        CHECK(status == ILLUME_ERROR_INVALID_MODEL || status == ILLUME_ERROR_UNSUPPORTED, "%s: status %s", what,
              illume_status_name(status));
        if ((unsigned)status < 9) counts[status]++;
        illume_model_free(model);
    }
    printf("random buffers: %d invalid, %d unsupported\n", counts[ILLUME_ERROR_INVALID_MODEL],
           counts[ILLUME_ERROR_UNSUPPORTED]);
    /* No context at all: the message is dropped, the status still comes back. */
    illume_model *model = NULL;
    CHECK(illume_model_load_from_memory(NULL, buffer, 100, NULL, &model) != ILLUME_OK && !model,
          "a NULL context loaded random bytes");
    illume_context_destroy(context);
}

static void bad_arguments(void) {
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_status status = illume_model_load(context, NULL, &model);
    expect_failure(context, status, model, "a NULL path");
    CHECK(status == ILLUME_ERROR_INVALID_INPUT, "a NULL path: %s", illume_status_name(status));
    status = illume_model_load(context, "/nonexistent/model.onnx", &model);
    expect_failure(context, status, model, "a missing file");
    CHECK(status == ILLUME_ERROR_IO, "a missing file: %s", illume_status_name(status));
    status = illume_model_load(context, "/", &model);
    expect_failure(context, status, model, "a directory");
    CHECK(status == ILLUME_ERROR_IO, "a directory: %s", illume_status_name(status));
    status = illume_model_inspect(context, "/", &model);
    CHECK(status == ILLUME_ERROR_IO && !model, "inspecting a directory: %s", illume_status_name(status));
    status = illume_model_load_from_memory(context, NULL, 10, NULL, &model);
    expect_failure(context, status, model, "NULL bytes");
    CHECK(status == ILLUME_ERROR_INVALID_INPUT, "NULL bytes: %s", illume_status_name(status));
    status = illume_model_load_from_memory(context, NULL, 0, NULL, &model);
    expect_failure(context, status, model, "no bytes");
    CHECK(status == ILLUME_ERROR_INVALID_MODEL, "no bytes: %s", illume_status_name(status));

    /* Accessors on no model answer "nothing" instead of crashing. */
    illume_value_info info;
    illume_node_info node;
    CHECK(illume_model_input_count(NULL) == 0 && illume_model_output_count(NULL) == 0, "counts of no model");
    CHECK(illume_model_input(NULL, 0, &info) == ILLUME_ERROR_INVALID_INPUT, "input of no model");
    CHECK(illume_model_output(NULL, 0, &info) == ILLUME_ERROR_INVALID_INPUT, "output of no model");
    CHECK(illume_model_node(NULL, 0, &node) == ILLUME_ERROR_INVALID_INPUT, "node of no model");
    CHECK(illume_model_problem(NULL, 0) == NULL && illume_model_problem_count(NULL) == 0, "problems of no model");
    CHECK(illume_model_parameter_count(NULL) == 0 && illume_model_node_count(NULL) == 0, "sizes of no model");
    CHECK(strcmp(illume_model_producer(NULL), "") == 0, "producer of no model");
    CHECK(strcmp(illume_last_error(NULL), "") == 0, "error of no context");
    CHECK(strcmp(illume_status_name((illume_status)99), "unknown status") == 0, "name of an unknown status");
    illume_session *session = NULL;
    status = illume_session_create(context, NULL, NULL, 0, NULL, &session);
    CHECK(status == ILLUME_ERROR_INVALID_INPUT && !session, "a session of no model: %s", illume_status_name(status));
    CHECK(illume_session_run(NULL, 0, NULL, 0, NULL) == ILLUME_ERROR_INVALID_INPUT, "running no session");
    CHECK(illume_session_output_count(NULL) == 0, "outputs of no session");
    illume_model_free(NULL);
    illume_session_free(NULL);
    illume_context_destroy(NULL);

    illume_tensor tensor = {.dtype = ILLUME_FLOAT32, .rank = ILLUME_MAX_RANK + 1};
    CHECK(illume_tensor_bytes(&tensor) == 0, "bytes of rank %d", tensor.rank);
    tensor.rank = -1;
    CHECK(illume_tensor_bytes(&tensor) == 0, "bytes of rank -1");
    tensor.rank = 2;
    tensor.dims[0] = tensor.dims[1] = (int64_t)1 << 40;
    CHECK(illume_tensor_bytes(&tensor) == 0, "bytes of 2^80 elements");
    tensor.dims[0] = -3;
    CHECK(illume_tensor_bytes(&tensor) == 0, "bytes of a negative dimension");
    CHECK(illume_tensor_bytes(NULL) == 0, "bytes of no tensor");
    illume_context_destroy(context);
}

static unsigned char *read_model(const char *directory, const char *name, size_t *size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    unsigned char *bytes = mutation_read_file(path, size);
    if (!bytes) {
        printf("FAIL: cannot read %s\n", path);
        failures++;
    }
    return bytes;
}

static illume_tensor cnn_shape(int64_t batch, int64_t channels) {
    illume_tensor shape = {.dtype = ILLUME_FLOAT32, .rank = 4, .dims = {batch, channels, 16, 16}};
    return shape;
}

#define EXERCISE_ELEMENT_LIMIT (1 << 20)

/* Loads, counts FLOPs, plans and runs a model that may be damaged, on its
 * declared input shapes (symbolic dimensions 1) filled with values from state;
 * returns the first failing status. outputs_finite tells whether every output
 * value of a run that succeeded is finite. Models whose inputs or outputs are
 * too large to be worth running are skipped (as ILLUME_ERROR_INVALID_INPUT). */
static illume_status exercise(illume_context *context, const unsigned char *bytes, size_t size, uint64_t *state,
                              int *outputs_finite) {
    enum { MAX_VALUES = 8 };
    illume_model *model = NULL;
    illume_session *session = NULL;
    illume_tensor inputs[MAX_VALUES], outputs[MAX_VALUES];
    memset(inputs, 0, sizeof inputs);
    memset(outputs, 0, sizeof outputs);
    *outputs_finite = 1;
    int skipped = 0;
    illume_status status = illume_model_load_from_memory(context, bytes, size, NULL, &model);
    if (status != ILLUME_OK) {
        CHECK(model == NULL && illume_last_error(context)[0], "a failed load left a model or no message");
        return status;
    }
    int input_count = illume_model_input_count(model), output_count = illume_model_output_count(model);
    int64_t flops;
    /* Only small, fully known inputs are run: damage that asks for more is skipped here, not refused by illume. */
    status = ILLUME_ERROR_INVALID_INPUT;
    skipped = 1;
    if (input_count > MAX_VALUES || output_count > MAX_VALUES) goto done;
    for (int i = 0; i < input_count; i++) {
        illume_value_info info;
        illume_model_input(model, i, &info);
        if (info.rank < 0) goto done;
        inputs[i].dtype = info.dtype;
        inputs[i].rank = info.rank;
        for (int d = 0; d < info.rank; d++) inputs[i].dims[d] = info.dims[d] < 0 ? 1 : info.dims[d];
        size_t bytes_needed = illume_tensor_bytes(&inputs[i]);
        if (bytes_needed > EXERCISE_ELEMENT_LIMIT * sizeof(float) || (info.rank > 0 && bytes_needed == 0 &&
                                                                       info.dims[0] != 0))
            goto done;
        inputs[i].data = malloc(bytes_needed + 8);
        if (!inputs[i].data) goto done;
        for (size_t k = 0; k < bytes_needed / 4; k++)
            if (info.dtype == ILLUME_FLOAT32)
                ((float *)inputs[i].data)[k] = (float)(mutation_next(state) % 2000) / 1000.0f - 1.0f;
            else
                ((int32_t *)inputs[i].data)[k] = 0; /* int64 zeros, written as int32 pairs */
    }
    skipped = 0;
    status = illume_model_flops(context, model, input_count, inputs, &flops);
    if (status != ILLUME_OK) goto done;
    CHECK(flops >= 0, "a negative FLOP count");
    status = illume_session_create(context, model, NULL, input_count, inputs, &session);
    if (status != ILLUME_OK) goto done;
    for (int o = 0; o < output_count; o++) {
        illume_value_info info;
        illume_session_output(session, o, &info);
        outputs[o].dtype = info.dtype;
        outputs[o].rank = info.rank;
        memcpy(outputs[o].dims, info.dims, sizeof outputs[o].dims);
        size_t bytes_needed = illume_tensor_bytes(&outputs[o]);
        status = ILLUME_ERROR_INVALID_INPUT;
        skipped = 1;
        if (bytes_needed > EXERCISE_ELEMENT_LIMIT * sizeof(float)) goto done;
        outputs[o].data = malloc(bytes_needed + 8);
        if (!outputs[o].data) goto done;
        skipped = 0;
    }
    status = illume_session_run(session, input_count, inputs, output_count, outputs);
    for (int o = 0; status == ILLUME_OK && o < output_count; o++) {
        if (outputs[o].dtype != ILLUME_FLOAT32) continue;
        for (size_t k = 0; k < illume_tensor_bytes(&outputs[o]) / sizeof(float); k++)
            if (!isfinite(((const float *)outputs[o].data)[k])) *outputs_finite = 0;
    }
done:
    if (status != ILLUME_OK && !skipped)
        CHECK(illume_last_error(context)[0], "failed (%s) without a message", illume_status_name(status));
    for (int i = 0; i < MAX_VALUES; i++) {
        free(inputs[i].data);
        free(outputs[i].data);
    }
    illume_session_free(session);
    illume_model_free(model);
    return status;
}

/* One valid model damaged many ways: it must run intact, refuse every
 * truncation, and take any bit flips with a documented status. */
static void damage(illume_context *context, const char *directory, const char *name, int flips, int *counts) {
    size_t size;
    unsigned char *model = read_model(directory, name, &size);
    unsigned char *copy = model ? malloc(size) : NULL;
    if (!copy) {
        free(model);
        return;
    }
    uint64_t state = 99;
    int finite;
    illume_status status = exercise(context, model, size, &state, &finite);
    CHECK(status == ILLUME_OK, "%s intact: %s", name, illume_last_error(context));
    CHECK(status != ILLUME_OK || finite, "%s intact: an output is not finite", name);

    /* Cut at every byte: never a model, always invalid or (cut right before the opsets) unsupported. */
    for (size_t cut = 0; cut < size; cut++) {
        illume_model *partial = NULL;
        status = illume_model_load_from_memory(context, model, cut, NULL, &partial);
        char what[128];
        snprintf(what, sizeof what, "%s cut at byte %zu of %zu", name, cut, size);
        expect_failure(context, status, partial, what);
        CHECK(status == ILLUME_ERROR_INVALID_MODEL || status == ILLUME_ERROR_UNSUPPORTED, "%s: %s", what,
              illume_status_name(status));
        illume_model_free(partial);
    }

    for (int seed = 1; seed <= flips; seed++) {
        state = (uint64_t)seed * 7919u;
        memcpy(copy, model, size);
        mutation_flip_bits(&state, copy, size, 1 + seed % 8);
        status = exercise(context, copy, size, &state, &finite);
        /* Out of memory is right for damage that asks for a huge tensor (a Resize to 2^40 pixels). */
        CHECK(status == ILLUME_OK || status == ILLUME_ERROR_INVALID_MODEL || status == ILLUME_ERROR_UNSUPPORTED ||
                  status == ILLUME_ERROR_INVALID_INPUT || status == ILLUME_ERROR_OUT_OF_MEMORY,
              "%s with bit flips of seed %d: %s (%s)", name, seed, illume_status_name(status),
              illume_last_error(context));
        if ((unsigned)status < 9) counts[status]++;
    }
    free(copy);
    free(model);
}

static void damaged_copies(const char *directory) {
    static const char *const seeds[] = {
        "activations", "add_broadcast", "batchnorm", "concat_split", "constant_cast", "constant_of_shape",
        "conv_strided", "conv_transpose", "gather_rows", "gemm", "matmul", "old_opset_pool", "pad_slice", "pools",
        "prelu", "reduce_mean", "resize_linear", "resize_nearest_sizes", "shape_chain", "softmaxes",
        "squeeze_unsqueeze", "sub_mul_div", "transpose_flatten"};
    illume_context *context = illume_context_create();
    int counts[9] = {0};
    damage(context, directory, "cnn.onnx", 4000, counts);
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/seeds", directory);
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        char name[64];
        snprintf(name, sizeof name, "%s.onnx", seeds[s]);
        damage(context, folder, name, 600, counts);
    }
    printf("bit flips: %d ran, %d invalid, %d unsupported, %d refused or skipped the input, %d out of memory\n",
           counts[0], counts[4], counts[5], counts[6], counts[7]);
    illume_context_destroy(context);
}

/* Sessions refuse inputs that do not fit and runs refuse tensors that differ from the session's. */
static void session_misuse(const char *directory) {
    illume_context *context = illume_context_create();
    char path[4096];
    snprintf(path, sizeof path, "%s/cnn.onnx", directory);
    illume_model *model = NULL;
    if (illume_model_load(context, path, &model) != ILLUME_OK) {
        CHECK(0, "cannot load %s: %s", path, illume_last_error(context));
        illume_context_destroy(context);
        return;
    }
    illume_session *session = NULL;
    illume_tensor shapes[2] = {cnn_shape(1, 3), cnn_shape(1, 3)};
    struct {
        const char *what;
        int count;
        illume_tensor shape;
        illume_status expected;
    } cases[] = {
        {"no inputs", 0, cnn_shape(1, 3), ILLUME_ERROR_INVALID_INPUT},
        {"two inputs", 2, cnn_shape(1, 3), ILLUME_ERROR_INVALID_INPUT},
        {"four channels", 1, cnn_shape(1, 4), ILLUME_ERROR_INVALID_INPUT},
        {"a negative batch", 1, cnn_shape(-2, 3), ILLUME_ERROR_INVALID_INPUT},
        {"int64 data", 1, {.dtype = ILLUME_INT64, .rank = 4, .dims = {1, 3, 16, 16}}, ILLUME_ERROR_INVALID_INPUT},
        {"rank 3", 1, {.dtype = ILLUME_FLOAT32, .rank = 3, .dims = {3, 16, 16}}, ILLUME_ERROR_INVALID_INPUT},
        {"rank 9", 1, {.dtype = ILLUME_FLOAT32, .rank = 9, .dims = {1, 3, 16, 16}}, ILLUME_ERROR_INVALID_INPUT},
        {"a batch whose bytes overflow", 1, cnn_shape((int64_t)1 << 60, 3), ILLUME_ERROR_INVALID_INPUT},
        {"a batch too large for memory", 1, cnn_shape((int64_t)1 << 36, 3), ILLUME_ERROR_OUT_OF_MEMORY},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        shapes[0] = cases[c].shape;
        illume_status status = illume_session_create(context, model, NULL, cases[c].count, shapes, &session);
        CHECK(status == cases[c].expected && !session && illume_last_error(context)[0],
              "a session for %s: %s (%s), expected %s", cases[c].what, illume_status_name(status),
              illume_last_error(context), illume_status_name(cases[c].expected));
        illume_session_free(session);
        session = NULL;
    }
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = "abacus";
    shapes[0] = cnn_shape(2, 3);
    illume_status status = illume_session_create(context, model, &options, 1, shapes, &session);
    CHECK(status == ILLUME_ERROR_INVALID_INPUT && !session, "device 'abacus': %s", illume_status_name(status));
    illume_session_free(session);
    session = NULL;

    status = illume_session_create(context, model, NULL, 1, shapes, &session);
    CHECK(status == ILLUME_OK, "a session for batch 2: %s", illume_last_error(context));
    if (session) {
        static float input[2 * 3 * 16 * 16], output[2 * 10];
        illume_tensor in = cnn_shape(2, 3), out = {.dtype = ILLUME_FLOAT32, .rank = 2, .dims = {2, 10}};
        in.data = input;
        out.data = output;
        illume_tensor wrong_in = cnn_shape(1, 3), wrong_out = out, empty_in = in;
        wrong_in.data = input;
        wrong_out.dims[1] = 11;
        empty_in.data = NULL;
        CHECK(illume_session_run(session, 1, &wrong_in, 1, &out) == ILLUME_ERROR_INVALID_INPUT, "running batch 1");
        CHECK(illume_session_run(session, 1, &in, 1, &wrong_out) == ILLUME_ERROR_INVALID_INPUT, "11 output columns");
        CHECK(illume_session_run(session, 1, &empty_in, 1, &out) == ILLUME_ERROR_INVALID_INPUT, "input without data");
        CHECK(illume_session_run(session, 0, &in, 1, &out) == ILLUME_ERROR_INVALID_INPUT, "no inputs");
        CHECK(illume_session_run(session, 1, &in, 2, &out) == ILLUME_ERROR_INVALID_INPUT, "two outputs");
        CHECK(illume_session_run(session, 1, &in, 1, &out) == ILLUME_OK, "a good run: %s", illume_last_error(context));
    }
    illume_session_free(session);
    illume_model_free(model);
    illume_context_destroy(context);
}

/* External data: refused from memory without a folder, confined to the folder given. */
static void external_data(const char *directory) {
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/external", directory);
    struct {
        const char *file;
        const char *base;
        illume_status expected;
    } cases[] = {
        {"ok.onnx", folder, ILLUME_OK},
        {"ok.onnx", NULL, ILLUME_ERROR_INVALID_MODEL},
        {"parent.onnx", folder, ILLUME_ERROR_INVALID_MODEL},
        {"absolute.onnx", folder, ILLUME_ERROR_INVALID_MODEL},
        {"outside_link.onnx", folder, ILLUME_ERROR_INVALID_MODEL},
        {"short.onnx", folder, ILLUME_ERROR_INVALID_MODEL},
        {"missing.onnx", folder, ILLUME_ERROR_IO},
        {"missing.onnx", "/nonexistent", ILLUME_ERROR_IO},
    };
    illume_context *context = illume_context_create();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t size;
        unsigned char *bytes = read_model(folder, cases[c].file, &size);
        if (!bytes) continue;
        illume_model *model = NULL;
        illume_status status = illume_model_load_from_memory(context, bytes, size, cases[c].base, &model);
        CHECK(status == cases[c].expected, "%s from memory with folder %s: %s (%s), expected %s", cases[c].file,
              cases[c].base ? cases[c].base : "NULL", illume_status_name(status), illume_last_error(context),
              illume_status_name(cases[c].expected));
        if (status != ILLUME_OK) expect_failure(context, status, model, cases[c].file);
        illume_model_free(model);
        free(bytes);
    }
    illume_context_destroy(context);
}

int main(int argc, char **argv) {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ILLUME_UNDER_ASAN 1
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(ILLUME_UNDER_ASAN)
    /* Damaged models may ask for huge tensors; where the machine would hand them
     * out lazily, this makes such requests fail as they do on a small machine.
     * (AddressSanitizer builds cap allocations through ASAN_OPTIONS instead.) */
    struct rlimit limit = {(rlim_t)16 << 30, (rlim_t)16 << 30};
    setrlimit(RLIMIT_AS, &limit);
#endif
    random_buffers();
    bad_arguments();
    if (argc > 1) {
        damaged_copies(argv[1]);
        session_misuse(argv[1]);
        external_data(argv[1]);
    }
    if (failures) printf("%d failures\n", failures);
    else printf("all checks passed\n");
    return failures ? 1 : 0;
}
