/* Batched matrix multiplication on oneDNN's matmul primitive: transposition
 * through strides, numpy batch broadcasting, alpha as an output scale, beta
 * as a sum post-op that accumulates into y. */
#include <stdlib.h>
#include <string.h>

#include "dnnl_support.h"

typedef struct matmul_state {
    cpu_state base;
    dnnl_primitive_t primitive;
    dnnl_memory_t a, bias, y;
    dnnl_layout b;        /* constant weights go into the layout the primitive prefers, once */
    const float *b_ready; /* the constant b already in that layout */
} matmul_state;

static void destroy(cpu_state *header) {
    matmul_state *state = (matmul_state *)header;
    if (state->primitive) dnnl_primitive_destroy(state->primitive);
    if (state->a) dnnl_memory_destroy(state->a);
    dnnl_layout_destroy(&state->b);
    if (state->bias) dnnl_memory_destroy(state->bias);
    if (state->y) dnnl_memory_destroy(state->y);
    free(state);
}

/* The logical (…, rows, columns) view of a stored operand, transposed by swapping strides. */
static illume_status operand_desc(illume_context *context, dnnl_memory_desc_t *md, int rank, const int64_t *stored,
                                  int transpose) {
    dnnl_dims_t dims, strides;
    int64_t stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        dims[d] = stored[d];
        strides[d] = stride;
        stride *= stored[d] > 0 ? stored[d] : 1;
    }
    if (transpose) {
        int64_t swap = dims[rank - 1];
        dims[rank - 1] = dims[rank - 2];
        dims[rank - 2] = swap;
        swap = strides[rank - 1];
        strides[rank - 1] = strides[rank - 2];
        strides[rank - 2] = swap;
    }
    DNNL_TRY(context, dnnl_memory_desc_init_by_strides(md, rank, dims, dnnl_f32, strides));
    return ILLUME_OK;
}

static illume_status create(cpu_backend *cpu, const matmul_desc *desc, matmul_state *state) {
    illume_context *context = cpu->base.context;
    int rank = desc->rank;
    dnnl_memory_desc_t a_md, b_md, y_md, bias_md;
    ILLUME_TRY(operand_desc(context, &a_md, rank, desc->a_dims, desc->transpose_a));
    ILLUME_TRY(operand_desc(context, &b_md, rank, desc->b_dims, desc->transpose_b));
    ILLUME_TRY(dnnl_plain_desc(context, &y_md, rank, desc->y_dims));
    int64_t bias_dims[ILLUME_MAX_RANK];
    for (int d = 0; d < rank; d++) bias_dims[d] = d == rank - 1 ? desc->y_dims[d] : 1;
    ILLUME_TRY(dnnl_plain_desc(context, &bias_md, rank, bias_dims));
    /* Constant weights (Gemm's and MatMul's parameters) may be packed once in
     * whatever layout the primitive prefers; data operands stay as they are. */
    dnnl_memory_desc_t b_any;
    if (desc->constant_b)
        DNNL_TRY(context, dnnl_memory_desc_init_by_tag(&b_any, rank, b_md.dims, dnnl_f32, dnnl_format_tag_any));
    else
        b_any = b_md;
    dnnl_matmul_desc_t operation;
    DNNL_TRY(context, dnnl_matmul_desc_init(&operation, &a_md, &b_any, desc->has_bias ? &bias_md : NULL, &y_md));
    dnnl_primitive_attr_t attributes;
    DNNL_TRY(context, dnnl_primitive_attr_create(&attributes));
    if (desc->alpha != 1.0f) dnnl_primitive_attr_set_output_scales(attributes, 1, 0, &desc->alpha);
    if (desc->beta != 0.0f) {
        dnnl_post_ops_t post_ops;
        dnnl_post_ops_create(&post_ops);
        dnnl_post_ops_append_sum(post_ops, desc->beta);
        dnnl_primitive_attr_set_post_ops(attributes, post_ops);
        dnnl_post_ops_destroy(post_ops);
    }
    dnnl_primitive_desc_t pd;
    dnnl_status_t status = dnnl_primitive_desc_create(&pd, &operation, attributes, cpu->engine, NULL);
    dnnl_primitive_attr_destroy(attributes);
    DNNL_TRY(context, status);
    illume_status result = dnnl_layout_create(cpu, &state->b, &b_md,
                                              dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), LAYOUT_KEPT);
    status = dnnl_primitive_create(&state->primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    ILLUME_TRY(result);
    DNNL_TRY(context, status);
    DNNL_TRY(context, dnnl_memory_create(&state->a, &a_md, cpu->engine, DNNL_MEMORY_NONE));
    DNNL_TRY(context, dnnl_memory_create(&state->y, &y_md, cpu->engine, DNNL_MEMORY_NONE));
    if (desc->has_bias) DNNL_TRY(context, dnnl_memory_create(&state->bias, &bias_md, cpu->engine, DNNL_MEMORY_NONE));
    return ILLUME_OK;
}

/* oneDNN divides by the sizes, so empty operands are handled here: with an
 * empty inner dimension the product is zero, leaving bias + beta * y. */
static int matmul_empty(const matmul_desc *desc, const float *bias, float *y) {
    int rank = desc->rank;
    int64_t inner = desc->a_dims[desc->transpose_a ? rank - 2 : rank - 1], outputs = 1;
    for (int d = 0; d < rank; d++) outputs *= desc->y_dims[d];
    if (outputs != 0 && inner != 0) return 0;
    int64_t columns = desc->y_dims[rank - 1];
    for (int64_t i = 0; i < outputs; i++)
        y[i] = (desc->beta != 0.0f ? desc->beta * y[i] : 0.0f) + (desc->has_bias ? bias[i % columns] : 0.0f);
    return 1;
}

illume_status cpu_matmul(backend *self, const matmul_desc *desc, void **slot, const float *a, const float *b,
                         const float *bias, float *y) {
    cpu_backend *cpu = (cpu_backend *)self;
    if (matmul_empty(desc, bias, y)) return ILLUME_OK;
    matmul_state *state = *slot;
    if (!state) {
        state = calloc(1, sizeof *state);
        if (!state) return illume_fail(self->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        state->base.destroy = destroy;
        illume_status status = create(cpu, desc, state);
        if (status != ILLUME_OK) {
            destroy(&state->base);
            return illume_wrap(self->context, status, "matmul");
        }
        *slot = state;
    }
    DNNL_TRY(self->context, dnnl_memory_set_data_handle(state->a, (void *)a));
    if (!desc->constant_b || state->b_ready != b) {
        ILLUME_TRY(dnnl_layout_enter(cpu, &state->b, b));
        state->b_ready = desc->constant_b ? b : NULL;
    }
    DNNL_TRY(self->context, dnnl_memory_set_data_handle(state->y, y));
    dnnl_exec_arg_t arguments[4] = {{DNNL_ARG_SRC, state->a},
                                    {DNNL_ARG_WEIGHTS, state->b.chosen},
                                    {DNNL_ARG_DST, state->y},
                                    {DNNL_ARG_BIAS, state->bias}};
    if (desc->has_bias) DNNL_TRY(self->context, dnnl_memory_set_data_handle(state->bias, (void *)bias));
    DNNL_TRY(self->context,
             dnnl_primitive_execute(state->primitive, cpu->stream, desc->has_bias ? 4 : 3, arguments));
    return ILLUME_OK;
}
