#include "op_support.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_copy.h"

const char *node_op_name(const graph_node *node) {
    const op_definition *definition = op_get(node->op);
    if (definition) return definition->name;
    return node->op_type ? node->op_type : "?";
}

illume_status node_fail(illume_context *context, const graph_node *node, illume_status status, const char *format,
                        ...) {
    char detail[ILLUME_MESSAGE_SIZE];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(detail, sizeof detail, format, arguments);
    va_end(arguments);
    return illume_fail(context, status, "node '%s' (%s): %s", node->name, node_op_name(node), detail);
}

illume_status require_shape(illume_context *context, const graph *g, const graph_node *node, int i, int rank) {
    const graph_value *value = graph_input(g, node, i);
    if (!value) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input %d is missing", i);
    if (value->rank < 0)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "the shape of input '%s' is unknown", value->name);
    for (int d = 0; d < value->rank; d++)
        if (value->dims[d] < 0)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "the shape of input '%s' is unknown",
                             value->name);
    if (rank >= 0 && value->rank != rank)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input '%s' has rank %d, expected %d", value->name,
                         value->rank, rank);
    return ILLUME_OK;
}

illume_status require_float(illume_context *context, const graph *g, const graph_node *node, int i) {
    const graph_value *value = graph_input(g, node, i);
    if (value && value->dtype != ILLUME_FLOAT32)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "input '%s' must be a float tensor", value->name);
    return ILLUME_OK;
}

static illume_status constant_input(illume_context *context, const graph *g, const graph_node *node, int i,
                                    int capacity, const graph_value **result, int *count) {
    const graph_value *value = graph_input(g, node, i);
    if (!value) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input %d is missing", i);
    if (!value->constant)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED,
                         "input '%s' must be known when the session is made (it depends on the input data)",
                         value->name);
    int64_t elements;
    if (value->rank > 1 || shape_element_count(value->rank, value->dims, &elements))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input '%s' must be a scalar or a 1-D tensor",
                         value->name);
    if (elements > capacity)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input '%s' has %lld values, more than %d",
                         value->name, (long long)elements, capacity);
    *result = value;
    *count = (int)elements;
    return ILLUME_OK;
}

illume_status constant_ints(illume_context *context, const graph *g, const graph_node *node, int i,
                            int64_t *values, int capacity, int *count) {
    const graph_value *value;
    ILLUME_TRY(constant_input(context, g, node, i, capacity, &value, count));
    for (int k = 0; k < *count; k++) {
        if (value->dtype == ILLUME_INT64) {
            values[k] = ((const int64_t *)value->constant)[k];
        } else {
            float f = ((const float *)value->constant)[k];
            if (!(f == floorf(f)) || fabsf(f) > 9.0e15f)
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "input '%s' must hold integers",
                                 value->name);
            values[k] = (int64_t)f;
        }
    }
    return ILLUME_OK;
}

illume_status constant_floats(illume_context *context, const graph *g, const graph_node *node, int i, float *values,
                              int capacity, int *count) {
    const graph_value *value;
    ILLUME_TRY(constant_input(context, g, node, i, capacity, &value, count));
    for (int k = 0; k < *count; k++)
        values[k] = value->dtype == ILLUME_FLOAT32 ? ((const float *)value->constant)[k]
                                                   : (float)((const int64_t *)value->constant)[k];
    return ILLUME_OK;
}

illume_status normalize_axis(illume_context *context, const graph_node *node, int64_t axis, int rank, int *result) {
    if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "axis %lld is out of range for rank %d",
                         (long long)axis, rank);
    *result = (int)(axis < 0 ? axis + rank : axis);
    return ILLUME_OK;
}

illume_status broadcast_shapes(illume_context *context, const graph *g, const graph_node *node, int first, int last,
                               int *rank, int64_t *dims) {
    int out_rank = 0;
    for (int i = first; i < last; i++) {
        ILLUME_TRY(require_shape(context, g, node, i, -1));
        if (OP_INPUT_RANK(g, node, i) > out_rank) out_rank = OP_INPUT_RANK(g, node, i);
    }
    for (int d = 0; d < out_rank; d++) dims[d] = 1;
    for (int i = first; i < last; i++) {
        int r = OP_INPUT_RANK(g, node, i);
        const int64_t *in = OP_INPUT_DIMS(g, node, i);
        for (int d = 0; d < r; d++) {
            int64_t *target = &dims[out_rank - r + d];
            if (in[d] == *target || in[d] == 1) continue;
            if (*target == 1) {
                *target = in[d];
                continue;
            }
            char a[128], b[128];
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "shapes %s and %s do not broadcast",
                             shape_format(OP_INPUT_RANK(g, node, first), OP_INPUT_DIMS(g, node, first), a, sizeof a),
                             shape_format(r, in, b, sizeof b));
        }
    }
    *rank = out_rank;
    return ILLUME_OK;
}

int64_t saturating_product(int64_t a, int64_t b) {
    if (a <= 0 || b <= 0) return 0;
    return b > INT64_MAX / a ? INT64_MAX : a * b;
}

void contiguous_strides(int rank, const int64_t *dims, int64_t *strides) {
    int64_t stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = stride;
        stride = dims[d] > 0 && stride > SHAPE_EXTENT_LIMIT / dims[d] ? SHAPE_EXTENT_LIMIT : stride * dims[d];
    }
}

void broadcast_strides(int rank_in, const int64_t *dims_in, int rank, int64_t *strides) {
    int64_t own[ILLUME_MAX_RANK];
    contiguous_strides(rank_in, dims_in, own);
    for (int d = 0; d < rank; d++) {
        int k = d - (rank - rank_in);
        strides[d] = k < 0 || dims_in[k] == 1 ? 0 : own[k];
    }
}

illume_status set_output(illume_context *context, graph *g, const graph_node *node, int o, illume_dtype dtype,
                         int rank, const int64_t *dims) {
    graph_value *value = graph_output(g, node, o);
    if (!value) return ILLUME_OK;
    if (rank < 0 || rank > ILLUME_MAX_RANK)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "output rank %d exceeds %d", rank, ILLUME_MAX_RANK);
    for (int d = 0; d < rank; d++)
        if (dims[d] < 0)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "output dimension %d is negative (%lld)", d,
                             (long long)dims[d]);
    int64_t extent;
    if (shape_extent(rank, dims, &extent)) {
        char shape[256];
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL,
                         "output '%s' of shape %s is too large: its dimensions, zeros left out, multiply past "
                         "2^60 - 1", value->name, shape_format(rank, dims, shape, sizeof shape));
    }
    value->dtype = dtype;
    value->rank = rank;
    for (int d = 0; d < ILLUME_MAX_RANK; d++) value->dims[d] = d < rank ? dims[d] : 0;
    return ILLUME_OK;
}

illume_status set_output_like(illume_context *context, graph *g, const graph_node *node, int o, int i) {
    ILLUME_TRY(require_shape(context, g, node, i, -1));
    const graph_value *input = graph_input(g, node, i);
    return set_output(context, g, node, o, input->dtype, input->rank, input->dims);
}

void set_output_constant(graph *g, const graph_node *node, int o, void *data) {
    graph_value *value = graph_output(g, node, o);
    if (value->owns_constant) free(value->constant);
    value->constant = data;
    value->owns_constant = 1;
}

void *allocate_output_constant(illume_context *context, graph *g, const graph_node *node, int o) {
    graph_value *value = graph_output(g, node, o);
    size_t bytes;
    if (!value || value_byte_size(value, &bytes)) {
        node_fail(context, node, ILLUME_ERROR_INTERNAL, "output %d has no known size", o);
        return NULL;
    }
    void *data = calloc(1, bytes ? bytes : 1);
    if (!data) {
        node_fail(context, node, ILLUME_ERROR_OUT_OF_MEMORY, "cannot allocate %zu bytes", bytes);
        return NULL;
    }
    set_output_constant(g, node, o, data);
    return data;
}

illume_status convolution_run(const op_call *call, convolution_desc *desc) {
    const graph_node *node = call->node;
    desc->activation = (unary_kind)node->fused_activation.kind;
    desc->activation_alpha = node->fused_activation.alpha;
    desc->activation_beta = node->fused_activation.beta;
    if (node->fused_add) {
        desc->accumulate = 1;
        const float *addend = call->inputs[node->input_count - 1];
        if (addend != call->outputs[0]) {
            const graph_value *y = graph_output(call->graph, node, 0);
            int64_t count;
            shape_element_count(y->rank, y->dims, &count);
            copy_desc copy = {.rank = 1, .dims = {count}, .src_strides = {1}, .dst_strides = {1}};
            ILLUME_TRY(call->backend->copy(call->backend, &copy, addend, call->outputs[0]));
        }
    }
    return call->backend->convolution(call->backend, desc, call->state, call->inputs[0], call->inputs[1],
                                      call->inputs[2], call->outputs[0]);
}

illume_status convolution_backward_run(const op_backward_call *call, const convolution_desc *desc) {
    const op_call *forward = call->forward;
    const graph_node *node = forward->node;
    backend *device = forward->backend;
    ILLUME_TRY(refuse_gradient(call, 1, 2, "weights or bias"));
    const float *dy = call->output_gradients[0];
    int64_t count = output_elements(forward->graph, node, 0);
    if (node->fused_activation.kind) {
        unary_backward_desc activation = {(unary_kind)node->fused_activation.kind, node->fused_activation.alpha,
                                          node->fused_activation.beta, count, call->rule};
        ILLUME_TRY(device->unary_backward(device, &activation, NULL, forward->outputs[0], dy, call->scratch));
        dy = call->scratch;
    }
    if (node->fused_add && call->input_gradients[node->input_count - 1]) {
        copy_desc copy = {.rank = 1, .dims = {count}, .src_strides = {1}, .dst_strides = {1}};
        ILLUME_TRY(device->copy(device, &copy, dy, call->input_gradients[node->input_count - 1]));
    }
    if (!call->input_gradients[0]) return ILLUME_OK;
    convolution_desc plain = *desc;
    plain.activation = UNARY_COPY;
    plain.accumulate = 0;
    return device->convolution_backward(device, &plain, call->state, dy, forward->inputs[1],
                                        call->input_gradients[0]);
}

op_reads convolution_backward_reads(const graph *g, const graph_node *node) {
    (void)g;
    return (op_reads){.outputs = node->fused_activation.kind ? 1u : 0u};
}

size_t convolution_backward_scratch(const graph *g, const graph_node *node) {
    return node->fused_activation.kind ? (size_t)output_elements(g, node, 0) * sizeof(float) : 0;
}

illume_status window_geometry_check(illume_context *context, const graph_node *node) {
    const char *auto_pad = graph_attribute_string(node, "auto_pad", "NOTSET");
    if (strcmp(auto_pad, "NOTSET") && strcmp(auto_pad, "VALID") && strcmp(auto_pad, "SAME_UPPER") &&
        strcmp(auto_pad, "SAME_LOWER"))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "auto_pad '%s' is not one of NOTSET, VALID, "
                         "SAME_UPPER, SAME_LOWER", auto_pad);
    int count;
    const int64_t *values = graph_attribute_ints(node, "strides", &count);
    for (int i = 0; i < count; i++)
        if (values[i] < 1) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "strides must be positive");
    values = graph_attribute_ints(node, "dilations", &count);
    for (int i = 0; i < count; i++)
        if (values[i] < 1) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "dilations must be positive");
    values = graph_attribute_ints(node, "pads", &count);
    for (int i = 0; i < count; i++)
        if (values[i] < 0) return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "negative pads are not supported");
    values = graph_attribute_ints(node, "kernel_shape", &count);
    for (int i = 0; i < count; i++)
        if (values[i] < 1) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "kernel_shape must be positive");
    /* Bounded so that the geometry's int64 arithmetic cannot overflow. */
    static const char *const lists[] = {"strides", "dilations", "pads", "kernel_shape"};
    for (int l = 0; l < 4; l++) {
        values = graph_attribute_ints(node, lists[l], &count);
        for (int i = 0; i < count; i++)
            if (values[i] > INT32_MAX)
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "%s value %lld is too large", lists[l],
                                 (long long)values[i]);
    }
    return ILLUME_OK;
}

static illume_status spatial_list(illume_context *context, const graph_node *node, const char *name, int spatial,
                                  int64_t fallback, int64_t *values) {
    int count;
    const int64_t *given = graph_attribute_ints(node, name, &count);
    if (given && count != spatial)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "%s has %d values, expected %d", name, count,
                         spatial);
    for (int d = 0; d < spatial; d++) values[d] = given ? given[d] : fallback;
    return ILLUME_OK;
}

illume_status window_geometry_compute(illume_context *context, const graph *g, const graph_node *node,
                                      const int64_t *kernel, int ceil_mode, window_geometry *geometry) {
    const graph_value *x = graph_input(g, node, 0);
    int64_t x_dims[ILLUME_MAX_RANK];
    value_logical_dims(x, x_dims);
    int spatial = x->rank - 2;
    if (spatial < 1 || spatial > ILLUME_MAX_SPATIAL)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "input has rank %d; 1 to 3 spatial dims are supported",
                         x->rank);
    memset(geometry, 0, sizeof *geometry);
    geometry->spatial_rank = spatial;
    ILLUME_TRY(spatial_list(context, node, "strides", spatial, 1, geometry->stride));
    ILLUME_TRY(spatial_list(context, node, "dilations", spatial, 1, geometry->dilation));
    int pad_count;
    const int64_t *pads = graph_attribute_ints(node, "pads", &pad_count);
    if (pads && pad_count != 2 * spatial)
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "pads has %d values, expected %d", pad_count,
                         2 * spatial);
    const char *auto_pad = graph_attribute_string(node, "auto_pad", "NOTSET");
    for (int d = 0; d < spatial; d++) {
        int64_t in = x_dims[2 + d];
        int64_t k = kernel[d], s = geometry->stride[d], dilation = geometry->dilation[d];
        if (k < 1) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "kernel size %lld", (long long)k);
        if (k > INT32_MAX || in > (int64_t)1 << 62)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL,
                             "a window of %lld over %lld elements is too large", (long long)k, (long long)in);
        int64_t extent = (k - 1) * dilation + 1;
        int64_t begin = pads ? pads[d] : 0, end = pads ? pads[spatial + d] : 0, out;
        if (strcmp(auto_pad, "VALID") == 0) {
            begin = end = 0;
            out = in >= extent ? (in - extent) / s + 1 : 0;
        } else if (strncmp(auto_pad, "SAME", 4) == 0) {
            out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + extent - in;
            if (total < 0) total = 0;
            begin = strcmp(auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
            end = total - begin;
        } else {
            int64_t span = in + begin + end - extent;
            if (span < 0)
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL,
                                 "the window (%lld) is larger than the padded input (%lld)", (long long)extent,
                                 (long long)(in + begin + end));
            out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
            /* A window that starts inside the end padding is dropped, as PyTorch and ONNX do. */
            if (ceil_mode && (out - 1) * s >= in + begin) out--;
        }
        geometry->in_size[d] = in;
        geometry->out_size[d] = out;
        geometry->kernel[d] = k;
        geometry->pad_begin[d] = begin;
        geometry->pad_end[d] = end;
    }
    return ILLUME_OK;
}

typedef struct fold_closure {
    illume_context *context;
    graph *g;
    graph_node *node;
} fold_closure;

static illume_status fold_copy(void *closure, const copy_desc *desc, int input, int output) {
    fold_closure *fold = closure;
    const graph_value *source = graph_input(fold->g, fold->node, input);
    graph_value *target = graph_output(fold->g, fold->node, output);
    if (!target) return ILLUME_OK;
    host_copy(desc, source->constant, target->constant, dtype_size(source->dtype));
    return ILLUME_OK;
}

illume_status fold_by_copies(illume_context *context, graph *g, graph_node *node, copy_plan plan) {
    for (int o = 0; o < node->output_count; o++)
        if (graph_output(g, node, o) && !allocate_output_constant(context, g, node, o))
            return ILLUME_ERROR_OUT_OF_MEMORY;
    fold_closure closure = {context, g, node};
    return plan(context, g, node, fold_copy, &closure);
}

static illume_status forward_copy(void *closure, const copy_desc *desc, int input, int output) {
    const op_call *call = closure;
    if (!call->outputs[output]) return ILLUME_OK;
    return call->backend->copy(call->backend, desc, call->inputs[input], call->outputs[output]);
}

illume_status forward_by_copies(const op_call *call, copy_plan plan) {
    return plan(call->context, call->graph, call->node, forward_copy, (void *)call);
}

int64_t input_elements(const graph *g, const graph_node *node, int i) {
    const graph_value *value = graph_input(g, node, i);
    int64_t count = 0;
    if (value) shape_element_count(value->rank, value->dims, &count);
    return count;
}

int64_t output_elements(const graph *g, const graph_node *node, int o) {
    const graph_value *value = graph_output(g, node, o);
    int64_t count = 0;
    if (value) shape_element_count(value->rank, value->dims, &count);
    return count;
}

int64_t output_element_flops(const graph *g, const graph_node *node) { return output_elements(g, node, 0); }

op_reads reads_first_input(const graph *g, const graph_node *node) {
    (void)g;
    (void)node;
    return (op_reads){.inputs = 1u};
}

illume_status unary_run(const op_call *call, const unary_desc *desc) {
    return call->backend->unary(call->backend, desc, call->inputs[0], call->outputs[0]);
}

illume_status unary_backward_run(const op_backward_call *call, const unary_desc *desc) {
    const op_call *forward = call->forward;
    unary_backward_desc gradient = {desc->kind, desc->alpha, desc->beta, desc->count, call->rule};
    return forward->backend->unary_backward(forward->backend, &gradient, forward->inputs[0], NULL,
                                            call->output_gradients[0], call->input_gradients[0]);
}

illume_status zero_gradient(const op_backward_call *call, int i) {
    const op_call *forward = call->forward;
    return forward->backend->fill(forward->backend, 0.0f, input_elements(forward->graph, forward->node, i),
                                  call->input_gradients[i]);
}

illume_status refuse_gradient(const op_backward_call *call, int first, int last, const char *what) {
    for (int i = first; i <= last && i < call->forward->node->input_count; i++)
        if (call->input_gradients[i])
            return node_fail(call->forward->context, call->forward->node, ILLUME_ERROR_UNSUPPORTED,
                             "the gradient with respect to its %s is not supported", what);
    return ILLUME_OK;
}

static illume_status backward_copy(void *closure, const copy_desc *desc, int input, int output) {
    const op_backward_call *call = closure;
    if (!call->input_gradients[input] || !call->output_gradients[output]) return ILLUME_OK;
    copy_desc reverse = *desc;
    for (int d = 0; d < desc->rank; d++) {
        reverse.src_strides[d] = desc->dst_strides[d];
        reverse.dst_strides[d] = desc->src_strides[d];
    }
    reverse.src_offset = desc->dst_offset;
    reverse.dst_offset = desc->src_offset;
    reverse.accumulate = 1;
    backend *device = call->forward->backend;
    return device->copy(device, &reverse, call->output_gradients[output], call->input_gradients[input]);
}

illume_status backward_by_copies(const op_backward_call *call, copy_plan plan) {
    const op_call *forward = call->forward;
    for (int i = 0; i < forward->node->input_count; i++)
        if (call->input_gradients[i]) ILLUME_TRY(zero_gradient(call, i));
    return plan(forward->context, forward->graph, forward->node, backward_copy, (void *)call);
}

illume_status fold_view(illume_context *context, graph *g, graph_node *node) {
    const graph_value *input = graph_input(g, node, 0);
    void *data = allocate_output_constant(context, g, node, 0);
    if (!data) return ILLUME_ERROR_OUT_OF_MEMORY;
    size_t bytes;
    value_byte_size(graph_output(g, node, 0), &bytes);
    memcpy(data, input->constant, bytes);
    return ILLUME_OK;
}
