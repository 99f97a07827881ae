/* Convolution and transposed convolution on oneDNN, forward and backward
 * data. The primitive picks its preferred layouts; activations are reordered
 * in and out around it, and constant weights are reordered once and kept.
 * The backward data of a stride-1 convolution with constant weights runs as
 * a forward convolution with the kernel flipped and its channels swapped,
 * where oneDNN's forward kernels beat its backward ones; one with few input
 * channels goes to convolution_columns.c. */
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
    /* A backward run as a forward convolution: its geometry, and the flipped
     * weights made from `flipped_from`. */
    convolution_desc flipped_desc;
    float *flipped;
    const float *flipped_from;
} convolution_state;

static void destroy(cpu_state *header) {
    convolution_state *state = (convolution_state *)header;
    if (state->primitive) dnnl_primitive_destroy(state->primitive);
    dnnl_layout_destroy(&state->input);
    dnnl_layout_destroy(&state->weights);
    dnnl_layout_destroy(&state->output);
    if (state->bias) dnnl_memory_destroy(state->bias);
    free(state->flipped);
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
    case UNARY_ABS: DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_abs, 0.0f, 0.0f)); break;
    case UNARY_SWISH:
        DNNL_TRY(context, dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_swish, 1.0f, 0.0f));
        break;
    case UNARY_ERF:
    case UNARY_EXP:
    case UNARY_LOG:
    case UNARY_SQRT:
    case UNARY_RECIPROCAL:
    case UNARY_SIGN:
        /* The fusion pass fuses activations only, and the element-wise math ops are none. */
        return illume_fail(context, ILLUME_ERROR_INTERNAL, "unary kind %d cannot be fused into a convolution",
                           (int)desc->activation);
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

/* The forward primitive descriptor (also the hint a backward one needs);
 * algorithm: direct or Winograd (convolutions, not transposed ones). */
static dnnl_status_t forward_primitive_desc(cpu_backend *cpu, const convolution_desc *desc,
                                            const convolution_memories *m, dnnl_prop_kind_t kind,
                                            dnnl_alg_kind_t algorithm, int has_bias, const dnnl_memory_desc_t *y,
                                            const_dnnl_primitive_attr_t attributes, dnnl_primitive_desc_t *pd) {
    dnnl_status_t status;
    if (desc->transpose) {
        dnnl_deconvolution_desc_t operation;
        status = dnnl_dilated_deconvolution_forward_desc_init(&operation, kind, dnnl_deconvolution_direct, &m->x_any,
                                                              &m->weights_any, has_bias ? &m->bias : NULL, y,
                                                              m->strides, m->dilations, m->pad_begin, m->pad_end);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(pd, &operation, attributes, cpu->engine, NULL);
    } else {
        dnnl_convolution_desc_t operation;
        status = dnnl_dilated_convolution_forward_desc_init(&operation, kind, algorithm, &m->x_any,
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
                            dnnl_query_t output_query, dnnl_layout_role output_role) {
    illume_status result = dnnl_layout_create(cpu, &state->input, input_stored,
                                              dnnl_primitive_desc_query_md(pd, input_query, 0), LAYOUT_READ);
    if (result == ILLUME_OK)
        result = dnnl_layout_create(cpu, &state->weights, weights_stored,
                                    dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), LAYOUT_KEPT);
    if (result == ILLUME_OK)
        result = dnnl_layout_create(cpu, &state->output, output_stored,
                                    dnnl_primitive_desc_query_md(pd, output_query, 0), output_role);
    if (result == ILLUME_OK)
        result = cpu_dnnl_check(cpu->base.context, dnnl_primitive_create(&state->primitive, pd),
                                "dnnl_primitive_create");
    dnnl_primitive_desc_destroy(pd);
    return result;
}

/* Whether oneDNN fell back to its reference implementation. */
static int reference_implementation(const_dnnl_primitive_desc_t pd) {
    const char *name = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success && name &&
           strncmp(name, "ref", 3) == 0;
}

/* Whether Winograd's algorithm beats the direct one on this convolution.
 * oneDNN has it (F(2x2, 3x3) and F(4x4, 3x3), AVX-512) for 3x3 kernels at
 * stride 1, ungrouped, in its blocked layout, so activations are reordered
 * around it, and its transformed weights are 1.8 to 4 times the size. It
 * pays with enough channels and enough output pixels per call (all images
 * of the call together): 28x28, or 14x14 with many channel pairs. The
 * bounds come from timing the zoo both ways at batch 1 and 16
 * (docs/performance.md, "Winograd convolutions"): below them it ran up to
 * 1.5x slower (AlexNet's 13x13 layers at batch 1, Inception's 5x5 ones),
 * and 4x with 3 input channels. Weights that change between calls would be
 * transformed at every call; an accumulating convolution reads y as it is
 * stored, which Winograd's kernels cannot. */
static int winograd_pays(const convolution_desc *desc) {
    if (desc->transpose || !desc->constant_weights || desc->accumulate || desc->spatial_rank != 2 ||
        desc->groups != 1)
        return 0;
    for (int d = 0; d < 2; d++)
        if (desc->kernel[d] != 3 || desc->stride[d] != 1 || desc->dilation[d] != 1) return 0;
    if (desc->in_channels < 32 || desc->out_channels < 32) return 0;
    int64_t pixels = desc->batch * desc->out_size[0] * desc->out_size[1];
    return pixels >= 28 * 28 || (pixels >= 14 * 14 && desc->in_channels * desc->out_channels >= 256 * 256);
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
    dnnl_status_t status = dnnl_unimplemented;
    if (cpu->winograd && winograd_pays(desc))
        status = forward_primitive_desc(cpu, desc, &m, dnnl_forward_inference, dnnl_convolution_winograd, has_bias,
                                        y_requested, attributes, &pd);
    if (status == dnnl_success)
        cpu->base.winograd_convolutions++;
    else
        status = forward_primitive_desc(cpu, desc, &m, dnnl_forward_inference, dnnl_convolution_direct, has_bias,
                                        y_requested, attributes, &pd);
    /* Without AVX-512, oneDNN has only its reference kernel (a hundred
     * times slower) to add into an output stored channels last, or plain:
     * then the output is added into in the layout the primitive chooses,
     * reordered in and back around each call. */
    dnnl_layout_role output_role = LAYOUT_WRITTEN;
    if (status == dnnl_success && desc->accumulate && reference_implementation(pd)) {
        dnnl_primitive_desc_t blocked = NULL;
        if (forward_primitive_desc(cpu, desc, &m, dnnl_forward_inference, dnnl_convolution_direct, has_bias, &m.y_any,
                                   attributes, &blocked) == dnnl_success &&
            !reference_implementation(blocked)) {
            dnnl_primitive_desc_destroy(pd);
            pd = blocked;
            output_role = LAYOUT_UPDATED;
        } else if (blocked) {
            dnnl_primitive_desc_destroy(blocked);
        }
    }
    dnnl_primitive_attr_destroy(attributes);
    ILLUME_TRY(result);
    DNNL_TRY(context, status);
    if (has_bias)
        DNNL_TRY(context, dnnl_memory_create(&state->bias, &m.bias, cpu->engine, DNNL_MEMORY_NONE));
    return finish(cpu, state, pd, &m.x_stored, dnnl_query_src_md, &m.weights_stored, &m.y_stored, dnnl_query_dst_md,
                  output_role);
}

/* A backward-data primitive descriptor for dx and dy in the layouts given,
 * hinted by a training forward of the same geometry, as oneDNN asks. */
static dnnl_status_t backward_primitive_desc(cpu_backend *cpu, const convolution_desc *desc,
                                             const convolution_memories *m, const dnnl_memory_desc_t *x,
                                             const dnnl_memory_desc_t *y, dnnl_primitive_desc_t *pd) {
    convolution_memories hinted = *m;
    hinted.x_any = *x;
    dnnl_primitive_desc_t hint = NULL;
    dnnl_status_t status =
        forward_primitive_desc(cpu, desc, &hinted, dnnl_forward_training, dnnl_convolution_direct, 0, y, NULL, &hint);
    if (status != dnnl_success) return status;
    if (desc->transpose) {
        dnnl_deconvolution_desc_t operation;
        status = dnnl_dilated_deconvolution_backward_data_desc_init(&operation, dnnl_deconvolution_direct, x,
                                                                    &m->weights_any, y, m->strides, m->dilations,
                                                                    m->pad_begin, m->pad_end);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(pd, &operation, NULL, cpu->engine, hint);
    } else {
        dnnl_convolution_desc_t operation;
        status = dnnl_dilated_convolution_backward_data_desc_init(&operation, dnnl_convolution_direct, x,
                                                                  &m->weights_any, y, m->strides, m->dilations,
                                                                  m->pad_begin, m->pad_end);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(pd, &operation, NULL, cpu->engine, hint);
    }
    dnnl_primitive_desc_destroy(hint);
    return status;
}

/* The backward-data primitive: dx from dy and the weights. Where dy is
 * stored channels last, dx and dy are asked for channels last (dx reordered
 * when it is stored otherwise): the blocked layouts oneDNN would pick cost a
 * reorder of each at every call, and its jit kernels take channels last.
 * When that has only the reference implementation, the primitive chooses. */
static illume_status create_backward(cpu_backend *cpu, const convolution_desc *desc, convolution_state *state) {
    illume_context *context = cpu->base.context;
    convolution_memories m;
    ILLUME_TRY(describe_memories(context, desc, &m));
    dnnl_primitive_desc_t pd = NULL;
    if (desc->y_channels_last) {
        dnnl_memory_desc_t x_channels_last;
        int64_t x_dims[ILLUME_MAX_RANK];
        for (int d = 0; d < m.rank; d++) x_dims[d] = m.x_stored.dims[d];
        ILLUME_TRY(dnnl_activation_desc(context, &x_channels_last, m.rank, x_dims, 1));
        if (backward_primitive_desc(cpu, desc, &m, &x_channels_last, &m.y_stored, &pd) != dnnl_success) {
            pd = NULL;
        } else if (reference_implementation(pd)) {
            dnnl_primitive_desc_destroy(pd);
            pd = NULL;
        }
    }
    if (!pd) DNNL_TRY(context, backward_primitive_desc(cpu, desc, &m, &m.x_any, &m.y_any, &pd));
    return finish(cpu, state, pd, &m.y_stored, dnnl_query_diff_dst_md, &m.weights_stored, &m.x_stored,
                  dnnl_query_diff_src_md, LAYOUT_WRITTEN);
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

/* The forward convolution whose output is a stride-1 convolution's dx:
 * dx[i] = sum_k dy[i + k d - (d (K - 1) - p)] w[K - 1 - k], a convolution of
 * dy with the flipped kernel, padded d (K - 1) - p, the channels swapped in
 * each group. Returns 0 when desc is not of that kind. */
static int flipped_geometry(const convolution_desc *desc, convolution_desc *flipped) {
    if (desc->transpose || !desc->constant_weights) return 0;
    *flipped = (convolution_desc){.spatial_rank = desc->spatial_rank, .batch = desc->batch,
                                  .in_channels = desc->out_channels, .out_channels = desc->in_channels,
                                  .groups = desc->groups, .constant_weights = 1, .activation = UNARY_COPY,
                                  .x_channels_last = desc->y_channels_last, .y_channels_last = desc->x_channels_last};
    for (int d = 0; d < desc->spatial_rank; d++) {
        int64_t reach = desc->dilation[d] * (desc->kernel[d] - 1);
        if (desc->stride[d] != 1 || desc->pad_begin[d] > reach || desc->pad_end[d] > reach) return 0;
        flipped->in_size[d] = desc->out_size[d];
        flipped->out_size[d] = desc->in_size[d];
        flipped->kernel[d] = desc->kernel[d];
        flipped->stride[d] = 1;
        flipped->dilation[d] = desc->dilation[d];
        flipped->pad_begin[d] = reach - desc->pad_begin[d];
        flipped->pad_end[d] = reach - desc->pad_end[d];
    }
    return 1;
}

/* W (M, C/g, k...) to W' (C, M/g, k...): W'[g C/g + c][m][k] = W[g M/g + m][c][K - 1 - k]. */
static void flip_weights(const convolution_desc *desc, const float *weights, float *flipped) {
    int64_t groups = desc->groups, out = desc->out_channels / groups, in = desc->in_channels / groups, kernel = 1;
    for (int d = 0; d < desc->spatial_rank; d++) kernel *= desc->kernel[d];
    for (int64_t g = 0; g < groups; g++)
        for (int64_t m = 0; m < out; m++)
            for (int64_t c = 0; c < in; c++) {
                const float *source = weights + ((g * out + m) * in + c) * kernel;
                float *target = flipped + ((g * in + c) * out + m) * kernel;
                /* Reversing the flat index reverses every spatial axis at once. */
                for (int64_t k = 0; k < kernel; k++) target[k] = source[kernel - 1 - k];
            }
}

/* The flipped forward where it applies, else the backward-data primitive. */
static illume_status backward_maker(cpu_backend *cpu, const convolution_desc *desc, convolution_state *state) {
    if (flipped_geometry(desc, &state->flipped_desc)) return create(cpu, &state->flipped_desc, 0, state);
    memset(&state->flipped_desc, 0, sizeof state->flipped_desc);
    return create_backward(cpu, desc, state);
}

illume_status cpu_convolution_backward(backend *self, const convolution_desc *desc, void **slot, const float *dy,
                                       const float *weights, float *dx) {
    cpu_backend *cpu = (cpu_backend *)self;
    if (cpu_columns_apply(desc)) return cpu_columns_backward(cpu, desc, slot, dy, weights, dx);
    convolution_state *state = NULL;
    ILLUME_TRY(state_in(cpu, slot, desc, 0, backward_maker, "convolution backward", &state));
    if (!state->flipped_desc.spatial_rank)
        return execute(cpu, state, desc, DNNL_ARG_DIFF_DST, dy, weights, DNNL_ARG_DIFF_SRC, dx, NULL);
    if (state->flipped_from != weights) {
        size_t count = (size_t)(desc->out_channels * (desc->in_channels / desc->groups));
        for (int d = 0; d < desc->spatial_rank; d++) count *= (size_t)desc->kernel[d];
        if (!state->flipped) state->flipped = malloc(sizeof(float) * count);
        if (!state->flipped) return illume_fail(cpu->base.context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        flip_weights(desc, weights, state->flipped);
        state->flipped_from = weights;
    }
    return execute(cpu, state, &state->flipped_desc, DNNL_ARG_SRC, dy, state->flipped, DNNL_ARG_DST, dx, NULL);
}
