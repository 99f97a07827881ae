/* Data movement: Concat, Split, Slice, Transpose, Pad and Gather, each
 * output element found by its coordinates. */
#include <stdlib.h>
#include <string.h>

#include "reference.h"

void reference_coordinates(int rank, const int64_t *dims, int64_t index, int64_t *coordinates) {
    for (int d = rank - 1; d >= 0; d--) {
        coordinates[d] = dims[d] ? index % dims[d] : 0;
        index = dims[d] ? index / dims[d] : 0;
    }
}

int64_t reference_offset(int rank, const int64_t *dims, const int64_t *coordinates) {
    int64_t offset = 0;
    for (int d = 0; d < rank; d++) offset = offset * dims[d] + coordinates[d];
    return offset;
}

illume_tensor reference_tensor(int rank, const int64_t *dims) {
    illume_tensor tensor;
    memset(&tensor, 0, sizeof tensor);
    tensor.dtype = ILLUME_FLOAT32;
    tensor.rank = rank;
    int64_t count = 1;
    for (int d = 0; d < rank; d++) {
        tensor.dims[d] = dims[d];
        count *= dims[d];
    }
    tensor.data = calloc((size_t)(count ? count : 1), sizeof(float));
    return tensor;
}

static int64_t element_count(const illume_tensor *t) {
    int64_t count = 1;
    for (int d = 0; d < t->rank; d++) count *= t->dims[d];
    return count;
}

static float read_at(const illume_tensor *t, const int64_t *at) {
    return ((const float *)t->data)[reference_offset(t->rank, t->dims, at)];
}

illume_tensor reference_concat(int count, const illume_tensor *inputs, int64_t axis) {
    int rank = inputs[0].rank;
    if (axis < 0) axis += rank;
    int64_t dims[ILLUME_MAX_RANK] = {0};
    for (int d = 0; d < rank; d++) dims[d] = inputs[0].dims[d];
    dims[axis] = 0;
    for (int i = 0; i < count; i++) dims[axis] += inputs[i].dims[axis];
    illume_tensor y = reference_tensor(rank, dims);
    for (int64_t index = 0; index < element_count(&y); index++) {
        int64_t at[ILLUME_MAX_RANK];
        reference_coordinates(rank, dims, index, at);
        int source = 0;
        while (at[axis] >= inputs[source].dims[axis]) at[axis] -= inputs[source++].dims[axis];
        ((float *)y.data)[index] = read_at(&inputs[source], at);
    }
    return y;
}

void reference_split(const illume_tensor *x, int64_t axis, int count, const int64_t *sizes, illume_tensor *outputs) {
    if (axis < 0) axis += x->rank;
    int64_t first = 0;
    for (int o = 0; o < count; o++) {
        int64_t dims[ILLUME_MAX_RANK];
        for (int d = 0; d < x->rank; d++) dims[d] = x->dims[d];
        dims[axis] = sizes[o];
        outputs[o] = reference_tensor(x->rank, dims);
        for (int64_t index = 0; index < element_count(&outputs[o]); index++) {
            int64_t at[ILLUME_MAX_RANK];
            reference_coordinates(x->rank, dims, index, at);
            at[axis] += first;
            ((float *)outputs[o].data)[index] = read_at(x, at);
        }
        first += sizes[o];
    }
}

static int64_t clamp(int64_t value, int64_t low, int64_t high) {
    return value < low ? low : value > high ? high : value;
}

illume_tensor reference_slice(const illume_tensor *x, int count, const int64_t *starts, const int64_t *ends,
                              const int64_t *axes, const int64_t *steps) {
    int rank = x->rank;
    int64_t start[ILLUME_MAX_RANK], end[ILLUME_MAX_RANK], step[ILLUME_MAX_RANK], dims[ILLUME_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        start[d] = 0;
        end[d] = x->dims[d];
        step[d] = 1;
    }
    for (int i = 0; i < count; i++) {
        int64_t axis = axes ? axes[i] : i;
        if (axis < 0) axis += rank;
        int64_t dim = x->dims[axis], s = starts[i], e = ends[i];
        step[axis] = steps ? steps[i] : 1;
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        if (step[axis] > 0) {
            start[axis] = clamp(s, 0, dim);
            end[axis] = clamp(e, 0, dim);
        } else {
            start[axis] = clamp(s, 0, dim - 1);
            end[axis] = clamp(e, -1, dim - 1);
        }
    }
    /* The element count of each axis, by walking the range as numpy does. */
    for (int d = 0; d < rank; d++) {
        dims[d] = 0;
        for (int64_t i = start[d]; step[d] > 0 ? i < end[d] : i > end[d]; i += step[d]) dims[d]++;
    }
    illume_tensor y = reference_tensor(rank, dims);
    for (int64_t index = 0; index < element_count(&y); index++) {
        int64_t at[ILLUME_MAX_RANK];
        reference_coordinates(rank, dims, index, at);
        for (int d = 0; d < rank; d++) at[d] = start[d] + at[d] * step[d];
        ((float *)y.data)[index] = read_at(x, at);
    }
    return y;
}

illume_tensor reference_transpose(const illume_tensor *x, const int64_t *perm) {
    int rank = x->rank;
    int64_t order[ILLUME_MAX_RANK], dims[ILLUME_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        order[d] = perm ? perm[d] : rank - 1 - d;
        dims[d] = x->dims[order[d]];
    }
    illume_tensor y = reference_tensor(rank, dims);
    for (int64_t index = 0; index < element_count(&y); index++) {
        int64_t at[ILLUME_MAX_RANK], source[ILLUME_MAX_RANK];
        reference_coordinates(rank, dims, index, at);
        for (int d = 0; d < rank; d++) source[order[d]] = at[d];
        ((float *)y.data)[index] = read_at(x, source);
    }
    return y;
}

/* numpy's pad modes on an axis of length n: -1 for the constant. */
static int64_t pad_source(const char *mode, int64_t i, int64_t n) {
    if (i >= 0 && i < n) return i;
    if (strcmp(mode, "constant") == 0) return -1;
    if (strcmp(mode, "edge") == 0) return i < 0 ? 0 : n - 1;
    if (strcmp(mode, "wrap") == 0) return ((i % n) + n) % n;
    /* reflect: mirror at the first and last element (not repeating them) until inside. */
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

illume_tensor reference_pad(const illume_tensor *x, const int64_t *pads, const char *mode, float value) {
    /* Negative pads remove elements first; the remaining input is then padded. */
    int rank = x->rank;
    int64_t crop[ILLUME_MAX_RANK], kept[ILLUME_MAX_RANK], begin[ILLUME_MAX_RANK], dims[ILLUME_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        int64_t head = pads[d], tail = pads[rank + d];
        crop[d] = head < 0 ? -head : 0;
        kept[d] = x->dims[d] - crop[d] - (tail < 0 ? -tail : 0);
        begin[d] = head > 0 ? head : 0;
        dims[d] = kept[d] + begin[d] + (tail > 0 ? tail : 0);
    }
    illume_tensor y = reference_tensor(rank, dims);
    for (int64_t index = 0; index < element_count(&y); index++) {
        int64_t at[ILLUME_MAX_RANK];
        reference_coordinates(rank, dims, index, at);
        int outside = 0;
        for (int d = 0; d < rank; d++) {
            int64_t source = pad_source(mode, at[d] - begin[d], kept[d]);
            if (source < 0) outside = 1;
            at[d] = source + crop[d];
        }
        ((float *)y.data)[index] = outside ? value : read_at(x, at);
    }
    return y;
}

illume_tensor reference_gather(const illume_tensor *x, int index_rank, const int64_t *index_dims,
                               const int64_t *indices, int64_t axis) {
    if (axis < 0) axis += x->rank;
    int64_t dims[ILLUME_MAX_RANK] = {0};
    int rank = 0;
    for (int d = 0; d < axis; d++) dims[rank++] = x->dims[d];
    for (int d = 0; d < index_rank; d++) dims[rank++] = index_dims[d];
    for (int d = (int)axis + 1; d < x->rank; d++) dims[rank++] = x->dims[d];
    illume_tensor y = reference_tensor(rank, dims);
    for (int64_t index = 0; index < element_count(&y); index++) {
        int64_t at[ILLUME_MAX_RANK], source[ILLUME_MAX_RANK];
        reference_coordinates(rank, dims, index, at);
        for (int d = 0; d < axis; d++) source[d] = at[d];
        int64_t k = indices[reference_offset(index_rank, index_dims, at + axis)];
        source[axis] = k < 0 ? k + x->dims[axis] : k;
        for (int d = (int)axis + 1; d < x->rank; d++) source[d] = at[d + index_rank - 1];
        ((float *)y.data)[index] = read_at(x, source);
    }
    return y;
}
