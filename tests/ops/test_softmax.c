/* Softmax and LogSoftmax: the opset 13 semantics (one axis, default -1)
 * and the earlier ones (the input coerced to 2-D at axis, default 1), on
 * every axis of odd shapes, with values large enough to need the
 * max-subtraction. */
#include <stdio.h>

#include "reference.h"
#include "test_support.h"

static void run_case(const char *op, int opset, int rank, const int64_t *dims, int set_axis, int64_t axis,
                     uint64_t *seed) {
    illume_tensor x = tensor_random(rank, dims, -4.0f, 4.0f, seed);
    int64_t count = tensor_count(&x);
    if (count > 2) {
        ((float *)x.data)[0] = 95.0f;
        ((float *)x.data)[count - 1] = -95.0f;
    }
    int64_t used_axis = set_axis ? axis : (opset < 13 ? 1 : -1);
    illume_tensor want = reference_softmax(&x, used_axis, opset, op[0] == 'L');
    builder *b = builder_create(opset);
    int y, input = builder_input(b, "x", rank, dims);
    int node = builder_node(b, op, 1, &input, 1, &y);
    if (set_axis) builder_attribute_int(b, node, "axis", axis);
    builder_output(b, y);
    char label[128];
    snprintf(label, sizeof label, "%s opset %d rank %d axis %lld%s", op, opset, rank, (long long)used_axis,
             set_axis ? "" : " (default)");
    expect_run(label, b, 1, &x, 1, &want, 1e-5);
    tensor_release(&x);
}

int main(void) {
    uint64_t seed = 13;
    const char *ops[2] = {"Softmax", "LogSoftmax"};
    const int64_t four[4] = {2, 3, 5, 7}, two[2] = {3, 11}, one[1] = {13}, unit[3] = {4, 1, 3};
    for (int o = 0; o < 2; o++)
        for (int legacy = 0; legacy <= 1; legacy++) {
            int opset = legacy ? 11 : 13;
            run_case(ops[o], opset, 4, four, 0, 0, &seed);
            for (int64_t axis = -4; axis < 4; axis++) run_case(ops[o], opset, 4, four, 1, axis, &seed);
            run_case(ops[o], opset, 2, two, 0, 0, &seed);
            run_case(ops[o], opset, 2, two, 1, 0, &seed);
            run_case(ops[o], opset, 1, one, 1, 0, &seed);
            run_case(ops[o], opset, 3, unit, 1, 1, &seed);
            run_case(ops[o], opset, 3, unit, 1, -1, &seed);
        }
    run_case("Softmax", 13, 1, one, 0, 0, &seed);
    run_case("LogSoftmax", 12, 3, unit, 0, 0, &seed);
    return test_report("ops/softmax");
}
