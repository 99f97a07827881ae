/* The ops illume runs, by ONNX name, and how opsets bound their parts. */
#include <stdio.h>
#include <string.h>

#include "op.h"

extern const op_definition op_abs, op_add, op_average_pool, op_batch_normalization, op_cast, op_clip, op_concat,
    op_constant_of_shape, op_conv, op_conv_transpose, op_div, op_dropout, op_elu, op_erf, op_exp, op_flatten,
    op_gather, op_gemm, op_global_average_pool, op_global_max_pool, op_hard_sigmoid, op_hard_swish, op_identity,
    op_leaky_relu, op_log, op_log_softmax, op_lrn, op_matmul, op_max, op_max_pool, op_min, op_mul, op_neg, op_pad,
    op_pow, op_prelu, op_reciprocal, op_reduce_mean, op_reduce_sum, op_relu, op_reshape, op_resize, op_shape,
    op_sigmoid, op_sign, op_slice, op_softmax, op_split, op_sqrt, op_squeeze, op_sub, op_tanh, op_transpose,
    op_unsqueeze;

/* In alphabetical order of the definitions' names. */
static const op_definition *const table[] = {
    &op_abs, &op_add, &op_average_pool, &op_batch_normalization, &op_cast, &op_clip, &op_concat,
    &op_constant_of_shape, &op_conv, &op_conv_transpose, &op_div, &op_dropout, &op_elu, &op_erf, &op_exp, &op_flatten,
    &op_gather, &op_gemm, &op_global_average_pool, &op_global_max_pool, &op_hard_sigmoid, &op_hard_swish,
    &op_identity, &op_leaky_relu, &op_log, &op_log_softmax, &op_lrn, &op_matmul, &op_max, &op_max_pool, &op_min,
    &op_mul, &op_neg, &op_pad, &op_pow, &op_prelu, &op_reciprocal, &op_reduce_mean, &op_reduce_sum, &op_relu,
    &op_reshape, &op_resize, &op_shape, &op_sigmoid, &op_sign, &op_slice, &op_softmax, &op_split, &op_sqrt,
    &op_squeeze, &op_sub, &op_tanh, &op_transpose, &op_unsqueeze};

int op_count(void) { return (int)(sizeof table / sizeof table[0]); }

int op_find(const char *name) {
    for (int i = 0; i < op_count(); i++)
        if (strcmp(table[i]->name, name) == 0) return i;
    return -1;
}

const op_definition *op_get(int op) { return op >= 0 && op < op_count() ? table[op] : NULL; }

int graph_node_is(const graph_node *node, const char *name) {
    const op_definition *definition = op_get(node->op);
    return definition && strcmp(definition->name, name) == 0;
}

int op_node_has(const graph_node *node, unsigned traits) {
    const op_definition *definition = op_get(node->op);
    return definition && (definition->traits & traits) == traits;
}

op_kind graph_op_kind(const graph_node *node) {
    const op_definition *definition = op_get(node->op);
    return definition ? definition->kind : KIND_OTHER;
}

int op_opset_within(int opset, int since, int until) { return opset >= since && (until == 0 || opset <= until); }

void op_opset_range_text(int since, int until, char *buffer, size_t size) {
    if (since && since == until) snprintf(buffer, size, "only in opset %d", since);
    else if (since && until) snprintf(buffer, size, "in opsets %d to %d", since, until);
    else if (until) snprintf(buffer, size, "until opset %d", until);
    else snprintf(buffer, size, "from opset %d", since);
}
