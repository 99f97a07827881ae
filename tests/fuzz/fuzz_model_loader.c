/* libFuzzer target for the model loader: any bytes given to
 * illume_model_load_from_memory must give a model or a status with a message.
 * A model that loads is inspected the way `illume info` does (inputs,
 * outputs, nodes, parameters) and its FLOPs are counted for a small input
 * shape, which runs shape inference and constant folding. The same bytes also
 * go through illume_model_inspect, the permissive loader `illume info` uses.
 * Built by -DILLUME_FUZZ=ON with clang; replay_regressions.c replays saved
 * inputs through the same function in every build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_scratch.h"
#include "illume.h"

/* Dimensions a fuzzed model may ask for when its FLOPs are counted: larger
 * ones make every input slow without reaching new code. */
#define FUZZ_DIMENSION_LIMIT 64
#define FUZZ_ELEMENT_LIMIT (1 << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int condition, const char *what, const illume_context *context) {
    if (condition) return;
    fprintf(stderr, "fuzz_model_loader: %s (last error: %s)\n", what, illume_last_error(context));
    abort();
}

static int is_status(illume_status status) {
    return status == ILLUME_OK || (status >= ILLUME_ERROR_INTERNAL && status <= ILLUME_ERROR_BACKEND &&
                                   status != 2);
}

/* Reads everything illume info would print; returns 0 when the input shapes are small and known. */
static int inspect(const illume_model *model, illume_tensor *shapes, int capacity) {
    int small = 1;
    int64_t elements_total = 0;
    for (int i = 0; i < illume_model_input_count(model); i++) {
        illume_value_info info;
        require(illume_model_input(model, i, &info) == ILLUME_OK && info.name, "an input has no info", NULL);
        if (i >= capacity || info.rank < 0) {
            small = 0;
            continue;
        }
        memset(&shapes[i], 0, sizeof shapes[i]);
        shapes[i].dtype = info.dtype;
        shapes[i].rank = info.rank;
        int64_t elements = 1;
        for (int d = 0; d < info.rank; d++) {
            shapes[i].dims[d] = info.dims[d] < 0 ? 1 : info.dims[d];
            if (shapes[i].dims[d] > FUZZ_DIMENSION_LIMIT) small = 0;
            else elements *= shapes[i].dims[d];
        }
        elements_total += elements;
    }
    for (int o = 0; o < illume_model_output_count(model); o++) {
        illume_value_info info;
        require(illume_model_output(model, o, &info) == ILLUME_OK && info.name, "an output has no info", NULL);
    }
    for (int n = 0; n < illume_model_node_count(model); n++) {
        illume_node_info node;
        require(illume_model_node(model, n, &node) == ILLUME_OK && node.name && node.op_type, "a node has no info",
                NULL);
    }
    for (int p = 0; p < illume_model_problem_count(model); p++)
        require(illume_model_problem(model, p) != NULL, "a problem has no message", NULL);
    require(illume_model_parameter_count(model) >= 0, "a negative parameter count", NULL);
    require(illume_model_producer(model) != NULL, "no producer string", NULL);
    (void)illume_model_opset(model);
    return small && elements_total <= FUZZ_ELEMENT_LIMIT && illume_model_input_count(model) <= capacity ? 0 : -1;
}

static void count_flops(illume_context *context, const illume_model *model) {
    illume_tensor shapes[16];
    if (inspect(model, shapes, 16) != 0) return;
    int64_t flops = -1;
    illume_status status = illume_model_flops(context, model, illume_model_input_count(model), shapes, &flops);
    require(is_status(status), "illume_model_flops returned an unknown status", context);
    if (status == ILLUME_OK) require(flops >= 0, "a negative FLOP count", context);
    else require(illume_last_error(context)[0] != '\0', "illume_model_flops failed without a message", context);
}

/* The permissive loader reads files: the bytes go through a file in the scratch folder. */
static void inspect_file(illume_context *context, const uint8_t *data, size_t size) {
    char path[4096];
    fuzz_scratch_write("model.onnx", data, size, path, sizeof path);
    illume_model *model = (illume_model *)1;
    illume_status status = illume_model_inspect(context, path, &model);
    require(is_status(status), "illume_model_inspect returned an unknown status", context);
    if (status != ILLUME_OK) {
        require(model == NULL, "illume_model_inspect failed but returned a model", context);
        require(illume_last_error(context)[0] != '\0', "illume_model_inspect failed without a message", context);
        return;
    }
    count_flops(context, model);
    illume_model_free(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    illume_context *context = illume_context_create();
    require(context != NULL, "no context", NULL);
    illume_model *model = (illume_model *)1;
    illume_status status = illume_model_load_from_memory(context, data, size, NULL, &model);
    require(is_status(status), "illume_model_load_from_memory returned an unknown status", context);
    if (status == ILLUME_OK) {
        require(model != NULL, "loaded without a model", context);
        require(illume_model_problem_count(model) == 0, "a strictly loaded model has problems", context);
        count_flops(context, model);
        illume_model_free(model);
    } else {
        require(model == NULL, "illume_model_load_from_memory failed but returned a model", context);
        require(illume_last_error(context)[0] != '\0', "illume_model_load_from_memory failed without a message",
                context);
    }
    inspect_file(context, data, size);
    illume_context_destroy(context);
    return 0;
}
