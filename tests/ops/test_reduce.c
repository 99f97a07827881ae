/* ReduceMean and ReduceSum with axes as an attribute (ReduceMean before
 * opset 18, ReduceSum before 13) and as an input, negative axes, keepdims
 * on and off, all axes, and noop_with_empty_axes. */
#include <stdio.h>
#include <string.h>

#include "reference.h"
#include "test_support.h"

/* The opset from which an op takes its axes as an input. */
static int axes_input_since(const char *op) { return strcmp(op, "ReduceSum") == 0 ? 13 : 18; }

/* count < 0: no axes given at all. */
static void run_case(const char *op, int opset, int rank, const int64_t *dims, int count, const int64_t *axes, int keepdims,
                     int set_keepdims, int noop, uint64_t *seed) {
    illume_tensor x = tensor_random(rank, dims, -3.0f, 3.0f, seed);
    int sum = strcmp(op, "ReduceSum") == 0, since = axes_input_since(op);
    illume_tensor want = sum ? reference_reduce_sum(&x, count > 0 ? count : 0, axes, keepdims, noop)
                             : reference_reduce_mean(&x, count > 0 ? count : 0, axes, keepdims, noop);
    builder *b = builder_create(opset);
    int inputs[2] = {builder_input(b, "x", rank, dims), -1};
    if (opset >= since && count >= 0) inputs[1] = builder_int_list(b, "axes", count, axes);
    int y, node = builder_node(b, op, inputs[1] >= 0 ? 2 : 1, inputs, 1, &y);
    if (opset < since && count >= 0) builder_attribute_ints(b, node, "axes", count, axes);
    if (set_keepdims) builder_attribute_int(b, node, "keepdims", keepdims);
    if (noop) builder_attribute_int(b, node, "noop_with_empty_axes", 1);
    builder_output(b, y);
    char label[160], axes_text[64] = "none";
    if (count >= 0) {
        size_t used = (size_t)snprintf(axes_text, sizeof axes_text, "[");
        for (int i = 0; i < count; i++)
            used += (size_t)snprintf(axes_text + used, sizeof axes_text - used, "%s%lld", i ? "," : "",
                                     (long long)axes[i]);
        snprintf(axes_text + used, sizeof axes_text - used, "]");
    }
    snprintf(label, sizeof label, "%s opset %d rank %d axes %s keepdims %d noop_with_empty_axes %d", op, opset,
             rank, axes_text, keepdims, noop);
    expect_run(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&x);
}

int main(void) {
    uint64_t seed = 17;
    const int64_t four[4] = {3, 5, 7, 2}, two[2] = {1, 13}, one[1] = {11};
    const struct {
        int count;
        int64_t axes[4];
    } axis_sets[] = {{1, {1}}, {2, {0, 2}}, {1, {-1}}, {2, {-3, 3}}, {3, {0, 1, 3}}, {4, {0, 1, 2, 3}}, {-1, {0}}};
    static const char *const ops[2] = {"ReduceMean", "ReduceSum"};
    for (int o = 0; o < 2; o++) {
        const char *op = ops[o];
        int since = axes_input_since(op);
        for (int legacy = 0; legacy <= 1; legacy++) {
            int opset = legacy ? since - 1 : since;
            for (size_t s = 0; s < sizeof axis_sets / sizeof axis_sets[0]; s++)
                for (int keepdims = 0; keepdims <= 1; keepdims++)
                    run_case(op, opset, 4, four, axis_sets[s].count, axis_sets[s].axes, keepdims, !keepdims || s % 2,
                             0, &seed);
            run_case(op, opset, 2, two, 1, (int64_t[]){1}, 0, 1, 0, &seed);
            run_case(op, opset, 2, two, 1, (int64_t[]){0}, 1, 1, 0, &seed);
            run_case(op, opset, 1, one, 1, (int64_t[]){0}, 0, 1, 0, &seed);
            run_case(op, opset, 1, one, -1, NULL, 1, 0, 0, &seed);
        }
        /* From the axes input on: no axes (or an empty list) with noop_with_empty_axes returns the input. */
        run_case(op, since, 4, four, -1, NULL, 1, 0, 1, &seed);
        run_case(op, since, 4, four, 0, NULL, 1, 0, 1, &seed);
        run_case(op, since, 4, four, 0, NULL, 0, 1, 0, &seed);
    }
    return test_report("ops/reduce");
}
