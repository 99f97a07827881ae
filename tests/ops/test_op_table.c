/* The op table's traits (runtime/op.h): the passes and the methods decide by
 * them what an op is, so an op that lacks one they need is misread without
 * an error (LRP takes its gradient, the layout pass stops at it, the batch
 * split keeps it whole). Walks every op and checks that each declares its
 * traits and that the traits agree with each other and with the op's
 * definition. */
#include <stdio.h>
#include <string.h>

#include "op.h"
#include "test_support.h"

static int has(const op_definition *op, unsigned traits) { return (op->traits & traits) == traits; }

static void check(const op_definition *op) {
    count_case();
    const char *name = op->name;
    if (!op->traits) test_fail("%s: no traits (OP_PLAIN when none holds)", name);
    if (has(op, OP_PLAIN) && op->traits != OP_PLAIN) test_fail("%s: OP_PLAIN beside other traits", name);
    if (has(op, OP_LINEAR) && (op->min_inputs < 2 || !op->backward))
        test_fail("%s: a linear op reads a weight input and has a backward", name);
    if (op->kind == KIND_CONVOLUTION && !has(op, OP_LINEAR | OP_CHANNELS_FIRST))
        test_fail("%s: a convolution is linear and reads channels on axis 1", name);
    if (has(op, OP_ACTIVATION) && op->kind != KIND_UNARY && op->kind != KIND_BINARY)
        test_fail("%s: an activation works element by element (kind unary or binary)", name);
    if (has(op, OP_GATE) && !has(op, OP_ACTIVATION | OP_NONNEGATIVE))
        test_fail("%s: a gate is an activation into [0, 1]", name);
    if (has(op, OP_SUM) + has(op, OP_SCALING) + has(op, OP_ACTIVATION) > 1)
        test_fail("%s: a sum, a scaling and an activation exclude each other", name);
    if ((has(op, OP_SUM) || has(op, OP_SCALING)) && !has(op, OP_AFFINE))
        test_fail("%s: a sum or a scaling by a constant is affine", name);
    if (has(op, OP_AFFINE) && op->kind != KIND_BINARY) test_fail("%s: affine maps broadcast (kind binary)", name);
    if (has(op, OP_AVERAGING) && has(op, OP_MAX_POOLING)) test_fail("%s: averages or takes maxima, not both", name);
    if ((has(op, OP_AVERAGING) || has(op, OP_MAX_POOLING)) && !has(op, OP_KEEPS_SIGN))
        test_fail("%s: pools and averages keep the sign", name);
    if (has(op, OP_KEEPS_SIGN) && has(op, OP_NONNEGATIVE)) test_fail("%s: KEEPS_SIGN is implied by NONNEGATIVE", name);
    if (has(op, OP_PASS_THROUGH) && !op->is_view) test_fail("%s: a pass-through is a view of its input", name);
    /* Cast is the view that converts: an integer input's sign is not one LRP's float analysis reads. */
    if (op->is_view && !has(op, OP_KEEPS_SIGN) && strcmp(name, "Cast"))
        test_fail("%s: a view moves values, so it keeps their sign", name);
    if (has(op, OP_SHAPED_BY_INPUT) && (op->shape_input < 0 || op->shape_input >= op->max_inputs))
        test_fail("%s: shape input %d is not one of its inputs", name, op->shape_input);
    if (!has(op, OP_SHAPED_BY_INPUT) && op->shape_input) test_fail("%s: a shape input without the trait", name);
    if (op->kind == KIND_UNARY && !op->forward) test_fail("%s: a unary op runs", name);
}

/* The ops that the methods' rules single out by trait, each where its rule
 * needs it: a new op that belongs to one of these groups must say so. */
static void check_groups(void) {
    static const struct {
        const char *op;
        unsigned traits;
    } expected[] = {
        {"Conv", OP_LINEAR},          {"Gemm", OP_LINEAR},           {"MatMul", OP_LINEAR},
        {"Relu", OP_NONNEGATIVE},     {"Sigmoid", OP_GATE},          {"BatchNormalization", OP_NORMALIZATION},
        {"Add", OP_SUM},              {"Mul", OP_SCALING},           {"GlobalAveragePool", OP_AVERAGING},
        {"MaxPool", OP_MAX_POOLING},  {"Identity", OP_PASS_THROUGH}, {"Reshape", OP_SHAPED_BY_INPUT},
    };
    for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++) {
        count_case();
        int op = op_find(expected[k].op);
        if (op < 0) test_fail("%s is not in the op table", expected[k].op);
        else if (!has(op_get(op), expected[k].traits)) test_fail("%s lacks a trait its rules need", expected[k].op);
    }
}

int main(void) {
    for (int op = 0; op < op_count(); op++) {
        const op_definition *definition = op_get(op);
        for (int other = 0; other < op; other++)
            if (!strcmp(op_get(other)->name, definition->name)) test_fail("%s is in the table twice", definition->name);
        check(definition);
    }
    check_groups();
    return test_report("ops/op_table");
}
