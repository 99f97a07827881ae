/* Convolution and transposed convolution on oneDNN, forward and backward
 * data. The primitive picks its preferred layouts; activations are reordered
 * in and out around it, and constant weights are reordered once and kept. */
#include <stdlib.h>
#include <string.h>

#include "dnnl_support.h"

/* A primitive reading `input` (x, or dy backward) and writing `output`. */
typedef struct convolution_state {
    cpu_state base;
    dnnl_primitive_t primitive;
    dnnl_layout input, weights, output;
    dnnl_memory_t bias;
    int has_bias;
    const float *weights_ready; /* constant weights already in the chosen layout */
} convolution_state;

static void destroy(cpu_state *header) {
    convolution_state *state = (convolution_state *)header;
    if (state->primitive) dnnl_primitive_destroy(state->primitive);
    dnnl_layout_destroy(&state->input);
    dnnl_layout_destroy(&state->weights);
    dnnl_layout_destroy(&state->output);
    if (state->bias) dnnl_memory_destroy(state->bias);
    free(state);
}

/* The weights as oneDNN sees them, (groups,) out, in, spatial..., with the
 * strides of the ONNX layout: Conv (M, C/g, k...), ConvTranspose (C, M/g, k...). */
static illume_status weights_desc(illume_context *context, const convolution_desc *desc, dnnl_memory_desc_t *md) {
    int spatial = desc->spatial_rank, grouped = desc->groups > 1, rank = spatial + 2 + grouped;
    int64_t groups = desc->groups, out = desc->out_channels / groups, in = desc->in_channels / groups;
    int64_t kernel = 1;
    dnnl_dims_t dims, strides;
    for (int d = spatial - 1; d >= 0; d--) {
        dims[rank - spatial + d] = desc->kernel[d];
        strides[rank - spatial + d] = kernel;
        kernel *= desc->kernel[d];
    }
    int o = grouped, i = grouped + 1;
    dims[o] = out;
    dims[i] = in;
    if (!desc->transpose) {
        strides[i] = kernel;
        strides[o] = in * kernel;
    } else {
        strides[o] = kernel;
        strides[i] = out * kernel;
    }
    if (grouped) {
        dims[0] = groups;
        strides[0] = out * in * kernel;
    }
    DNNL_TRY(context, dnnl_memory_desc_init_by_strides(md, rank, dims, dnnl_f32, strides));
    return ILLUME_OK;
}

/* The fused activation as oneDNN element-wise post-ops, in the formulas of kernels/activation.h. */
static illume_status append_activation(illume_context *context, dnnl_post_ops_t post_ops,
                                       const convolution_desc *desc) {
    float alpha = desc->activation_alpha, beta = desc->activation_beta;
    switch (desc->activation) {
    case UNARY_COPY: return ILLUME_OK;
    case UNARY_RELU: DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f)); break;
    case UNARY_LEAKY_RELU:
        DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, alpha, 0.0f));
        break;
    case UNARY_SIGMOID:
        DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_logistic, 0.0f, 0.0f));
        break;
    case UNARY_TANH: DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_tanh, 0.0f, 0.0f)); break;
    case UNARY_HARD_SIGMOID:
        DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_linear, alpha, beta));
        DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_clip, 0.0f, 1.0f));
        break;
    case UNARY_HARD_SWISH:
        DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_hardswish, 0.0f, 0.0f));
        break;
    case UNARY_ELU: DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_elu, alpha, 0.0f)); break;
    case UNARY_CLIP: DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_clip, alpha, beta)); break;
    case UNARY_LINEAR:
        DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_linear, alpha, beta));
        break;
    }
    return ILLUME_OK;
}

/* The memory descriptors of a convolution: as the caller stores x and y
 * (plain, or channels last) and the weights (ONNX layout), and "any" for the
 * primitive to choose; with the geometry in oneDNN's terms. */
typedef struct convolution_memories {
    int rank;
    dnnl_dims_t strides, dilations, pad_begin, pad_end;
    dnnl_memory_desc_t x_stored, y_stored, weights_stored, bias, x_any, y_any, weights_any;
} convolution_memories;

static illume_status describe_memories(illume_context *context, const convolution_desc *desc,
                                       convolution_memories *m) {
    int spatial = desc->spatial_rank;
    m->rank = spatial + 2;
    int64_t x_dims[ILLUME_MAX_RANK] = {desc->batch, desc->in_channels};
    int64_t y_dims[ILLUME_MAX_RANK] = {desc->batch, desc->out_channels};
    for (int d = 0; d < spatial; d++) {
        x_dims[2 + d] = desc->in_size[d];
        y_dims[2 + d] = desc->out_size[d];
        m->strides[d] = desc->stride[d];
        m->dilations[d] = desc->dilation[d] - 1;
        m->pad_begin[d] = desc->pad_begin[d];
        m->pad_end[d] = desc->pad_end[d];
    }
    ILLUME_TRY(dnnl_activation_desc(context, &m->x_stored, m->rank, x_dims, desc->x_channels_last));
    ILLUME_TRY(dnnl_activation_desc(context, &m->y_stored, m->rank, y_dims, desc->y_channels_last));
    ILLUME_TRY(weights_desc(context, desc, &m->weights_stored));
    int64_t bias_dims[1] = {desc->out_channels};
    ILLUME_TRY(dnnl_plain_desc(context, &m->bias, 1, bias_dims));
    DNNL_TRY(context, dnnl_memory_desc_init_by_tag(&m->x_any, m->rank, m->x_stored.dims, dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(context, dnnl_memory_desc_init_by_tag(&m->y_any, m->rank, m->y_stored.dims, dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(context, dnnl_memory_desc_init_by_tag(&m->weights_any, m->weights_stored.ndims, m->weights_stored.dims,
                                                   dnnl_f32, dnnl_format_tag_any));
    return ILLUME_OK;
}

/* The forward primitive descriptor (also the hint a backward one needs). */
static dnnl_status_t forward_primitive_desc(cpu_backend *cpu, const convolution_desc *desc,
                                            const convolution_memories *m, dnnl_prop_kind_t kind, int has_bias,
                                            const dnnl_memory_desc_t *y, const_dnnl_primitive_attr_t attributes,
                                            dnnl_primitive_desc_t *pd) {
    dnnl_status_t status;
    if (desc->transpose) {
        dnnl_deconvolution_desc_t operation;
        status = dnnl_dilated_deconvolution_forward_desc_init(&operation, kind, dnnl_deconvolution_direct, &m->x_any,
                                                              &m->weights_any, has_bias ? &m->bias : NULL, y,
                                                              m->strides, m->dilations, m->pad_begin, m->pad_end);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(pd, &operation, attributes, cpu->engine, NULL);
    } else {
        dnnl_convolution_desc_t operation;
        status = dnnl_dilated_convolution_forward_desc_init(&operation, kind, dnnl_convolution_direct, &m->x_any,
                                                            &m->weights_any, has_bias ? &m->bias : NULL, y,
                                                            m->strides, m->dilations, m->pad_begin, m->pad_end);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(pd, &operation, attributes, cpu->engine, NULL);
    }
    return status;
}

/* Layouts for what the primitive reads (input), its weights and what it
 * writes (output), then the primitive itself. */
static illume_status finish(cpu_backend *cpu, convolution_state *state, dnnl_primitive_desc_t pd,
                            const dnnl_memory_desc_t *input_stored, dnnl_query_t input_query,
                            const dnnl_memory_desc_t *weights_stored, const dnnl_memory_desc_t *output_stored,
                            dnnl_query_t output_query) {
    illume_status result = dnnl_layout_create(cpu, &state->input, input_stored,
                                              dnnl_primitive_desc_query_md(pd, input_query, 0), 1);
    if (result == ILLUME_OK)
        result = dnnl_layout_create(cpu, &state->weights, weights_stored,
                                    dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), 1);
    if (result == ILLUME_OK)
        result = dnnl_layout_create(cpu, &state->output, output_stored,
                                    dnnl_primitive_desc_query_md(pd, output_query, 0), 0);
    if (result == ILLUME_OK)
        result = cpu_dnnl_check(cpu->base.context, dnnl_primitive_create(&state->primitive, pd),
                                "dnnl_primitive_create");
    dnnl_primitive_desc_destroy(pd);
    return result;
}

static illume_status create(cpu_backend *cpu, const convolution_desc *desc, int has_bias, convolution_state *state) {
    illume_context *context = cpu->base.context;
    convolution_memories m;
    ILLUME_TRY(describe_memories(context, desc, &m));
    /* Accumulating reads y as it is stored, so its layout cannot be left to the primitive. */
    const dnnl_memory_desc_t *y_requested = desc->accumulate ? &m.y_stored : &m.y_any;
    dnnl_primitive_attr_t attributes;
    dnnl_post_ops_t post_ops;
    DNNL_TRY(context, dnnl_primitive_attr_create(&attributes));
    DNNL_TRY(context, dnnl_post_ops_create(&post_ops));
    if (desc->accumulate) dnnl_post_ops_append_sum(post_ops, 1.0f);
    illume_status result = append_activation(context, post_ops, desc);
    dnnl_primitive_attr_set_post_ops(attributes, post_ops);
    dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t status = forward_primitive_desc(cpu, desc, &m, dnnl_forward_inference, has_bias, y_requested,
                                                  attributes, &pd);
    dnnl_primitive_attr_destroy(attributes);
    ILLUME_TRY(result);
    DNNL_TRY(context, status);
    if (has_bias)
        DNNL_TRY(context, dnnl_memory_create(&state->bias, &m.bias, cpu->engine, DNNL_MEMORY_NONE));
    return finish(cpu, state, pd, &m.x_stored, dnnl_query_src_md, &m.weights_stored, &m.y_stored, dnnl_query_dst_md);
}

/* The backward-data primitive: dx from dy and the weights, hinted by a
 * training forward of the same geometry, as oneDNN asks. */
static illume_status create_backward(cpu_backend *cpu, const convolution_desc *desc, convolution_state *state) {
    illume_context *context = cpu->base.context;
    convolution_memories m;
    ILLUME_TRY(describe_memories(context, desc, &m));
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    DNNL_TRY(context, forward_primitive_desc(cpu, desc, &m, dnnl_forward_training, 0, &m.y_any, NULL, &hint));
    dnnl_status_t status;
    if (desc->transpose) {
        dnnl_deconvolution_desc_t operation;
        status = dnnl_dilated_deconvolution_backward_data_desc_init(&operation, dnnl_deconvolution_direct, &m.x_any,
                                                                    &m.weights_any, &m.y_any, m.strides,
                                                                    m.dilations, m.pad_begin, m.pad_end);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(&pd, &operation, NULL, cpu->engine, hint);
    } else {
        dnnl_convolution_desc_t operation;
        status = dnnl_dilated_convolution_backward_data_desc_init(&operation, dnnl_convolution_direct, &m.x_any,
                                                                  &m.weights_any, &m.y_any, m.strides, m.dilations,
                                                                  m.pad_begin, m.pad_end);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(&pd, &operation, NULL, cpu->engine, hint);
    }
    dnnl_primitive_desc_destroy(hint);
    DNNL_TRY(context, status);
    return finish(cpu, state, pd, &m.y_stored, dnnl_query_diff_dst_md, &m.weights_stored, &m.x_stored,
                  dnnl_query_diff_src_md);
}

typedef illume_status (*state_maker)(cpu_backend *cpu, const convolution_desc *desc, convolution_state *state);

static illume_status forward_maker(cpu_backend *cpu, const convolution_desc *desc, convolution_state *state) {
    return create(cpu, desc, state->has_bias, state);
}

/* The state in a slot, made on first use. */
static illume_status state_in(cpu_backend *cpu, void **slot, const convolution_desc *desc, int has_bias,
                              state_maker make, const char *what, convolution_state **result) {
    convolution_state *state = *slot;
    if (!state) {
        state = calloc(1, sizeof *state);
        if (!state) return illume_fail(cpu->base.context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        state->base.destroy = destroy;
        state->has_bias = has_bias;
        illume_status status = make(cpu, desc, state);
        if (status != ILLUME_OK) {
            destroy(&state->base);
            return illume_wrap(cpu->base.context, status, "%s", what);
        }
        *slot = state;
    }
    *result = state;
    return ILLUME_OK;
}

/* Runs the state's primitive: input, weights (reordered once when constant), output. */
static illume_status execute(cpu_backend *cpu, convolution_state *state, const convolution_desc *desc,
                             int input_name, const float *input, const float *weights, int output_name, float *output,
                             const float *bias) {
    illume_context *context = cpu->base.context;
    if (!desc->constant_weights || state->weights_ready != weights) {
        ILLUME_TRY(dnnl_layout_enter(cpu, &state->weights, weights));
        state->weights_ready = desc->constant_weights ? weights : NULL;
    }
    ILLUME_TRY(dnnl_layout_enter(cpu, &state->input, input));
    ILLUME_TRY(dnnl_layout_enter(cpu, &state->output, output));
    dnnl_exec_arg_t arguments[4] = {{input_name, state->input.chosen},
                                    {DNNL_ARG_WEIGHTS, state->weights.chosen},
                                    {output_name, state->output.chosen},
                                    {DNNL_ARG_BIAS, state->bias}};
    if (bias) DNNL_TRY(context, dnnl_memory_set_data_handle(state->bias, (void *)bias));
    DNNL_TRY(context, dnnl_primitive_execute(state->primitive, cpu->stream, bias ? 4 : 3, arguments));
    return dnnl_layout_leave(cpu, &state->output);
}

illume_status cpu_convolution(backend *self, const convolution_desc *desc, void **slot, const float *x,
                              const float *weights, const float *bias, float *y) {
    cpu_backend *cpu = (cpu_backend *)self;
    convolution_state *state = NULL;
    ILLUME_TRY(state_in(cpu, slot, desc, bias != NULL, forward_maker, "convolution", &state));
    return execute(cpu, state, desc, DNNL_ARG_SRC, x, weights, DNNL_ARG_DST, y, bias);
}

illume_status cpu_convolution_backward(backend *self, const convolution_desc *desc, void **slot, const float *dy,
                                       const float *weights, float *dx) {
    cpu_backend *cpu = (cpu_backend *)self;
    convolution_state *state = NULL;
    ILLUME_TRY(state_in(cpu, slot, desc, 0, create_backward, "convolution backward", &state));
    return execute(cpu, state, desc, DNNL_ARG_DIFF_DST, dy, weights, DNNL_ARG_DIFF_SRC, dx, NULL);
}
