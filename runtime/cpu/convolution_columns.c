/* The backward data of a convolution with few input channels (a network's
 * first layer, on 3 colour channels) through a matrix product and a scatter
 * of columns. oneDNN's backward kernels vectorize over the input channels and
 * waste most of each vector when there are 3; a product over the output
 * channels does not. Per image: the columns
 *     columns[p][(i, j, c)] = sum_m dy[p][m] W[m][c][i][j]
 * over the output positions p, then each input row adds the columns whose
 * window covers it. */
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"

/* Where oneDNN's own backward wastes at least three quarters of a vector. */
#define COLUMNS_MAX_CHANNELS 4

typedef struct columns_state {
    cpu_state base;
    void *product;             /* the matmul's state */
    float *weights;            /* W as (M, kh, kw, C) */
    const float *weights_from; /* the W it was made from */
    float *columns;            /* (positions, kh kw C) of one image */
    float *image;              /* one image's dx channels last, when dx is stored (C, H, W) */
} columns_state;

static void destroy(cpu_state *header) {
    columns_state *state = (columns_state *)header;
    cpu_state *product = state->product;
    if (product) product->destroy(product);
    free(state->weights);
    free(state->columns);
    free(state->image);
    free(state);
}

/* Whether the columns of one image, in bytes, fit int64: they multiply the
 * output's positions by the weights' window, sizes of two different tensors. */
static int columns_fit(const convolution_desc *desc) {
    const int64_t factors[] = {desc->out_size[0], desc->out_size[1], desc->kernel[0], desc->kernel[1],
                               desc->in_channels, (int64_t)sizeof(float)};
    int64_t bytes = 1;
    for (size_t k = 0; k < sizeof factors / sizeof factors[0]; k++) {
        if (factors[k] == 0) return 1;
        if (bytes > INT64_MAX / factors[k]) return 0;
        bytes *= factors[k];
    }
    return 1;
}

int cpu_columns_apply(const convolution_desc *desc) {
    return !desc->transpose && desc->groups == 1 && desc->spatial_rank == 2 &&
           desc->in_channels <= COLUMNS_MAX_CHANNELS && desc->constant_weights && desc->y_channels_last &&
           desc->dilation[0] == 1 && desc->dilation[1] == 1 && columns_fit(desc);
}

/* W (M, C, kh, kw) to (M, kh, kw, C), so that a window row's columns lie
 * together as the channels-last input row they add to. */
static void permute_weights(const convolution_desc *desc, const float *weights, float *permuted) {
    int64_t channels = desc->in_channels, height = desc->kernel[0], width = desc->kernel[1];
    for (int64_t m = 0; m < desc->out_channels; m++)
        for (int64_t c = 0; c < channels; c++)
            for (int64_t i = 0; i < height; i++)
                for (int64_t j = 0; j < width; j++)
                    permuted[((m * height + i) * width + j) * channels + c] =
                        weights[((m * channels + c) * height + i) * width + j];
}

/* One image's dx, channels last, from its columns: input row h gathers the
 * window rows i that reach it (h + pad - i a multiple of the stride), and of
 * each, the kernel columns that fall inside the row. Rows are independent. */
static void scatter_columns(const convolution_desc *desc, const float *columns, float *image) {
    int64_t channels = desc->in_channels, in_height = desc->in_size[0], in_width = desc->in_size[1];
    int64_t out_height = desc->out_size[0], out_width = desc->out_size[1];
    int64_t kernel_height = desc->kernel[0], kernel_width = desc->kernel[1];
    int64_t row_columns = kernel_width * channels, position_columns = kernel_height * row_columns;
#pragma omp parallel for schedule(static)
    for (int64_t h = 0; h < in_height; h++) {
        float *row = image + h * in_width * channels;
        memset(row, 0, sizeof(float) * (size_t)(in_width * channels));
        for (int64_t i = 0; i < kernel_height; i++) {
            int64_t reach = h + desc->pad_begin[0] - i;
            if (reach < 0 || reach % desc->stride[0]) continue;
            int64_t oh = reach / desc->stride[0];
            if (oh >= out_height) continue;
            for (int64_t ow = 0; ow < out_width; ow++) {
                int64_t left = ow * desc->stride[1] - desc->pad_begin[1];
                int64_t first = left < 0 ? -left : 0;
                int64_t last = in_width - left < kernel_width ? in_width - left : kernel_width;
                if (last <= first) continue;
                const float *from = columns + (oh * out_width + ow) * position_columns + i * row_columns +
                                    first * channels;
                float *into = row + (left + first) * channels;
                for (int64_t e = 0; e < (last - first) * channels; e++) into[e] += from[e];
            }
        }
    }
}

/* (positions, C) to (C, positions). */
static void to_planes(int64_t positions, int64_t channels, const float *image, float *planes) {
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < channels; c++)
        for (int64_t p = 0; p < positions; p++) planes[c * positions + p] = image[p * channels + c];
}

illume_status cpu_columns_backward(cpu_backend *cpu, const convolution_desc *desc, void **slot, const float *dy,
                                   const float *weights, float *dx) {
    illume_context *context = cpu->base.context;
    int64_t channels = desc->in_channels, features = desc->out_channels;
    int64_t in_positions = desc->in_size[0] * desc->in_size[1], out_positions = desc->out_size[0] * desc->out_size[1];
    int64_t width = desc->kernel[0] * desc->kernel[1] * channels;
    columns_state *state = *slot;
    if (!state) {
        state = calloc(1, sizeof *state);
        if (!state) return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
        state->base.destroy = destroy;
        *slot = state;
        state->weights = malloc(sizeof(float) * (size_t)(features * width));
        state->columns = malloc(sizeof(float) * (size_t)(out_positions * width));
        state->image = desc->x_channels_last ? NULL : malloc(sizeof(float) * (size_t)(in_positions * channels));
        if (!state->weights || !state->columns || (!desc->x_channels_last && !state->image))
            return illume_fail(context, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory for convolution backward columns");
    }
    if (state->weights_from != weights) {
        permute_weights(desc, weights, state->weights);
        state->weights_from = weights;
    }
    matmul_desc product = {.rank = 2,
                           .a_dims = {out_positions, features},
                           .b_dims = {features, width},
                           .y_dims = {out_positions, width},
                           .alpha = 1.0f,
                           .constant_b = 1};
    for (int64_t n = 0; n < desc->batch; n++) {
        ILLUME_TRY(cpu_matmul(&cpu->base, &product, &state->product, dy + n * out_positions * features,
                              state->weights, NULL, state->columns));
        float *image = dx + n * in_positions * channels;
        scatter_columns(desc, state->columns, desc->x_channels_last ? image : state->image);
        if (!desc->x_channels_last) to_planes(in_positions, channels, state->image, image);
    }
    return ILLUME_OK;
}
