#include "host_copy.h"

#include <string.h>

#include "strided.h"

void host_copy(const copy_desc *desc, const void *source, void *destination, size_t element_size) {
    int rank = desc->rank;
    int64_t total = 1;
    for (int d = 0; d < rank; d++) total *= desc->dims[d];
    if (total == 0) return;
    const char *from = (const char *)source + desc->src_offset * (int64_t)element_size;
    char *to = (char *)destination + desc->dst_offset * (int64_t)element_size;
    /* Rows along the last axis: one memcpy when both sides are contiguous there. */
    int64_t row = rank > 0 ? desc->dims[rank - 1] : 1;
    int64_t src_step = rank > 0 ? desc->src_strides[rank - 1] : 1;
    int64_t dst_step = rank > 0 ? desc->dst_strides[rank - 1] : 1;
    int64_t rows = total / row;
    int outer_rank = rank > 0 ? rank - 1 : 0;
#pragma omp parallel for schedule(static) if (total > 65536)
    for (int64_t r = 0; r < rows; r++) {
        int64_t src = illume_strided_offset(outer_rank, desc->dims, desc->src_strides, r);
        int64_t dst = illume_strided_offset(outer_rank, desc->dims, desc->dst_strides, r);
        if (desc->accumulate) {
            const float *s = (const float *)from + src;
            float *t = (float *)to + dst;
            for (int64_t i = 0; i < row; i++) t[i * dst_step] += s[i * src_step];
        } else if (src_step == 1 && dst_step == 1) {
            memcpy(to + dst * (int64_t)element_size, from + src * (int64_t)element_size,
                   (size_t)row * element_size);
        } else if (element_size == 4) {
            const float *s = (const float *)from + src;
            float *t = (float *)to + dst;
            for (int64_t i = 0; i < row; i++) t[i * dst_step] = s[i * src_step];
        } else {
            for (int64_t i = 0; i < row; i++)
                memcpy(to + (dst + i * dst_step) * (int64_t)element_size,
                       from + (src + i * src_step) * (int64_t)element_size, element_size);
        }
    }
}
