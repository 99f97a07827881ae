/* Runs one ONNX backend node test: loads TEST_DIR/model.onnx, feeds the
 * inputs of every TEST_DIR/test_data_set_N and compares each output with the
 * expected one (serialized TensorProto files).
 *
 * The first input stays a runtime input when it is float; every other input
 * becomes a constant of the model, because illume computes integer data
 * (shapes, axes, pads) only when it is known at session creation.
 * Floats match when |actual - expected| <= ATOL + RTOL * |expected|; integers
 * and shapes must match exactly.
 *
 * Usage: node_test TEST_DIR        run the test; exit 0 when every output matches
 *        node_test --ops           list the ops illume runs, one per line
 *        node_test --op-versions   list the opsets illume imports and those
 *                                  that define each op and its parts
 * On the device ILLUME_TEST_DEVICE names (default cpu); exit 77 when that is
 * CUDA and no CUDA device is visible. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "illume.h"
#include "onnx.pb-c.h"
#include "onnx_import.h"
#include "op.h"
#include "tensor_data.h"

#define RTOL 1e-3
#define ATOL 1e-5
#define MAX_TENSORS 64
#define MAX_REPORTED_MISMATCHES 10
#define MAX_FILE_BYTES ((size_t)1 << 30)

/* The device the test runs on: the CPU, or ILLUME_TEST_DEVICE (cuda for the gpu label). */
static const char *test_device(void) {
    const char *device = getenv("ILLUME_TEST_DEVICE");
    return device ? device : "cpu";
}

enum { ONNX_UINT16 = 4, ONNX_BFLOAT16 = 16 };

typedef struct named_tensor {
    char *name;
    decoded_tensor tensor;
} named_tensor;

/* The element type the model declares for a graph input or output, 0 when unknown. */
static int32_t declared_type(const Onnx__ModelProto *model, const char *name) {
    const Onnx__GraphProto *graph = model->graph;
    for (int side = 0; graph && side < 2; side++) {
        size_t count = side ? graph->n_output : graph->n_input;
        Onnx__ValueInfoProto **values = side ? graph->output : graph->input;
        for (size_t i = 0; i < count; i++)
            if (values[i]->name && strcmp(values[i]->name, name) == 0 && values[i]->type &&
                values[i]->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
                return values[i]->type->tensor_type->elem_type;
    }
    return 0;
}

static int file_exists(const char *path) {
    struct stat info;
    return stat(path, &info) == 0;
}

static int64_t element_count(const decoded_tensor *tensor) {
    int64_t count = 1;
    for (int d = 0; d < tensor->rank; d++) count *= tensor->dims[d];
    return count;
}

static void format_shape(int rank, const int64_t *dims, char *buffer, size_t size) {
    size_t used = (size_t)snprintf(buffer, size, "[");
    for (int d = 0; d < rank && used < size; d++)
        used += (size_t)snprintf(buffer + used, size - used, "%s%lld", d ? ", " : "", (long long)dims[d]);
    if (used < size) snprintf(buffer + used, size - used, "]");
}

/* Reads a serialized TensorProto; returns 0 on success. */
static int read_tensor(illume_context *context, const Onnx__ModelProto *declared, const char *path,
                       named_tensor *result) {
    memset(result, 0, sizeof *result);
    unsigned char *bytes = NULL;
    size_t size = 0;
    if (read_file(context, path, MAX_FILE_BYTES, &bytes, &size) != ILLUME_OK) {
        fprintf(stderr, "error: %s\n", illume_last_error(context));
        return -1;
    }
    Onnx__TensorProto *proto = onnx__tensor_proto__unpack(NULL, size, bytes);
    free(bytes);
    if (!proto) {
        fprintf(stderr, "error: '%s' is not a serialized TensorProto\n", path);
        return -1;
    }
    /* numpy has no bfloat16: the test data holds its bits as uint16 where the model says bfloat16. */
    if (proto->data_type == ONNX_UINT16 && proto->name && declared_type(declared, proto->name) == ONNX_BFLOAT16)
        proto->data_type = ONNX_BFLOAT16;
    int failed = 0;
    if (tensor_data_decode(context, proto, NULL, path, &result->tensor) != ILLUME_OK) {
        fprintf(stderr, "error: %s\n", illume_last_error(context));
        failed = -1;
    } else {
        result->name = strdup(proto->name ? proto->name : "");
        if (!result->name) {
            fprintf(stderr, "error: out of memory\n");
            free(result->tensor.data);
            result->tensor.data = NULL;
            failed = -1;
        }
    }
    onnx__tensor_proto__free_unpacked(proto, NULL);
    return failed;
}

static void free_tensors(named_tensor *tensors, int count) {
    for (int i = 0; i < count; i++) {
        free(tensors[i].name);
        free(tensors[i].tensor.data);
    }
}

/* Reads PREFIX_0.pb, PREFIX_1.pb, ... from folder; returns the count or -1. */
static int read_tensors(illume_context *context, const Onnx__ModelProto *declared, const char *folder,
                        const char *prefix, named_tensor *tensors) {
    int count = 0;
    for (;; count++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s_%d.pb", folder, prefix, count);
        if (!file_exists(path)) break;
        if (count == MAX_TENSORS) {
            fprintf(stderr, "error: %s holds more than %d %s files\n", folder, MAX_TENSORS, prefix);
            free_tensors(tensors, count);
            return -1;
        }
        if (read_tensor(context, declared, path, &tensors[count])) {
            free_tensors(tensors, count);
            return -1;
        }
    }
    return count;
}

static illume_tensor as_illume_tensor(const decoded_tensor *tensor) {
    illume_tensor result;
    memset(&result, 0, sizeof result);
    result.dtype = tensor->dtype;
    result.rank = tensor->rank;
    memcpy(result.dims, tensor->dims, sizeof result.dims);
    result.data = tensor->data;
    return result;
}

static int floats_match(float actual, float expected) {
    if (isnan(expected)) return isnan(actual);
    if (isinf(expected)) return actual == expected;
    return fabs((double)actual - (double)expected) <= ATOL + RTOL * fabs((double)expected);
}

/* Compares one output; prints the first mismatches and returns their count. */
static int64_t compare_output(const char *name, const illume_tensor *actual, const decoded_tensor *expected) {
    char actual_shape[256], expected_shape[256];
    format_shape(actual->rank, actual->dims, actual_shape, sizeof actual_shape);
    format_shape(expected->rank, expected->dims, expected_shape, sizeof expected_shape);
    if (actual->dtype != expected->dtype) {
        fprintf(stderr, "output '%s': illume gives %s data, expected %s\n", name,
                actual->dtype == ILLUME_FLOAT32 ? "float32" : "int64",
                expected->dtype == ILLUME_FLOAT32 ? "float32" : "int64");
        return 1;
    }
    if (strcmp(actual_shape, expected_shape) != 0) {
        fprintf(stderr, "output '%s': shape %s, expected %s\n", name, actual_shape, expected_shape);
        return 1;
    }
    int64_t count = element_count(expected), mismatches = 0;
    for (int64_t k = 0; k < count; k++) {
        int match;
        if (expected->dtype == ILLUME_FLOAT32) {
            float a = ((const float *)actual->data)[k], e = ((const float *)expected->data)[k];
            match = floats_match(a, e);
            if (!match && mismatches < MAX_REPORTED_MISMATCHES)
                fprintf(stderr, "output '%s' element %lld: %.9g, expected %.9g\n", name, (long long)k, (double)a,
                        (double)e);
        } else {
            int64_t a = ((const int64_t *)actual->data)[k], e = ((const int64_t *)expected->data)[k];
            match = a == e;
            if (!match && mismatches < MAX_REPORTED_MISMATCHES)
                fprintf(stderr, "output '%s' element %lld: %lld, expected %lld\n", name, (long long)k, (long long)a,
                        (long long)e);
        }
        if (!match) mismatches++;
    }
    if (mismatches)
        fprintf(stderr, "output '%s': %lld of %lld elements differ (rtol %g, atol %g)\n", name, (long long)mismatches,
                (long long)count, RTOL, ATOL);
    return mismatches;
}

static int fail_with(illume_context *context, const char *what) {
    fprintf(stderr, "FAIL: %s: %s\n", what, illume_last_error(context));
    return 1;
}

/* Runs one data set; returns 0 when every output matches. */
static int run_data_set(illume_context *context, const char *model_path, const Onnx__ModelProto *proto,
                        const char *folder) {
    illume_model *model = NULL;
    if (illume_model_load(context, model_path, &model) != ILLUME_OK)
        return fail_with(context, "illume refuses the model");
    named_tensor inputs[MAX_TENSORS], outputs[MAX_TENSORS];
    int input_count = read_tensors(context, proto, folder, "input", inputs);
    int output_count = input_count < 0 ? -1 : read_tensors(context, proto, folder, "output", outputs);
    if (output_count < 0) {
        if (input_count >= 0) free_tensors(inputs, input_count);
        illume_model_free(model);
        return 1;
    }
    int failed = 1;
    illume_session *session = NULL;
    illume_tensor runtime_inputs[MAX_TENSORS], results[MAX_TENSORS];
    memset(results, 0, sizeof results);
    int runtime_count = 0;

    if (illume_model_input_count(model) != input_count) {
        fprintf(stderr, "FAIL: the model has %d inputs, the data set %d\n", illume_model_input_count(model),
                input_count);
        goto done;
    }
    const char *input_names[MAX_TENSORS]; /* owned by the model, which keeps them while binding */
    for (int i = 0; i < input_count; i++) {
        illume_value_info info;
        illume_model_input(model, i, &info);
        input_names[i] = info.name;
        if (inputs[i].name[0] && strcmp(inputs[i].name, info.name) != 0) {
            fprintf(stderr, "FAIL: input %d is '%s' in the data set, '%s' in the model\n", i, inputs[i].name,
                    info.name);
            goto done;
        }
    }
    /* By the names read above: binding a constant renumbers the inputs after it. */
    for (int i = 0; i < input_count; i++) {
        if (i == 0 && inputs[i].tensor.dtype == ILLUME_FLOAT32) {
            runtime_inputs[runtime_count++] = as_illume_tensor(&inputs[i].tensor);
            continue;
        }
        illume_tensor constant = as_illume_tensor(&inputs[i].tensor);
        if (illume_model_set_constant_input(context, model, input_names[i], &constant) != ILLUME_OK) {
            fail_with(context, "binding a constant input");
            goto done;
        }
    }
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = test_device();
    if (illume_session_create(context, model, &options, runtime_count, runtime_inputs, &session) != ILLUME_OK) {
        fail_with(context, "illume refuses the model");
        goto done;
    }
    if (illume_session_output_count(session) != output_count) {
        fprintf(stderr, "FAIL: the model has %d outputs, the data set %d\n", illume_session_output_count(session),
                output_count);
        goto done;
    }
    for (int o = 0; o < output_count; o++) {
        illume_value_info info;
        illume_session_output(session, o, &info);
        results[o].dtype = info.dtype;
        results[o].rank = info.rank;
        for (int d = 0; d < info.rank; d++) results[o].dims[d] = info.dims[d];
        size_t bytes = illume_tensor_bytes(&results[o]);
        results[o].data = malloc(bytes ? bytes : 1);
        if (!results[o].data) {
            fprintf(stderr, "FAIL: cannot allocate %zu bytes for output %d\n", bytes, o);
            goto done;
        }
    }
    if (illume_session_run(session, runtime_count, runtime_inputs, output_count, results) != ILLUME_OK) {
        fail_with(context, "running the session");
        goto done;
    }
    int64_t mismatches = 0;
    for (int o = 0; o < output_count; o++) {
        illume_value_info info;
        illume_session_output(session, o, &info);
        mismatches += compare_output(info.name, &results[o], &outputs[o].tensor);
    }
    failed = mismatches != 0;
    if (failed) fprintf(stderr, "FAIL: %s: outputs differ\n", folder);
done:
    for (int o = 0; o < output_count; o++) free(results[o].data);
    illume_session_free(session);
    illume_model_free(model);
    free_tensors(inputs, input_count);
    free_tensors(outputs, output_count);
    return failed;
}

static void print_attributes(const char *op, const op_attribute *attributes) {
    static const char *const type_names[] = {"float", "int", "string", "floats", "ints", "strings", "tensor"};
    for (const op_attribute *attribute = attributes; attribute && attribute->name; attribute++)
        printf("attribute %s %s %s %d %d\n", op, attribute->name, type_names[attribute->type], attribute->since,
               attribute->until);
}

/* What check_op_versions.py compares with onnx.defs, one fact a line:
 *   opsets MIN MAX
 *   op NAME SINCE MAX_INPUTS
 *   attribute OP NAME TYPE SINCE UNTIL
 *   input OP INDEX NAME SINCE UNTIL */
static void print_op_versions(void) {
    printf("opsets %d %d\n", ONNX_MIN_OPSET, ONNX_MAX_OPSET);
    for (int op = 0; op < op_count(); op++) {
        const op_definition *definition = op_get(op);
        printf("op %s %d %d\n", definition->name, definition->since, definition->max_inputs);
        print_attributes(definition->name, definition->attributes);
        for (const op_input *input = definition->versioned_inputs; input && input->name; input++)
            printf("input %s %d %s %d %d\n", definition->name, input->index, input->name, input->since, input->until);
    }
    printf("op Constant 0 0\n");
    print_attributes("Constant", onnx_constant_attributes);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--ops") == 0) {
        for (int op = 0; op < op_count(); op++) printf("%s\n", op_get(op)->name);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--op-versions") == 0) {
        print_op_versions();
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: node_test TEST_DIR | --ops | --op-versions\n");
        return 2;
    }
    if (strncmp(test_device(), "cuda", 4) == 0 && (!illume_has_cuda() || illume_cuda_devices() < 1)) {
        printf("SKIP no CUDA device\n");
        return 77;
    }
    const char *test = argv[1];
    char model_path[4096];
    snprintf(model_path, sizeof model_path, "%s/model.onnx", test);
    if (!file_exists(model_path)) {
        fprintf(stderr, "FAIL: no model at '%s'\n", model_path);
        return 1;
    }
    illume_context *context = illume_context_create();
    if (!context) {
        fprintf(stderr, "FAIL: cannot create an illume context\n");
        return 1;
    }
    illume_set_threads(context, 1);
    unsigned char *bytes = NULL;
    size_t size = 0;
    Onnx__ModelProto *proto = NULL;
    if (read_file(context, model_path, MAX_FILE_BYTES, &bytes, &size) == ILLUME_OK)
        proto = onnx__model_proto__unpack(NULL, size, bytes);
    free(bytes);
    if (!proto) {
        fprintf(stderr, "FAIL: cannot read '%s' as an ONNX model\n", model_path);
        illume_context_destroy(context);
        return 1;
    }
    int data_sets = 0, failures = 0;
    for (;; data_sets++) {
        char folder[4096];
        snprintf(folder, sizeof folder, "%s/test_data_set_%d", test, data_sets);
        if (!file_exists(folder)) break;
        failures += run_data_set(context, model_path, proto, folder);
    }
    onnx__model_proto__free_unpacked(proto, NULL);
    illume_context_destroy(context);
    if (data_sets == 0) {
        fprintf(stderr, "FAIL: '%s' holds no test_data_set_0\n", test);
        return 1;
    }
    if (failures) return 1;
    printf("PASS: %s (%d data set%s)\n", test, data_sets, data_sets == 1 ? "" : "s");
    return 0;
}
