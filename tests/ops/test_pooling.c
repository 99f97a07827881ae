/* MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool against the
 * naive reference: ceil_mode (with the window that would start in the end
 * padding dropped), dilations, asymmetric pads, strides wider than the
 * kernel, count_include_pad, every auto_pad, 1-D to 3-D; 2-D pooling also
 * after a Conv, where the layout pass keeps the data channels last. */
#include <string.h>

#include "op_cases.h"
#include "reference.h"
#include "test_support.h"

static void run_case(const pool_case *c, int max, uint64_t *seed) {
    int64_t x_dims[ILLUME_MAX_RANK];
    pool_shape(c, x_dims);
    illume_tensor x = tensor_random(c->spatial + 2, x_dims, -2.0f, 2.0f, seed);
    window_params params = pool_window(c);
    illume_tensor want = reference_pool(&x, max ? REFERENCE_MAX_POOL : REFERENCE_AVERAGE_POOL, &params);
    builder *b = builder_create(19);
    /* Only the attributes a case changes, so that the defaults are exercised too. */
    builder_output(b, pool_node(b, builder_input(b, "x", c->spatial + 2, x_dims), c, max, ATTRIBUTES_CHANGED));
    char label[256];
    pool_label(max, 0, c->name, 0, label, sizeof label);
    expect_run(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&x);
}

/* Pooling a convolution's output, which the layout pass keeps channels last;
 * every attribute written, defaults included. */
static void run_after_conv(const pool_case *c, int max, uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 9, 11};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), produced;
    builder *b = builder_create(19);
    int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 5, seed, &produced);
    window_params params = pool_window(c);
    illume_tensor want = reference_pool(&produced, max ? REFERENCE_MAX_POOL : REFERENCE_AVERAGE_POOL, &params);
    builder_output(b, pool_node(b, conv, c, max, ATTRIBUTES_ALL));
    char label[256];
    pool_label(max, 0, c->name, 1, label, sizeof label);
    expect_run_layouts(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&produced);
    tensor_release(&x);
}

static void run_cases(const pool_case *cases, size_t count, uint64_t *seed) {
    for (size_t i = 0; i < count; i++)
        for (int max = 1; max >= 0; max--) run_case(&cases[i], max, seed);
}

static void run_cases_after_conv(const pool_case *cases, size_t count, uint64_t *seed) {
    for (size_t i = 0; i < count; i++) {
        if (!cases[i].after_conv) continue;
        for (int max = 1; max >= 0; max--) run_after_conv(&cases[i], max, seed);
    }
}

/* Beyond the shared cases. */
static const pool_case cases[] = {
    {.name = "2-D 1x1 kernel stride 2", .spatial = 2, .batch = 1, .channels = 3, .size = {7, 6}, .kernel = {1, 1},
     .strides = {2, 2}, .after_conv = 1},
    {.name = "2-D size-1 rows", .spatial = 2, .batch = 3, .channels = 1, .size = {1, 9}, .kernel = {1, 3},
     .strides = {1, 2}, .pads = {0, 1, 0, 1}},
};

static void run_global(const global_pool_case *c, int max, uint64_t *seed) {
    illume_tensor x = tensor_random(c->rank, c->dims, -2.0f, 2.0f, seed);
    illume_tensor want = reference_global_pool(&x, max ? REFERENCE_MAX_POOL : REFERENCE_AVERAGE_POOL);
    builder *b = builder_create(17);
    int y, input = builder_input(b, "x", c->rank, c->dims);
    builder_node(b, pool_op(max, 1), 1, &input, 1, &y);
    builder_output(b, y);
    char label[256];
    pool_label(max, 1, c->name, 0, label, sizeof label);
    expect_run(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&x);
}

static void global_after_conv(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 9, 11};
    for (int max = 1; max >= 0; max--) {
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), produced;
        builder *b = builder_create(17);
        int y, conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 7, seed, &produced);
        illume_tensor want = reference_global_pool(&produced, max ? REFERENCE_MAX_POOL : REFERENCE_AVERAGE_POOL);
        builder_node(b, pool_op(max, 1), 1, &conv, 1, &y);
        builder_output(b, y);
        expect_run_layouts(max ? "GlobalMaxPool after Conv" : "GlobalAveragePool after Conv", b, 1, &x, 1, &want,
                           1e-5);
        tensor_release(&produced);
        tensor_release(&x);
    }
}

static void classifier_head(uint64_t *seed) {
    const int64_t flat_dims[2] = {2, 6};
    op_model model = classifier_head_model(seed);
    illume_tensor averages = reference_global_pool(&model.operands[2], REFERENCE_AVERAGE_POOL);
    illume_tensor flattened = reference_tensor(2, flat_dims);
    memcpy(flattened.data, averages.data, sizeof(float) * (size_t)tensor_count(&flattened));
    illume_tensor want = reference_gemm(&flattened, &model.operands[1], NULL, 0, 1, 1.0f, 1.0f);
    expect_run_layouts(model.label, model.graph, model.input_count, model.inputs, 1, &want, 1e-5);
    tensor_release(&flattened);
    tensor_release(&averages);
    op_model_release(&model);
}

static void refuse_indices(void) {
    int64_t dims[4] = {1, 1, 4, 4}, kernel[2] = {2, 2};
    builder *b = builder_create(17);
    int outputs[2], input = builder_input(b, "x", 4, dims);
    int node = builder_node(b, "MaxPool", 1, &input, 2, outputs);
    builder_attribute_ints(b, node, "kernel_shape", 2, kernel);
    builder_output(b, outputs[0]);
    illume_tensor shape = {ILLUME_FLOAT32, 4, {1, 1, 4, 4}, NULL};
    expect_refusal("MaxPool with the Indices output", b, 1, &shape, ILLUME_ERROR_UNSUPPORTED, "Indices");
}

int main(void) {
    uint64_t seed = 7;
    run_cases(shared_pool_cases, shared_pool_case_count, &seed);
    run_cases(cases, sizeof cases / sizeof cases[0], &seed);
    for (size_t i = 0; i < shared_global_pool_case_count; i++)
        for (int max = 1; max >= 0; max--) run_global(&shared_global_pool_cases[i], max, &seed);
    run_cases_after_conv(shared_pool_cases, shared_pool_case_count, &seed);
    run_cases_after_conv(cases, sizeof cases / sizeof cases[0], &seed);
    global_after_conv(&seed);
    classifier_head(&seed);
    refuse_indices();
    return test_report("ops/pooling");
}
