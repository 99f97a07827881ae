/* Backward passes of MaxPool, AveragePool, GlobalMaxPool and
 * GlobalAveragePool against finite differences, over the attribute
 * combinations of the forward tests: ceil_mode (a window starting in the end
 * padding included), dilations, asymmetric pads, strides wider than the
 * kernel, count_include_pad, every auto_pad, 1-D to 3-D; pooling a
 * convolution's output (channels last), and the classifier head
 * GlobalAveragePool, Flatten, Gemm. Max pooling reads inputs whose values
 * are all distinct, further apart than twice the step, so that no window's
 * maximum changes place under the differences. */
#include "gradient_check.h"
#include "op_cases.h"

/* Beyond the shared cases. */
static const pool_case cases[] = {
    {.name = "2-D overlapping windows", .spatial = 2, .batch = 1, .channels = 2, .size = {6, 7}, .kernel = {3, 3}},
};

/* Max pooling sees distinct values 4 / count apart (count under 2000); a step
 * of 2^-10 moves each by at most that, less than half the spacing. */
static gradient_check check_for(int max, int after_conv) {
    gradient_check how = max ? piecewise_check(1.0 / 1024) : linear_check();
    how.layouts = after_conv ? CHANNELS_LAST | CHANNELS_FIRST : CHANNELS_LAST;
    return how;
}

static illume_tensor input_for(int max, int rank, const int64_t *dims, uint64_t *seed) {
    return max ? tensor_distinct(rank, dims, -2.0f, 2.0f, seed) : tensor_random(rank, dims, -2.0f, 2.0f, seed);
}

static void run_case(const pool_case *c, int max, int after_conv, uint64_t *seed) {
    int rank = c->spatial + 2;
    int64_t x_dims[ILLUME_MAX_RANK];
    pool_shape(c, x_dims);
    illume_tensor x = input_for(max, rank, x_dims, seed);
    builder *b = builder_create(19);
    int input = builder_input(b, "x", rank, x_dims);
    /* Every attribute written, defaults included; the forward tests read the defaults. */
    builder_output(b, pool_node(b, after_conv ? add_channel_permutation(b, input, c->channels) : input, c, max,
                                ATTRIBUTES_ALL));
    char label[256];
    pool_label(max, 0, c->name, after_conv, label, sizeof label);
    gradient_check how = check_for(max, after_conv);
    expect_gradients(label, b, 1, &x, &how);
    tensor_release(&x);
}

static void run_cases(const pool_case *cases, size_t count, uint64_t *seed) {
    for (size_t i = 0; i < count; i++)
        for (int max = 1; max >= 0; max--) {
            run_case(&cases[i], max, 0, seed);
            if (cases[i].after_conv) run_case(&cases[i], max, 1, seed);
        }
}

static void run_global(const global_pool_case *c, int max, int after_conv, uint64_t *seed) {
    illume_tensor x = input_for(max, c->rank, c->dims, seed);
    builder *b = builder_create(17);
    int y, input = builder_input(b, "x", c->rank, c->dims);
    if (after_conv) input = add_channel_permutation(b, input, c->dims[1]);
    builder_node(b, pool_op(max, 1), 1, &input, 1, &y);
    builder_output(b, y);
    char label[256];
    pool_label(max, 1, c->name, after_conv, label, sizeof label);
    gradient_check how = check_for(max, after_conv);
    expect_gradients(label, b, 1, &x, &how);
    tensor_release(&x);
}

static void classifier_head(uint64_t *seed) {
    op_model model = classifier_head_model(seed);
    gradient_check how = linear_check();
    expect_gradients(model.label, model.graph, model.input_count, model.inputs, &how);
    op_model_release(&model);
}

int main(void) {
    gradient_skip_without_device();
    uint64_t seed = 77;
    run_cases(shared_pool_cases, shared_pool_case_count, &seed);
    run_cases(cases, sizeof cases / sizeof cases[0], &seed);
    for (size_t i = 0; i < shared_global_pool_case_count; i++)
        for (int max = 1; max >= 0; max--) {
            run_global(&shared_global_pool_cases[i], max, 0, &seed);
            if (shared_global_pool_cases[i].rank == 4) run_global(&shared_global_pool_cases[i], max, 1, &seed);
        }
    classifier_head(&seed);
    return test_report("gradients/pooling");
}
