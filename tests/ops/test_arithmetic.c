/* Add, Sub, Mul and Div with numpy broadcasting over every pair of ranks 0
 * to 4 (size-1 dims in either operand), operands given as inputs or
 * constants, both constant (folded at session creation), int64 shape
 * arithmetic, large tensors for the vectorized and parallel paths; Pow,
 * Max and Min the same way, and the forms of them illume refuses; PRelu
 * with slopes broadcast to the input; all of them also on a Conv's output,
 * which the layout pass keeps channels last. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reference.h"
#include "test_support.h"

static const char *const ops[] = {"Add", "Sub", "Mul", "Div"};

static void format_dims(char *text, size_t size, int rank, const int64_t *dims) {
    size_t used = (size_t)snprintf(text, size, "[");
    for (int d = 0; d < rank && used < size; d++)
        used += (size_t)snprintf(text + used, size - used, "%s%lld", d ? "," : "", (long long)dims[d]);
    if (used < size) snprintf(text + used, size - used, "]");
}

/* operands: 0 both graph inputs, 1 b constant, 2 a constant, 3 both constant (folded). */
static void run_binary(const char *op, int a_rank, const int64_t *a_dims, int b_rank, const int64_t *b_dims,
                       int operands, uint64_t *seed) {
    illume_tensor a = tensor_random(a_rank, a_dims, -2.0f, 2.0f, seed);
    illume_tensor b_tensor = tensor_random(b_rank, b_dims, 0.5f, 2.0f, seed);
    /* Signed divisors, kept away from zero; Pow's base positive, so that any exponent is defined. */
    for (int64_t i = 0; i < tensor_count(&b_tensor); i += 2) ((float *)b_tensor.data)[i] *= -1.0f;
    if (strcmp(op, "Pow") == 0)
        for (int64_t i = 0; i < tensor_count(&a); i++) ((float *)a.data)[i] = fabsf(((float *)a.data)[i]) + 0.25f;
    illume_tensor want = reference_binary(op, &a, &b_tensor);
    builder *b = builder_create(14);
    illume_tensor inputs[2];
    int count = 0, node_inputs[2];
    if (operands == 2 || operands == 3) {
        node_inputs[0] = builder_floats(b, "a", a_rank, a_dims, a.data);
    } else {
        node_inputs[0] = builder_input(b, "a", a_rank, a_dims);
        inputs[count++] = a;
    }
    if (operands == 1 || operands == 3) {
        node_inputs[1] = builder_floats(b, "b", b_rank, b_dims, b_tensor.data);
    } else {
        node_inputs[1] = builder_input(b, "b", b_rank, b_dims);
        inputs[count++] = b_tensor;
    }
    int y;
    builder_node(b, op, 2, node_inputs, 1, &y);
    builder_output(b, y);
    char label[256], a_text[64], b_text[64];
    format_dims(a_text, sizeof a_text, a_rank, a_dims);
    format_dims(b_text, sizeof b_text, b_rank, b_dims);
    static const char *const how[] = {"inputs", "b constant", "a constant", "both constant"};
    snprintf(label, sizeof label, "%s %s %s (%s)", op, a_text, b_text, how[operands]);
    illume_session_stats stats = {0};
    if (expect_run_with(label, b, NULL, count, inputs, 1, &want, 1e-6, &stats) && operands == 3 &&
        stats.node_count != 0)
        test_fail("%s: %d nodes left, expected the node to fold", label, stats.node_count);
    tensor_release(&a);
    tensor_release(&b_tensor);
}

/* The shape of rank r taken from the end of full, with the dims whose bit is set in mask made 1. */
static void shape_of(int rank, const int64_t *full, int full_rank, unsigned mask, int64_t *dims) {
    for (int d = 0; d < rank; d++) dims[d] = (mask >> d) & 1 ? 1 : full[full_rank - rank + d];
}

static void broadcasting(uint64_t *seed) {
    const int64_t full[5] = {2, 3, 5, 7, 4};
    const unsigned masks[][2] = {{0, 0}, {1, 2}, {2, 1}, {5, 10}, {15, 0}, {0, 15}, {6, 9}};
    int op = 0;
    for (int a_rank = 0; a_rank <= 4; a_rank++)
        for (int b_rank = 0; b_rank <= 4; b_rank++)
            for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
                int64_t a_dims[5], b_dims[5];
                shape_of(a_rank, full + 1, 4, masks[m][0], a_dims);
                shape_of(b_rank, full + 1, 4, masks[m][1], b_dims);
                run_binary(ops[op++ % 4], a_rank, a_dims, b_rank, b_dims, (int)(m % 3), seed);
            }
    /* Every op on both operand placements, and folding. */
    const int64_t a_dims[4] = {2, 3, 1, 7}, b_dims[3] = {3, 5, 1};
    for (int o = 0; o < 4; o++)
        for (int operands = 0; operands < 4; operands++) run_binary(ops[o], 4, a_dims, 3, b_dims, operands, seed);
    /* Rank 5, and tensors large enough for the vectorized and parallel loops. */
    const int64_t five_a[5] = {2, 1, 3, 1, 5}, five_b[5] = {1, 4, 1, 6, 1};
    run_binary("Mul", 5, five_a, 5, five_b, 0, seed);
    const int64_t big[2] = {64, 1025}, row[1] = {1025}, column[2] = {64, 1};
    for (int o = 0; o < 4; o++) {
        run_binary(ops[o], 2, big, 2, big, 0, seed);
        run_binary(ops[o], 2, big, 1, row, 1, seed);
        run_binary(ops[o], 2, big, 2, column, 1, seed);
        run_binary(ops[o], 0, NULL, 2, big, 0, seed);
    }
    const int64_t empty[2] = {0, 3}, one[1] = {3};
    run_binary("Add", 2, empty, 1, one, 0, seed);
}

/* Pow, Max and Min: broadcast, folded, large; the forms illume refuses. */
static void power_and_extremes(uint64_t *seed) {
    static const char *const more[] = {"Pow", "Max", "Min"};
    const int64_t a_dims[4] = {2, 3, 1, 7}, b_dims[3] = {3, 5, 1}, big[2] = {64, 1025}, row[1] = {1025};
    for (int o = 0; o < 3; o++) {
        for (int operands = 0; operands < 4; operands++) run_binary(more[o], 4, a_dims, 3, b_dims, operands, seed);
        run_binary(more[o], 2, big, 2, big, 0, seed);
        run_binary(more[o], 2, big, 1, row, 1, seed);
        run_binary(more[o], 0, NULL, 2, big, 0, seed);
    }
    const int64_t dims[1] = {3};
    illume_tensor shape = {.dtype = ILLUME_FLOAT32, .rank = 1, .dims = {3}};
    builder *b = builder_create(14);
    int inputs[3] = {builder_input(b, "x", 1, dims), builder_floats(b, "u", 1, dims, (const float[]){1, 2, 3}),
                     builder_floats(b, "v", 1, dims, (const float[]){3, 2, 1})}, y;
    builder_node(b, "Max", 3, inputs, 1, &y);
    builder_output(b, y);
    expect_refusal("Max of three inputs", b, 1, &shape, ILLUME_ERROR_UNSUPPORTED, "Max of 3 inputs");
    b = builder_create(14);
    int power[2] = {builder_input(b, "x", 1, dims), builder_ints(b, "e", 1, dims, (const int64_t[]){1, 2, 3})};
    builder_node(b, "Pow", 2, power, 1, &y);
    builder_output(b, y);
    expect_refusal("Pow of an integer exponent", b, 1, &shape, ILLUME_ERROR_UNSUPPORTED, "float base and exponent");
}

static void integer_folding(void) {
    /* Shape arithmetic: int64 constants only ever fold. */
    const int64_t a[3] = {6, 9, -4}, b[3] = {3, -3, 2}, dims[1] = {3};
    const int64_t sums[3] = {9, 6, -2}, differences[3] = {3, 12, -6}, products[3] = {18, -27, -8};
    const int64_t quotients[3] = {2, -3, -2};
    const int64_t *expected[4] = {sums, differences, products, quotients};
    for (int o = 0; o < 4; o++) {
        builder *b_graph = builder_create(14);
        int inputs[2] = {builder_ints(b_graph, "a", 1, dims, a), builder_ints(b_graph, "b", 1, dims, b)};
        int y;
        builder_node(b_graph, ops[o], 2, inputs, 1, &y);
        builder_output(b_graph, y);
        illume_context *context = illume_context_create();
        illume_model *model;
        illume_tensor got;
        char label[64];
        snprintf(label, sizeof label, "%s of int64 constants", ops[o]);
        illume_status status = builder_finish(b_graph, context, &model);
        if (status == ILLUME_OK) status = run_model(context, model, NULL, 0, NULL, 1, &got, NULL);
        if (status != ILLUME_OK) {
            test_fail("%s: %s", label, illume_last_error(context));
        } else {
            check_ints(label, &got, 1, dims, expected[o]);
            tensor_release(&got);
        }
        illume_model_free(model);
        illume_context_destroy(context);
    }
    builder *b_graph = builder_create(14);
    int64_t two[2] = {2, 3};
    int inputs[2] = {builder_input(b_graph, "x", 2, two), builder_ints(b_graph, "i", 1, dims, a)};
    int y;
    builder_node(b_graph, "Add", 2, inputs, 1, &y);
    builder_output(b_graph, y);
    illume_tensor shape = {ILLUME_FLOAT32, 2, {2, 3}, NULL};
    expect_refusal("Add of float and int64", b_graph, 1, &shape, ILLUME_ERROR_INVALID_MODEL, "element types");
}

static void run_prelu(int x_rank, const int64_t *x_dims, int slope_rank, const int64_t *slope_dims, int slope_input,
                      uint64_t *seed) {
    illume_tensor inputs[2];
    inputs[0] = tensor_random(x_rank, x_dims, -3.0f, 3.0f, seed);
    inputs[1] = tensor_random(slope_rank, slope_dims, -0.5f, 0.5f, seed);
    illume_tensor want = reference_binary("PRelu", &inputs[0], &inputs[1]);
    builder *b = builder_create(16);
    int node_inputs[2] = {builder_input(b, "x", x_rank, x_dims),
                          slope_input ? builder_input(b, "slope", slope_rank, slope_dims)
                                      : builder_floats(b, "slope", slope_rank, slope_dims, inputs[1].data)};
    int y;
    builder_node(b, "PRelu", 2, node_inputs, 1, &y);
    builder_output(b, y);
    char label[256], x_text[64], s_text[64];
    format_dims(x_text, sizeof x_text, x_rank, x_dims);
    format_dims(s_text, sizeof s_text, slope_rank, slope_dims);
    snprintf(label, sizeof label, "PRelu x %s slope %s%s", x_text, s_text, slope_input ? " (slope input)" : "");
    expect_run(label, b, slope_input ? 2 : 1, inputs, 1, &want, 1e-6);
    tensor_release(&inputs[0]);
    tensor_release(&inputs[1]);
}

static void prelu(uint64_t *seed) {
    const int64_t x[4] = {2, 3, 4, 5};
    const struct {
        int rank;
        int64_t dims[4];
    } slopes[] = {{0, {0}}, {1, {1}}, {1, {5}}, {2, {4, 5}}, {3, {3, 1, 1}}, {3, {3, 4, 1}}, {4, {2, 3, 4, 5}},
                  {4, {1, 3, 1, 1}}};
    for (size_t s = 0; s < sizeof slopes / sizeof slopes[0]; s++)
        run_prelu(4, x, slopes[s].rank, slopes[s].dims, (int)(s % 2), seed);
    const int64_t x2[2] = {7, 13}, slope2[1] = {13};
    run_prelu(2, x2, 1, slope2, 0, seed);
    /* The slope must broadcast to the input, not the other way round. */
    const int64_t small[2] = {3, 1}, wide[2] = {3, 4};
    builder *b = builder_create(16);
    int inputs[2] = {builder_input(b, "x", 2, small), builder_floats(b, "slope", 2, wide, (float[12]){0})};
    int y;
    builder_node(b, "PRelu", 2, inputs, 1, &y);
    builder_output(b, y);
    illume_tensor shape = {ILLUME_FLOAT32, 2, {3, 1}, NULL};
    expect_refusal("PRelu with a slope wider than the input", b, 1, &shape, ILLUME_ERROR_INVALID_MODEL, "slope");
}

/* Arithmetic on a convolution's output, which the layout pass keeps channels
 * last: constants of every broadcast shape on either side (permuted by the
 * pass), a second convolution's output, and a plain graph input. */
static void after_conv(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 5, 6};
    const struct {
        int rank;
        int64_t dims[4];
    } constants[] = {{0, {0}},       {1, {1}},          {1, {6}},          {2, {5, 1}}, {3, {4, 1, 1}},
                     {4, {1, 4, 1, 1}}, {4, {2, 1, 1, 1}}, {3, {4, 5, 6}},    {4, {2, 4, 5, 6}}, {2, {5, 6}}};
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        for (int first = 0; first <= 1; first++) {
            /* A Conv output is never the divisor: its values near zero would magnify rounding. */
            const char *op = ops[(i + (size_t)first) % (first ? 3 : 4)];
            illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
            illume_tensor constant = tensor_random(constants[i].rank, constants[i].dims, 0.5f, 2.0f, seed);
            builder *b = builder_create(14);
            illume_tensor produced;
            int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 4, seed, &produced);
            int c = builder_floats(b, "c", constants[i].rank, constants[i].dims, constant.data);
            int inputs[2] = {first ? c : conv, first ? conv : c};
            illume_tensor want = first ? reference_binary(op, &constant, &produced)
                                       : reference_binary(op, &produced, &constant);
            int y;
            builder_node(b, op, 2, inputs, 1, &y);
            builder_output(b, y);
            char label[128], shape[64];
            format_dims(shape, sizeof shape, constants[i].rank, constants[i].dims);
            snprintf(label, sizeof label, "%s of Conv output and constant %s%s", op, shape,
                     first ? " (constant first)" : "");
            expect_run_layouts(label, b, 1, &x, 1, &want, 1e-5);
            tensor_release(&constant);
            tensor_release(&produced);
            tensor_release(&x);
        }
    /* Two convolutions' outputs, one 1x1, broadcast together; and a Conv output with a graph input. */
    const int64_t small_dims[4] = {2, 3, 1, 1};
    illume_tensor inputs[2] = {tensor_random(4, x_dims, -1.0f, 1.0f, seed),
                               tensor_random(4, small_dims, -1.0f, 1.0f, seed)};
    for (int o = 0; o < 3; o++) {
        builder *b = builder_create(14);
        illume_tensor first, second;
        int a = add_conv(b, builder_input(b, "x", 4, x_dims), &inputs[0], 4, seed, &first);
        int c = add_conv(b, builder_input(b, "z", 4, small_dims), &inputs[1], 4, seed, &second);
        int node_inputs[2] = {o % 2 ? c : a, o % 2 ? a : c};
        illume_tensor want =
            o % 2 ? reference_binary(ops[o], &second, &first) : reference_binary(ops[o], &first, &second);
        int y;
        builder_node(b, ops[o], 2, node_inputs, 1, &y);
        builder_output(b, y);
        char label[96];
        snprintf(label, sizeof label, "%s of two Conv outputs, one 1x1", ops[o]);
        expect_run_layouts(label, b, 2, inputs, 1, &want, 1e-5);
        tensor_release(&first);
        tensor_release(&second);
    }
    const int64_t plain_dims[4] = {2, 4, 5, 6};
    illume_tensor mixed[2] = {inputs[0], tensor_random(4, plain_dims, -1.0f, 1.0f, seed)};
    builder *b = builder_create(14);
    illume_tensor produced;
    int node_inputs[2] = {add_conv(b, builder_input(b, "x", 4, x_dims), &inputs[0], 4, seed, &produced),
                          builder_input(b, "p", 4, plain_dims)};
    int y;
    builder_node(b, "Sub", 2, node_inputs, 1, &y);
    builder_output(b, y);
    illume_tensor want = reference_binary("Sub", &produced, &mixed[1]);
    expect_run_layouts("Sub of a Conv output and a graph input", b, 2, mixed, 1, &want, 1e-5);
    tensor_release(&produced);
    tensor_release(&mixed[1]);
    /* PRelu after Conv with per-channel, per-column and single slopes. */
    const struct {
        int rank;
        int64_t dims[3];
    } slopes[] = {{3, {4, 1, 1}}, {1, {6}}, {1, {1}}, {3, {4, 5, 6}}};
    for (size_t i = 0; i < sizeof slopes / sizeof slopes[0]; i++) {
        illume_tensor slope = tensor_random(slopes[i].rank, slopes[i].dims, -0.5f, 0.5f, seed);
        b = builder_create(16);
        int prelu_inputs[2] = {add_conv(b, builder_input(b, "x", 4, x_dims), &inputs[0], 4, seed, &produced),
                               builder_floats(b, "slope", slopes[i].rank, slopes[i].dims, slope.data)};
        builder_node(b, "PRelu", 2, prelu_inputs, 1, &y);
        builder_output(b, y);
        want = reference_binary("PRelu", &produced, &slope);
        char label[96], shape[64];
        format_dims(shape, sizeof shape, slopes[i].rank, slopes[i].dims);
        snprintf(label, sizeof label, "PRelu after Conv, slope %s", shape);
        expect_run_layouts(label, b, 1, inputs, 1, &want, 1e-5);
        tensor_release(&produced);
        tensor_release(&slope);
    }
    tensor_release(&inputs[0]);
    tensor_release(&inputs[1]);
}

int main(void) {
    uint64_t seed = 11;
    broadcasting(&seed);
    power_and_extremes(&seed);
    integer_folding();
    prelu(&seed);
    after_conv(&seed);
    return test_report("ops/arithmetic");
}
