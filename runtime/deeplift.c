/* DeepLIFT's rules as Captum's DeepLift defines them (docs/methods.md). The
 * batch's first half holds the inputs, its second their baselines, so that
 * every value's reference lies half the value's elements further on, in any
 * layout (the batch dimension is outermost). */
#include "deeplift.h"

#include <string.h>

#include "lrp.h"
#include "ops/op_support.h"

static int rescales(const graph_node *node) {
    static const char *const names[] = {"Relu", "Elu", "LeakyRelu", "Sigmoid", "Tanh", "Softplus"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (!strcmp(op_get(node->op)->name, names[k])) return 1;
    return 0;
}

/* The routed parts of the output's change, unpooled by each half's argmax
 * (the op's own backward), summed over the halves and divided by the input's
 * change; where the input does not change, the gradient stands. */
static illume_status max_pool(const op_backward_call *call, float *parts, float *routed) {
    const op_call *forward = call->forward;
    backend *device = forward->backend;
    int64_t y_half = output_elements(forward->graph, forward->node, 0) / 2;
    int64_t x_half = input_elements(forward->graph, forward->node, 0) / 2;
    ILLUME_TRY(device->deeplift(device, DEEPLIFT_POOL_PARTS, y_half, NULL, forward->outputs[0],
                                call->output_gradients[0], parts));
    const float *output_gradients[1] = {parts};
    float *input_gradients[1] = {routed};
    op_backward_call route = *call;
    route.output_gradients = output_gradients;
    route.input_gradients = input_gradients;
    ILLUME_TRY(op_get(forward->node->op)->backward(&route));
    return device->deeplift(device, DEEPLIFT_POOL_COMBINE, x_half, forward->inputs[0], routed, NULL,
                            call->input_gradients[0]);
}

illume_status deeplift_backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    const graph_node *node = forward->node;
    const op_definition *definition = op_get(node->op);
    ILLUME_TRY(definition->backward(call));
    float *dx = call->input_gradients[0];
    if (!dx) return ILLUME_OK;
    int64_t x_count = input_elements(forward->graph, node, 0), y_count = output_elements(forward->graph, node, 0);
    backend *device = forward->backend;
    if (rescales(node) && x_count == y_count)
        return device->deeplift(device, DEEPLIFT_RESCALE, x_count / 2, forward->inputs[0], forward->outputs[0],
                                call->output_gradients[0], dx);
    if (strcmp(definition->name, "MaxPool")) return ILLUME_OK;
    size_t op_scratch = definition->backward_scratch_bytes ? definition->backward_scratch_bytes(forward->graph, node)
                                                           : 0;
    float *parts = (float *)((char *)call->scratch + (op_scratch + 63) / 64 * 64);
    return max_pool(call, parts, parts + y_count);
}
