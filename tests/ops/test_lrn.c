/* LRN against the naive reference of the ONNX formula: odd and even
 * window sizes (the window leans forward for even ones), a window of one
 * channel and one wider than all, ranks 3 to 5, the default attributes;
 * after a Conv, whose output the layout pass keeps channels last, so that
 * LRN must read it converted back to (N, C, H, W); and the refusals of a
 * missing or empty window, non-finite parameters and inputs of rank 2. */
#include <math.h>
#include <stdio.h>

#include "op_cases.h"
#include "reference.h"
#include "test_support.h"

static void run_case(const lrn_case *c, uint64_t *seed) {
    illume_tensor x = tensor_random(c->rank, c->dims, -2.0f, 2.0f, seed);
    double alpha, beta, bias;
    lrn_parameters(c, &alpha, &beta, &bias);
    illume_tensor want = reference_lrn(&x, c->size, alpha, beta, bias);
    builder *b = builder_create(13);
    builder_output(b, lrn_node(b, builder_input(b, "x", c->rank, c->dims), c));
    char label[128];
    snprintf(label, sizeof label, "LRN %s", c->name);
    expect_run(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&x);
}

static void run_after_conv(const lrn_case *c, uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 5, 6};
    illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed), produced;
    builder *b = builder_create(13);
    int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 7, seed, &produced);
    double alpha, beta, bias;
    lrn_parameters(c, &alpha, &beta, &bias);
    illume_tensor want = reference_lrn(&produced, c->size, alpha, beta, bias);
    builder_output(b, lrn_node(b, conv, c));
    char label[128];
    snprintf(label, sizeof label, "LRN %s after Conv", c->name);
    expect_run_layouts(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&produced);
    tensor_release(&x);
}

/* An LRN of a (2, 4, 3, 3) input (rank 2: (2, 4)) with the given size (0: none) and alpha. */
static void refused(const char *label, int rank, int64_t size, float alpha, illume_status status,
                    const char *mentions) {
    const int64_t dims[4] = {2, 4, 3, 3};
    builder *b = builder_create(13);
    int x = builder_input(b, "x", rank, dims), y;
    int node = builder_node(b, "LRN", 1, &x, 1, &y);
    if (size) builder_attribute_int(b, node, "size", size);
    builder_attribute_float(b, node, "alpha", alpha);
    builder_output(b, y);
    illume_tensor shape = {.dtype = ILLUME_FLOAT32, .rank = rank, .dims = {2, 4, 3, 3}};
    expect_refusal(label, b, 1, &shape, status, mentions);
}

int main(void) {
    uint64_t seed = 19;
    for (size_t i = 0; i < shared_lrn_case_count; i++) run_case(&shared_lrn_cases[i], &seed);
    /* After a Conv of 7 channels: an odd and an even window. */
    run_after_conv(&shared_lrn_cases[0], &seed);
    run_after_conv(&shared_lrn_cases[1], &seed);
    refused("LRN without size", 4, 0, 1e-4f, ILLUME_ERROR_INVALID_MODEL, "size is required");
    refused("LRN of size -1", 4, -1, 1e-4f, ILLUME_ERROR_INVALID_MODEL, "at least one channel");
    refused("LRN with alpha NaN", 4, 3, NAN, ILLUME_ERROR_INVALID_MODEL, "alpha");
    refused("LRN with alpha infinite", 4, 3, INFINITY, ILLUME_ERROR_INVALID_MODEL, "finite");
    refused("LRN of a rank-2 input", 2, 3, 1e-4f, ILLUME_ERROR_UNSUPPORTED, "rank 3 or more");
    return test_report("ops/lrn");
}
