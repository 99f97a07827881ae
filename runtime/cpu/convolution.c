/* Convolution and transposed convolution on oneDNN. The primitive picks its
 * preferred layouts; activations are reordered in and out around it, and
 * constant weights are reordered once and kept. */
#include <stdlib.h>
#include <string.h>

#include "dnnl_support.h"

typedef struct convolution_state {
    cpu_state base;
    dnnl_primitive_t primitive;
    dnnl_layout source, weights, destination;
    dnnl_memory_t bias;
    const float *weights_ready; /* constant weights already in the chosen layout */
} convolution_state;

static void destroy(cpu_state *header) {
    convolution_state *state = (convolution_state *)header;
    if (state->primitive) dnnl_primitive_destroy(state->primitive);
    dnnl_layout_destroy(&state->source);
    dnnl_layout_destroy(&state->weights);
    dnnl_layout_destroy(&state->destination);
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

static illume_status create(cpu_backend *cpu, const convolution_desc *desc, int has_bias, convolution_state *state) {
    illume_context *context = cpu->base.context;
    int spatial = desc->spatial_rank, rank = spatial + 2;
    int64_t src_dims[ILLUME_MAX_RANK] = {desc->batch, desc->in_channels};
    int64_t dst_dims[ILLUME_MAX_RANK] = {desc->batch, desc->out_channels};
    dnnl_dims_t strides, dilations, pad_begin, pad_end, any_src, any_dst;
    for (int d = 0; d < spatial; d++) {
        src_dims[2 + d] = desc->in_size[d];
        dst_dims[2 + d] = desc->out_size[d];
        strides[d] = desc->stride[d];
        dilations[d] = desc->dilation[d] - 1;
        pad_begin[d] = desc->pad_begin[d];
        pad_end[d] = desc->pad_end[d];
    }
    for (int d = 0; d < rank; d++) {
        any_src[d] = src_dims[d];
        any_dst[d] = dst_dims[d];
    }
    dnnl_memory_desc_t src_plain, dst_plain, weights_plain, bias_md, src_any, dst_any, weights_any;
    ILLUME_TRY(dnnl_activation_desc(context, &src_plain, rank, src_dims, desc->x_channels_last));
    ILLUME_TRY(dnnl_activation_desc(context, &dst_plain, rank, dst_dims, desc->y_channels_last));
    ILLUME_TRY(weights_desc(context, desc, &weights_plain));
    int64_t bias_dims[1] = {desc->out_channels};
    ILLUME_TRY(dnnl_plain_desc(context, &bias_md, 1, bias_dims));
    DNNL_TRY(context, dnnl_memory_desc_init_by_tag(&src_any, rank, any_src, dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(context, dnnl_memory_desc_init_by_tag(&dst_any, rank, any_dst, dnnl_f32, dnnl_format_tag_any));
    DNNL_TRY(context, dnnl_memory_desc_init_by_tag(&weights_any, weights_plain.ndims, weights_plain.dims, dnnl_f32,
                                                   dnnl_format_tag_any));
    /* Accumulating reads y as it is stored, so its layout cannot be left to the primitive. */
    const dnnl_memory_desc_t *dst_requested = desc->accumulate ? &dst_plain : &dst_any;
    dnnl_primitive_attr_t attributes;
    dnnl_post_ops_t post_ops;
    DNNL_TRY(context, dnnl_primitive_attr_create(&attributes));
    DNNL_TRY(context, dnnl_post_ops_create(&post_ops));
    if (desc->accumulate) dnnl_post_ops_append_sum(post_ops, 1.0f);
    ILLUME_TRY(append_activation(context, post_ops, desc));
    dnnl_primitive_attr_set_post_ops(attributes, post_ops);
    dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t status;
    if (desc->transpose) {
        dnnl_deconvolution_desc_t operation;
        status = dnnl_dilated_deconvolution_forward_desc_init(&operation, dnnl_forward_inference,
                                                              dnnl_deconvolution_direct, &src_any, &weights_any,
                                                              has_bias ? &bias_md : NULL, dst_requested, strides,
                                                              dilations, pad_begin, pad_end);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(&pd, &operation, attributes, cpu->engine, NULL);
    } else {
        dnnl_convolution_desc_t operation;
        status = dnnl_dilated_convolution_forward_desc_init(&operation, dnnl_forward_inference,
                                                            dnnl_convolution_direct, &src_any, &weights_any,
                                                            has_bias ? &bias_md : NULL, dst_requested, strides, dilations,
                                                            pad_begin, pad_end);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(&pd, &operation, attributes, cpu->engine, NULL);
    }
    dnnl_primitive_attr_destroy(attributes);
    DNNL_TRY(context, status);
    illume_status result = dnnl_layout_create(cpu, &state->source, &src_plain,
                                              dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), 1);
    if (result == ILLUME_OK)
        result = dnnl_layout_create(cpu, &state->weights, &weights_plain,
                                    dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), 1);
    if (result == ILLUME_OK)
        result = dnnl_layout_create(cpu, &state->destination, &dst_plain,
                                    dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), 0);
    if (result == ILLUME_OK && has_bias)
        result = cpu_dnnl_check(context, dnnl_memory_create(&state->bias, &bias_md, cpu->engine, DNNL_MEMORY_NONE),
                                "dnnl_memory_create");
    if (result == ILLUME_OK)
        result = cpu_dnnl_check(context, dnnl_primitive_create(&state->primitive, pd), "dnnl_primitive_create");
    dnnl_primitive_desc_destroy(pd);
    return result;
}

illume_status cpu_convolution(backend *self, const convolution_desc *desc, void **slot, const float *x,
                              const float *weights, const float *bias, float *y) {
    cpu_backend *cpu = (cpu_backend *)self;
    convolution_state *state = *slot;
    if (!state) {
        state = calloc(1, sizeof *state);
        if (!state) return illume_fail(self->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        state->base.destroy = destroy;
        illume_status status = create(cpu, desc, bias != NULL, state);
        if (status != ILLUME_OK) {
            destroy(&state->base);
            return illume_wrap(self->context, status, "convolution");
        }
        *slot = state;
    }
    if (!desc->constant_weights || state->weights_ready != weights) {
        ILLUME_TRY(dnnl_layout_enter(cpu, &state->weights, weights));
        state->weights_ready = desc->constant_weights ? weights : NULL;
    }
    ILLUME_TRY(dnnl_layout_enter(cpu, &state->source, x));
    ILLUME_TRY(dnnl_layout_enter(cpu, &state->destination, y));
    dnnl_exec_arg_t arguments[4] = {{DNNL_ARG_SRC, state->source.chosen},
                                    {DNNL_ARG_WEIGHTS, state->weights.chosen},
                                    {DNNL_ARG_DST, state->destination.chosen},
                                    {DNNL_ARG_BIAS, state->bias}};
    if (bias) DNNL_TRY(self->context, dnnl_memory_set_data_handle(state->bias, (void *)bias));
    DNNL_TRY(self->context, dnnl_primitive_execute(state->primitive, cpu->stream, bias ? 4 : 3, arguments));
    return dnnl_layout_leave(cpu, &state->destination);
}
