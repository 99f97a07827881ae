/* MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool against the
 * naive reference: ceil_mode (with the window that would start in the end
 * padding dropped), dilations, asymmetric pads, strides wider than the
 * kernel, count_include_pad, every auto_pad, 1-D to 3-D; 2-D pooling also
 * after a Conv, where the layout pass keeps the data channels last. */
#include <stdio.h>
#include <string.h>

#include "reference.h"
#include "test_support.h"

typedef struct pool_case {
    const char *name;
    int spatial;
    int64_t batch, channels;
    int64_t size[3], kernel[3];
    int64_t strides[3], dilations[3], pads[6]; /* zero strides or dilations mean the default of 1 */
    const char *auto_pad;
    int ceil_mode, count_include_pad;
} pool_case;

static void run_case(const pool_case *c, reference_pool_kind kind, uint64_t *seed) {
    int spatial = c->spatial, rank = spatial + 2;
    int64_t x_dims[ILLUME_MAX_RANK] = {c->batch, c->channels};
    window_params params = window_defaults();
    for (int d = 0; d < spatial; d++) {
        x_dims[2 + d] = c->size[d];
        params.kernel_shape[d] = c->kernel[d];
        params.strides[d] = c->strides[d] ? c->strides[d] : 1;
        params.dilations[d] = c->dilations[d] ? c->dilations[d] : 1;
    }
    memcpy(params.pads, c->pads, sizeof params.pads);
    params.auto_pad = c->auto_pad ? c->auto_pad : "NOTSET";
    params.ceil_mode = c->ceil_mode;
    params.count_include_pad = c->count_include_pad;
    illume_tensor x = tensor_random(rank, x_dims, -2.0f, 2.0f, seed);
    illume_tensor want = reference_pool(&x, kind, &params);

    const char *op = kind == REFERENCE_MAX_POOL ? "MaxPool" : "AveragePool";
    builder *b = builder_create(19);
    int y, input = builder_input(b, "x", rank, x_dims);
    int node = builder_node(b, op, 1, &input, 1, &y);
    builder_attribute_ints(b, node, "kernel_shape", spatial, c->kernel);
    if (memcmp(c->strides, (int64_t[3]){0, 0, 0}, sizeof c->strides))
        builder_attribute_ints(b, node, "strides", spatial, params.strides);
    if (memcmp(c->dilations, (int64_t[3]){0, 0, 0}, sizeof c->dilations))
        builder_attribute_ints(b, node, "dilations", spatial, params.dilations);
    int any_pad = 0;
    for (int d = 0; d < 2 * spatial; d++) any_pad |= c->pads[d] != 0;
    if (any_pad) builder_attribute_ints(b, node, "pads", 2 * spatial, c->pads);
    if (c->auto_pad) builder_attribute_string(b, node, "auto_pad", c->auto_pad);
    if (c->ceil_mode) builder_attribute_int(b, node, "ceil_mode", 1);
    if (kind == REFERENCE_AVERAGE_POOL) {
        if (c->count_include_pad) builder_attribute_int(b, node, "count_include_pad", 1);
    } else {
        builder_attribute_int(b, node, "storage_order", 0);
    }
    builder_output(b, y);
    char label[256];
    snprintf(label, sizeof label, "%s %s", op, c->name);
    expect_run(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&x);
}

static const pool_case cases[] = {
    {.name = "2-D k3 s2 pads 1, batch 2", .spatial = 2, .batch = 2, .channels = 3, .size = {9, 11},
     .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}},
    {.name = "2-D no pads", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 7}, .kernel = {2, 2},
     .strides = {2, 2}},
    {.name = "2-D ceil_mode", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 8}, .kernel = {3, 3},
     .strides = {2, 2}, .ceil_mode = 1},
    {.name = "2-D ceil_mode drops the window starting in the end padding", .spatial = 2, .batch = 1,
     .channels = 1, .size = {5, 5}, .kernel = {2, 2}, .strides = {2, 2}, .pads = {1, 1, 1, 1}, .ceil_mode = 1},
    {.name = "2-D ceil_mode with pads and count_include_pad", .spatial = 2, .batch = 2, .channels = 1,
     .size = {6, 7}, .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 0, 1, 1}, .ceil_mode = 1,
     .count_include_pad = 1},
    {.name = "2-D asymmetric pads", .spatial = 2, .batch = 1, .channels = 3, .size = {6, 5}, .kernel = {3, 2},
     .pads = {2, 0, 0, 1}},
    {.name = "2-D asymmetric pads count_include_pad", .spatial = 2, .batch = 1, .channels = 3, .size = {6, 5},
     .kernel = {3, 2}, .pads = {2, 0, 0, 1}, .count_include_pad = 1},
    {.name = "2-D dilations", .spatial = 2, .batch = 1, .channels = 2, .size = {11, 9}, .kernel = {3, 2},
     .dilations = {2, 3}, .pads = {1, 2, 1, 2}},
    {.name = "2-D dilations, strides, ceil_mode", .spatial = 2, .batch = 1, .channels = 2, .size = {10, 9},
     .kernel = {2, 3}, .dilations = {3, 2}, .strides = {2, 3}, .pads = {1, 1, 0, 1}, .ceil_mode = 1},
    {.name = "2-D strides wider than the kernel", .spatial = 2, .batch = 1, .channels = 2, .size = {13, 11},
     .kernel = {2, 3}, .strides = {4, 5}},
    {.name = "2-D 1x1 kernel stride 2", .spatial = 2, .batch = 1, .channels = 3, .size = {7, 6}, .kernel = {1, 1},
     .strides = {2, 2}},
    {.name = "2-D SAME_UPPER", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 8}, .kernel = {3, 4},
     .strides = {2, 3}, .auto_pad = "SAME_UPPER"},
    {.name = "2-D SAME_LOWER", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 8}, .kernel = {3, 4},
     .strides = {2, 3}, .auto_pad = "SAME_LOWER"},
    {.name = "2-D SAME_UPPER count_include_pad", .spatial = 2, .batch = 1, .channels = 2, .size = {5, 6},
     .kernel = {2, 3}, .auto_pad = "SAME_UPPER", .count_include_pad = 1},
    {.name = "2-D VALID", .spatial = 2, .batch = 1, .channels = 2, .size = {8, 7}, .kernel = {3, 2},
     .strides = {2, 2}, .auto_pad = "VALID"},
    {.name = "2-D size-1 rows", .spatial = 2, .batch = 3, .channels = 1, .size = {1, 9}, .kernel = {1, 3},
     .strides = {1, 2}, .pads = {0, 1, 0, 1}},
    {.name = "2-D window as large as the input", .spatial = 2, .batch = 2, .channels = 2, .size = {5, 7},
     .kernel = {5, 7}},
    {.name = "1-D", .spatial = 1, .batch = 2, .channels = 3, .size = {13}, .kernel = {3}, .strides = {2},
     .pads = {1, 0}},
    {.name = "1-D ceil_mode dilated", .spatial = 1, .batch = 1, .channels = 2, .size = {11}, .kernel = {2},
     .strides = {3}, .dilations = {2}, .pads = {0, 1}, .ceil_mode = 1},
    {.name = "1-D count_include_pad", .spatial = 1, .batch = 1, .channels = 2, .size = {7}, .kernel = {4},
     .strides = {2}, .pads = {2, 1}, .count_include_pad = 1},
    {.name = "3-D", .spatial = 3, .batch = 1, .channels = 2, .size = {5, 6, 7}, .kernel = {2, 3, 2},
     .strides = {2, 2, 1}, .pads = {1, 0, 1, 0, 1, 0}},
    {.name = "3-D ceil_mode count_include_pad", .spatial = 3, .batch = 2, .channels = 1, .size = {4, 5, 3},
     .kernel = {2, 2, 2}, .strides = {2, 2, 2}, .pads = {0, 1, 1, 1, 0, 0}, .ceil_mode = 1,
     .count_include_pad = 1},
    {.name = "3-D dilated SAME_LOWER", .spatial = 3, .batch = 1, .channels = 1, .size = {5, 4, 6},
     .kernel = {2, 2, 3}, .dilations = {2, 1, 2}, .auto_pad = "SAME_LOWER"},
};

static void run_global(const char *name, int rank, const int64_t *dims, reference_pool_kind kind, uint64_t *seed) {
    illume_tensor x = tensor_random(rank, dims, -2.0f, 2.0f, seed);
    illume_tensor want = reference_global_pool(&x, kind);
    const char *op = kind == REFERENCE_MAX_POOL ? "GlobalMaxPool" : "GlobalAveragePool";
    builder *b = builder_create(17);
    int y, input = builder_input(b, "x", rank, dims);
    builder_node(b, op, 1, &input, 1, &y);
    builder_output(b, y);
    char label[256];
    snprintf(label, sizeof label, "%s %s", op, name);
    expect_run(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&x);
}

/* Pooling a convolution's output, which the layout pass keeps channels last. */
static void after_conv(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 9, 11};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].spatial != 2 || i % 2) continue;
        for (int kind = 0; kind < 2; kind++) {
            const pool_case *c = &cases[i];
            illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
            builder *b = builder_create(19);
            illume_tensor produced;
            int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 5, seed, &produced);
            window_params params = window_defaults();
            for (int d = 0; d < 2; d++) {
                params.kernel_shape[d] = c->kernel[d];
                params.strides[d] = c->strides[d] ? c->strides[d] : 1;
                params.dilations[d] = c->dilations[d] ? c->dilations[d] : 1;
            }
            memcpy(params.pads, c->pads, sizeof params.pads);
            params.auto_pad = c->auto_pad ? c->auto_pad : "NOTSET";
            params.ceil_mode = c->ceil_mode;
            params.count_include_pad = c->count_include_pad;
            reference_pool_kind pool_kind = kind ? REFERENCE_AVERAGE_POOL : REFERENCE_MAX_POOL;
            illume_tensor want = reference_pool(&produced, pool_kind, &params);
            int y, node = builder_node(b, kind ? "AveragePool" : "MaxPool", 1, &conv, 1, &y);
            builder_attribute_ints(b, node, "kernel_shape", 2, c->kernel);
            builder_attribute_ints(b, node, "strides", 2, params.strides);
            builder_attribute_ints(b, node, "dilations", 2, params.dilations);
            if (c->auto_pad) builder_attribute_string(b, node, "auto_pad", c->auto_pad);
            else builder_attribute_ints(b, node, "pads", 4, c->pads);
            builder_attribute_int(b, node, "ceil_mode", c->ceil_mode);
            if (kind) builder_attribute_int(b, node, "count_include_pad", c->count_include_pad);
            builder_output(b, y);
            char label[256];
            snprintf(label, sizeof label, "%s %s after Conv", kind ? "AveragePool" : "MaxPool", c->name);
            expect_run_layouts(label, b, 1, &x, 1, &want, 1e-5);
            tensor_release(&produced);
            tensor_release(&x);
        }
    }
    for (int kind = 0; kind < 2; kind++) {
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
        builder *b = builder_create(17);
        illume_tensor produced;
        int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 7, seed, &produced);
        illume_tensor want = reference_global_pool(&produced, kind ? REFERENCE_AVERAGE_POOL : REFERENCE_MAX_POOL);
        int y;
        builder_node(b, kind ? "GlobalAveragePool" : "GlobalMaxPool", 1, &conv, 1, &y);
        builder_output(b, y);
        expect_run_layouts(kind ? "GlobalAveragePool after Conv" : "GlobalMaxPool after Conv", b, 1, &x, 1, &want,
                           1e-5);
        tensor_release(&produced);
        tensor_release(&x);
    }
}

/* The usual classifier head: GlobalAveragePool of a Conv, Flatten, Gemm. */
static void classifier_head(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 5, 4}, w_dims[2] = {3, 6}, flat_dims[2] = {2, 6};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), w = tensor_random(2, w_dims, -1.0f, 1.0f, seed);
    builder *b = builder_create(13);
    illume_tensor produced;
    int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 6, seed, &produced), pooled, flat, y;
    builder_node(b, "GlobalAveragePool", 1, &conv, 1, &pooled);
    builder_node(b, "Flatten", 1, &pooled, 1, &flat);
    int inputs[2] = {flat, builder_floats(b, "w", 2, w_dims, w.data)};
    int node = builder_node(b, "Gemm", 2, inputs, 1, &y);
    builder_attribute_int(b, node, "transB", 1);
    builder_output(b, y);
    illume_tensor averages = reference_global_pool(&produced, REFERENCE_AVERAGE_POOL);
    illume_tensor flattened = reference_tensor(2, flat_dims);
    memcpy(flattened.data, averages.data, sizeof(float) * (size_t)tensor_count(&flattened));
    illume_tensor want = reference_gemm(&flattened, &w, NULL, 0, 1, 1.0f, 1.0f);
    expect_run_layouts("GlobalAveragePool, Flatten, Gemm after Conv", b, 1, &x, 1, &want, 1e-5);
    tensor_release(&flattened);
    tensor_release(&averages);
    tensor_release(&produced);
    tensor_release(&w);
    tensor_release(&x);
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
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_case(&cases[i], REFERENCE_MAX_POOL, &seed);
        run_case(&cases[i], REFERENCE_AVERAGE_POOL, &seed);
    }
    const int64_t shapes[][5] = {{2, 3, 7, 5}, {1, 5, 1, 1}, {3, 2, 13}, {1, 2, 3, 4, 5}, {2, 1, 1, 17}};
    const int ranks[] = {4, 4, 3, 5, 4};
    const char *names[] = {"2-D batch 2", "1x1 input", "1-D", "3-D", "size-1 row"};
    for (int i = 0; i < 5; i++) {
        run_global(names[i], ranks[i], shapes[i], REFERENCE_MAX_POOL, &seed);
        run_global(names[i], ranks[i], shapes[i], REFERENCE_AVERAGE_POOL, &seed);
    }
    after_conv(&seed);
    classifier_head(&seed);
    refuse_indices();
    return test_report("ops/pooling");
}
