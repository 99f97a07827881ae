/* Inference batch normalization on oneDNN, with the model's statistics, and
 * a fused Relu as oneDNN's own flag. */
#include <stdlib.h>

#include "dnnl_support.h"

typedef struct batchnorm_state {
    cpu_state base;
    dnnl_primitive_t primitive;
    dnnl_memory_t x, y, scale, shift, mean, variance;
} batchnorm_state;

static void destroy(cpu_state *header) {
    batchnorm_state *state = (batchnorm_state *)header;
    if (state->primitive) dnnl_primitive_destroy(state->primitive);
    dnnl_memory_t memories[6] = {state->x, state->y, state->scale, state->shift, state->mean, state->variance};
    for (int i = 0; i < 6; i++)
        if (memories[i]) dnnl_memory_destroy(memories[i]);
    free(state);
}

static illume_status create(cpu_backend *cpu, const batchnorm_desc *desc, batchnorm_state *state) {
    illume_context *context = cpu->base.context;
    /* (N, C, spatial) seen as (N, C, spatial, 1): oneDNN wants at least 2-D and its spatial dims to be flat. */
    int64_t dims[4] = {desc->batch, desc->channels, desc->spatial, 1};
    int64_t channels[1] = {desc->channels};
    dnnl_memory_desc_t data_md, channel_md;
    ILLUME_TRY(dnnl_activation_desc(context, &data_md, 4, dims, desc->channels_last));
    ILLUME_TRY(dnnl_plain_desc(context, &channel_md, 1, channels));
    dnnl_batch_normalization_desc_t operation;
    unsigned flags = dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift | (desc->relu ? dnnl_fuse_norm_relu : 0);
    DNNL_TRY(context, dnnl_batch_normalization_forward_desc_init(&operation, dnnl_forward_inference, &data_md,
                                                                 desc->epsilon, flags));
    dnnl_primitive_desc_t pd;
    DNNL_TRY(context, dnnl_primitive_desc_create(&pd, &operation, NULL, cpu->engine, NULL));
    dnnl_status_t status = dnnl_primitive_create(&state->primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    DNNL_TRY(context, status);
    DNNL_TRY(context, dnnl_memory_create(&state->x, &data_md, cpu->engine, DNNL_MEMORY_NONE));
    DNNL_TRY(context, dnnl_memory_create(&state->y, &data_md, cpu->engine, DNNL_MEMORY_NONE));
    DNNL_TRY(context, dnnl_memory_create(&state->scale, &channel_md, cpu->engine, DNNL_MEMORY_NONE));
    DNNL_TRY(context, dnnl_memory_create(&state->shift, &channel_md, cpu->engine, DNNL_MEMORY_NONE));
    DNNL_TRY(context, dnnl_memory_create(&state->mean, &channel_md, cpu->engine, DNNL_MEMORY_NONE));
    DNNL_TRY(context, dnnl_memory_create(&state->variance, &channel_md, cpu->engine, DNNL_MEMORY_NONE));
    return ILLUME_OK;
}

illume_status cpu_batchnorm(backend *self, const batchnorm_desc *desc, void **slot, const float *x,
                            const float *scale, const float *shift, const float *mean, const float *variance,
                            float *y) {
    cpu_backend *cpu = (cpu_backend *)self;
    batchnorm_state *state = *slot;
    if (!state) {
        state = calloc(1, sizeof *state);
        if (!state) return illume_fail(self->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        state->base.destroy = destroy;
        illume_status status = create(cpu, desc, state);
        if (status != ILLUME_OK) {
            destroy(&state->base);
            return illume_wrap(self->context, status, "batch normalization");
        }
        *slot = state;
    }
    dnnl_memory_t memories[6] = {state->x, state->y, state->scale, state->shift, state->mean, state->variance};
    const float *pointers[6] = {x, y, scale, shift, mean, variance};
    int names[6] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    dnnl_exec_arg_t arguments[6];
    for (int i = 0; i < 6; i++) {
        DNNL_TRY(self->context, dnnl_memory_set_data_handle(memories[i], (void *)pointers[i]));
        arguments[i] = (dnnl_exec_arg_t){names[i], memories[i]};
    }
    DNNL_TRY(self->context, dnnl_primitive_execute(state->primitive, cpu->stream, 6, arguments));
    return ILLUME_OK;
}
