/* Backward passes of MaxPool, AveragePool, GlobalMaxPool and
 * GlobalAveragePool against finite differences, over the attribute
 * combinations of the forward tests: ceil_mode (a window starting in the end
 * padding included), dilations, asymmetric pads, strides wider than the
 * kernel, count_include_pad, every auto_pad, 1-D to 3-D; pooling a
 * convolution's output (channels last), and the classifier head
 * GlobalAveragePool, Flatten, Gemm. Max pooling reads inputs whose values
 * are all distinct, further apart than twice the step, so that no window's
 * maximum changes place under the differences. */
#include <stdio.h>
#include <string.h>

#include "gradient_check.h"

typedef struct pool_case {
    const char *name;
    int spatial;
    int64_t batch, channels;
    int64_t size[3], kernel[3];
    int64_t strides[3], dilations[3], pads[6]; /* zero strides or dilations mean 1 */
    const char *auto_pad;
    int ceil_mode, count_include_pad;
} pool_case;

static const pool_case cases[] = {
    {.name = "2-D k3 s2 pads 1, batch 2", .spatial = 2, .batch = 2, .channels = 3, .size = {9, 11},
     .kernel = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}},
    {.name = "2-D no pads", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 7}, .kernel = {2, 2},
     .strides = {2, 2}},
    {.name = "2-D overlapping windows", .spatial = 2, .batch = 1, .channels = 2, .size = {6, 7}, .kernel = {3, 3}},
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
    {.name = "2-D SAME_UPPER", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 8}, .kernel = {3, 4},
     .strides = {2, 3}, .auto_pad = "SAME_UPPER"},
    {.name = "2-D SAME_LOWER", .spatial = 2, .batch = 1, .channels = 2, .size = {7, 8}, .kernel = {3, 4},
     .strides = {2, 3}, .auto_pad = "SAME_LOWER"},
    {.name = "2-D SAME_UPPER count_include_pad", .spatial = 2, .batch = 1, .channels = 2, .size = {5, 6},
     .kernel = {2, 3}, .auto_pad = "SAME_UPPER", .count_include_pad = 1},
    {.name = "2-D VALID", .spatial = 2, .batch = 1, .channels = 2, .size = {8, 7}, .kernel = {3, 2},
     .strides = {2, 2}, .auto_pad = "VALID"},
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

/* Max pooling sees distinct values 4 / count apart (count under 2000); a step
 * of 2^-10 moves each by at most that, less than half the spacing. */
static gradient_check check_for(int max) { return max ? piecewise_check(1.0 / 1024) : linear_check(); }

static void add_pool(builder *b, int x, int *y, const pool_case *c, int max) {
    window_params params = window_defaults();
    int node = builder_node(b, max ? "MaxPool" : "AveragePool", 1, &x, 1, y);
    for (int d = 0; d < c->spatial; d++) {
        params.strides[d] = c->strides[d] ? c->strides[d] : 1;
        params.dilations[d] = c->dilations[d] ? c->dilations[d] : 1;
    }
    builder_attribute_ints(b, node, "kernel_shape", c->spatial, c->kernel);
    builder_attribute_ints(b, node, "strides", c->spatial, params.strides);
    builder_attribute_ints(b, node, "dilations", c->spatial, params.dilations);
    if (c->auto_pad) builder_attribute_string(b, node, "auto_pad", c->auto_pad);
    else builder_attribute_ints(b, node, "pads", 2 * c->spatial, c->pads);
    builder_attribute_int(b, node, "ceil_mode", c->ceil_mode);
    if (!max) builder_attribute_int(b, node, "count_include_pad", c->count_include_pad);
}

static void run_case(const pool_case *c, int max, int after_conv, uint64_t *seed) {
    int rank = c->spatial + 2;
    int64_t x_dims[ILLUME_MAX_RANK] = {c->batch, c->channels};
    for (int d = 0; d < c->spatial; d++) x_dims[2 + d] = c->size[d];
    illume_tensor x =
        max ? tensor_distinct(rank, x_dims, -2.0f, 2.0f, seed) : tensor_random(rank, x_dims, -2.0f, 2.0f, seed);
    builder *b = builder_create(19);
    int y, input = builder_input(b, "x", rank, x_dims);
    add_pool(b, after_conv ? add_channel_permutation(b, input, c->channels) : input, &y, c, max);
    builder_output(b, y);
    char label[256];
    snprintf(label, sizeof label, "%s %s%s", max ? "MaxPool" : "AveragePool", c->name,
             after_conv ? " after Conv" : "");
    gradient_check how = check_for(max);
    how.layouts = after_conv ? CHANNELS_LAST | CHANNELS_FIRST : CHANNELS_LAST;
    expect_gradients(label, b, 1, &x, &how);
    tensor_release(&x);
}

static void run_global(const char *name, int rank, const int64_t *dims, int max, int after_conv, uint64_t *seed) {
    illume_tensor x =
        max ? tensor_distinct(rank, dims, -2.0f, 2.0f, seed) : tensor_random(rank, dims, -2.0f, 2.0f, seed);
    builder *b = builder_create(17);
    int y, input = builder_input(b, "x", rank, dims);
    if (after_conv) input = add_channel_permutation(b, input, dims[1]);
    builder_node(b, max ? "GlobalMaxPool" : "GlobalAveragePool", 1, &input, 1, &y);
    builder_output(b, y);
    char label[256];
    snprintf(label, sizeof label, "%s %s%s", max ? "GlobalMaxPool" : "GlobalAveragePool", name,
             after_conv ? " after Conv" : "");
    gradient_check how = check_for(max);
    how.layouts = after_conv ? CHANNELS_LAST | CHANNELS_FIRST : CHANNELS_LAST;
    expect_gradients(label, b, 1, &x, &how);
    tensor_release(&x);
}

/* GlobalAveragePool of a Conv, Flatten, Gemm: the classifier head. */
static void classifier_head(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 5, 4}, w_dims[2] = {3, 6};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), w = tensor_random(2, w_dims, -1.0f, 1.0f, seed);
    illume_tensor produced;
    builder *b = builder_create(13);
    int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 6, seed, &produced), pooled, flat, y;
    builder_node(b, "GlobalAveragePool", 1, &conv, 1, &pooled);
    builder_node(b, "Flatten", 1, &pooled, 1, &flat);
    int inputs[2] = {flat, builder_floats(b, "w", 2, w_dims, w.data)};
    int node = builder_node(b, "Gemm", 2, inputs, 1, &y);
    builder_attribute_int(b, node, "transB", 1);
    builder_output(b, y);
    gradient_check how = linear_check();
    expect_gradients("GlobalAveragePool, Flatten, Gemm after Conv", b, 1, &x, &how);
    tensor_release(&produced);
    tensor_release(&w);
    tensor_release(&x);
}

int main(void) {
    gradient_skip_without_device();
    uint64_t seed = 77;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int max = 1; max >= 0; max--) {
            run_case(&cases[i], max, 0, &seed);
            if (cases[i].spatial == 2 && i % 3 == 0) run_case(&cases[i], max, 1, &seed);
        }
    const int64_t shapes[][5] = {{2, 3, 7, 5}, {1, 5, 1, 1}, {3, 2, 13}, {1, 2, 3, 4, 5}, {2, 1, 1, 17}};
    const int ranks[] = {4, 4, 3, 5, 4};
    const char *names[] = {"2-D batch 2", "1x1 input", "1-D", "3-D", "size-1 row"};
    for (int i = 0; i < 5; i++)
        for (int max = 1; max >= 0; max--) {
            run_global(names[i], ranks[i], shapes[i], max, 0, &seed);
            if (ranks[i] == 4) run_global(names[i], ranks[i], shapes[i], max, 1, &seed);
        }
    classifier_head(&seed);
    return test_report("gradients/pooling");
}
