/* Cast. illume computes in float32 and int64: a cast within one of those
 * families is a view; a cast across them folds when its input is constant. */
#include <math.h>

#include "op_support.h"
#include "tensor_data.h"

/* saturate and round_mode shape casts to float8 types only, which illume refuses. */
static const op_attribute attributes[] = {
    {"to", ATTRIBUTE_INT, 0, 0}, {"saturate", ATTRIBUTE_INT, 19, 0}, {"round_mode", ATTRIBUTE_STRING, 24, 0},
    {NULL, 0, 0, 0}};

enum { ONNX_BOOL = 9 };

static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    illume_dtype dtype;
    int64_t to = graph_attribute_int(node, "to", 0);
    if (!tensor_data_dtype((int32_t)to, &dtype))
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "casting to %s is not supported",
                         tensor_data_type_name((int32_t)to));
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    illume_dtype dtype;
    int64_t to = graph_attribute_int(node, "to", 0);
    tensor_data_dtype((int32_t)to, &dtype);
    if ((dtype != x->dtype || to == ONNX_BOOL) && !x->constant)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED,
                         "a cast between float and integer data is only supported on constants");
    return set_output(context, g, node, 0, dtype, x->rank, x->dims);
}

static illume_status fold(illume_context *context, graph *g, graph_node *node) {
    const graph_value *x = graph_input(g, node, 0);
    const graph_value *y = graph_output(g, node, 0);
    int to_bool = graph_attribute_int(node, "to", 0) == ONNX_BOOL;
    if (x->dtype == y->dtype && !to_bool) return fold_view(context, g, node);
    void *data = allocate_output_constant(context, g, node, 0);
    if (!data) return ILLUME_ERROR_OUT_OF_MEMORY;
    int64_t count;
    shape_element_count(x->rank, x->dims, &count);
    for (int64_t i = 0; i < count; i++) {
        if (x->dtype == ILLUME_FLOAT32 && y->dtype == ILLUME_INT64) {
            float f = ((const float *)x->constant)[i];
            int64_t value = isnan(f) ? 0 : (f >= 9.2e18f ? INT64_MAX : (f <= -9.2e18f ? INT64_MIN : (int64_t)f));
            ((int64_t *)data)[i] = to_bool ? f != 0.0f : value;
        } else if (x->dtype == ILLUME_INT64 && y->dtype == ILLUME_FLOAT32) {
            ((float *)data)[i] = (float)((const int64_t *)x->constant)[i];
        } else {
            ((int64_t *)data)[i] = ((const int64_t *)x->constant)[i] != 0;
        }
    }
    return ILLUME_OK;
}

const op_definition op_cast = {
    .name = "Cast", .traits = OP_KEEPS_POSITIONS, .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
    .attributes = attributes, .check = check, .infer = infer, .fold = fold, .is_view = 1};
