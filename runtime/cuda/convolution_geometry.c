#include "convolution_geometry.h"

#include <string.h>

void cudnn_geometry_of(const convolution_desc *desc, cudnn_geometry *g) {
    g->image_channels = desc->transpose ? desc->out_channels : desc->in_channels;
    g->result_channels = desc->transpose ? desc->in_channels : desc->out_channels;
    g->uneven = 0;
    for (int d = 0; d < desc->spatial_rank; d++) {
        int64_t begin = desc->pad_begin[d], end = desc->pad_end[d];
        int64_t image = desc->transpose ? desc->out_size[d] : desc->in_size[d];
        int64_t result = desc->transpose ? desc->in_size[d] : desc->out_size[d];
        int64_t extent = desc->dilation[d] * (desc->kernel[d] - 1) + 1, span = image + 2 * begin - extent;
        g->image_size[d] = image;
        g->result_size[d] = result;
        if (span >= 0 && span / desc->stride[d] + 1 == result) {
            /* The begin pad on both sides puts every window where it belongs
             * and gives as many: the end pad differs only where no window
             * reads (zeros either way), as with a ConvTranspose's
             * output_padding. cuDNN takes it as it is. */
            g->pad[d] = begin;
            g->extra[d] = 0;
            g->padded_size[d] = image;
            continue;
        }
        int64_t pad = begin < end ? begin : end;
        if (pad < 0) pad = 0;
        g->pad[d] = pad;
        g->extra[d] = begin - pad;
        g->padded_size[d] = image + (begin - pad) + (end - pad);
        if (begin != pad || end != pad) g->uneven = 1;
    }
}

int64_t cudnn_geometry_elements(int64_t n, int64_t c, int rank, const int64_t *size) {
    int64_t factors[2 + ILLUME_MAX_SPATIAL] = {n, c};
    for (int d = 0; d < rank; d++) factors[2 + d] = size[d];
    int64_t count = 1;
    for (int k = 0; k < 2 + rank; k++) {
        if (factors[k] <= 0) return 0;
        count = count > INT64_MAX / factors[k] ? INT64_MAX : count * factors[k];
    }
    return count;
}

int cudnn_padding_copy(const convolution_desc *desc, const cudnn_geometry *g, int forward_api, copy_desc *copy) {
    int rank = desc->spatial_rank, covers = 1;
    memset(copy, 0, sizeof *copy);
    copy->rank = rank + 2;
    copy->dims[0] = desc->batch;
    copy->dims[1] = g->image_channels;
    int64_t *image_strides = forward_api ? copy->src_strides : copy->dst_strides;
    int64_t *padded_strides = forward_api ? copy->dst_strides : copy->src_strides;
    int64_t image_offset = 0, padded_offset = 0, image_stride = 1, padded_stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        /* Padded position j holds image position j - extra where both exist. */
        int64_t first = g->extra[d] > 0 ? g->extra[d] : 0;
        int64_t last = g->image_size[d] + g->extra[d] < g->padded_size[d] ? g->image_size[d] + g->extra[d]
                                                                          : g->padded_size[d];
        copy->dims[2 + d] = last > first ? last - first : 0;
        if (copy->dims[2 + d] != g->image_size[d]) covers = 0;
        image_offset += (first - g->extra[d]) * image_stride;
        padded_offset += first * padded_stride;
        image_strides[2 + d] = image_stride;
        padded_strides[2 + d] = padded_stride;
        image_stride *= g->image_size[d];
        padded_stride *= g->padded_size[d];
    }
    image_strides[1] = image_stride;
    image_strides[0] = image_stride * g->image_channels;
    padded_strides[1] = padded_stride;
    padded_strides[0] = padded_stride * g->image_channels;
    copy->src_offset = forward_api ? image_offset : padded_offset;
    copy->dst_offset = forward_api ? padded_offset : image_offset;
    return covers;
}
