/* pool_backward against a naive reference that scatters each output's
 * gradient over its window (max: to the first maximum in window order;
 * average: dy / divisor to every input position of the window), in both
 * layouts, and the adjoint of average pooling against the forward pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_testing.h"

typedef struct pool_case {
    const char *label;
    pool_kind kind;
    int rank, channels_last, ceil_mode, count_include_pad;
    int64_t batch, channels;
    int64_t in[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3];
    int levels; /* > 0: integer data, so that maxima tie */
} pool_case;

static pool_desc describe(const pool_case *test) {
    pool_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.kind = test->kind;
    desc.spatial_rank = test->rank;
    desc.planes = test->batch * test->channels;
    desc.channels = test->channels;
    desc.channels_last = test->channels_last;
    desc.count_include_pad = test->count_include_pad;
    for (int d = 0; d < test->rank; d++) {
        int64_t extent = (test->kernel[d] - 1) * test->dilation[d] + 1;
        int64_t span = test->in[d] + test->pad_begin[d] + test->pad_end[d] - extent, s = test->stride[d];
        int64_t out = (test->ceil_mode ? (span + s - 1) / s : span / s) + 1;
        /* ONNX and PyTorch drop a last window that would start in the end padding. */
        if (test->ceil_mode && (out - 1) * s >= test->in[d] + test->pad_begin[d]) out--;
        desc.in_size[d] = test->in[d];
        desc.out_size[d] = out;
        desc.kernel[d] = test->kernel[d];
        desc.stride[d] = s;
        desc.dilation[d] = test->dilation[d];
        desc.pad_begin[d] = test->pad_begin[d];
        desc.pad_end[d] = test->pad_end[d];
    }
    return desc;
}

static int64_t plane_size(int rank, const int64_t *size) {
    int64_t count = 1;
    for (int d = 0; d < rank; d++) count *= size[d];
    return count;
}

/* Where element p of plane (n, c) lies in the layout. */
static int64_t element(const pool_case *test, int64_t plane, int64_t n, int64_t c, int64_t p) {
    return test->channels_last ? (n * plane + p) * test->channels + c : (n * test->channels + c) * plane + p;
}

/* The reference: scatters dy over every window into want (and |terms| into
 * scale); reference_argmax gets the first maximum of each window. */
static void reference(const pool_case *test, const pool_desc *desc, const float *x, const float *dy,
                      int32_t *reference_argmax, double *want, double *scale) {
    int rank = test->rank;
    int64_t in_plane = plane_size(rank, desc->in_size), out_plane = plane_size(rank, desc->out_size);
    int64_t window = plane_size(rank, desc->kernel);
    for (int64_t n = 0; n < test->batch; n++)
        for (int64_t c = 0; c < test->channels; c++)
            for (int64_t o = 0; o < out_plane; o++) {
                int64_t out_at[3], rest = o;
                for (int d = rank - 1; d >= 0; d--) {
                    out_at[d] = rest % desc->out_size[d];
                    rest /= desc->out_size[d];
                }
                int64_t y_index = element(test, out_plane, n, c, o);
                double divisor = 1.0;
                for (int d = 0; d < rank; d++) {
                    int64_t count = 0;
                    for (int64_t k = 0; k < desc->kernel[d]; k++) {
                        int64_t i = out_at[d] * desc->stride[d] - desc->pad_begin[d] + k * desc->dilation[d];
                        int64_t low = test->count_include_pad ? -desc->pad_begin[d] : 0;
                        int64_t high = desc->in_size[d] + (test->count_include_pad ? desc->pad_end[d] : 0);
                        count += i >= low && i < high;
                    }
                    divisor *= (double)count;
                }
                int64_t best = -1;
                for (int64_t k = 0; k < window; k++) {
                    int64_t k_at[3], krest = k, p = 0;
                    int inside = 1;
                    for (int d = rank - 1; d >= 0; d--) {
                        k_at[d] = krest % desc->kernel[d];
                        krest /= desc->kernel[d];
                    }
                    for (int d = 0; d < rank; d++) {
                        int64_t i = out_at[d] * desc->stride[d] - desc->pad_begin[d] + k_at[d] * desc->dilation[d];
                        inside = inside && i >= 0 && i < desc->in_size[d];
                        p = p * desc->in_size[d] + i;
                    }
                    if (!inside) continue;
                    int64_t x_index = element(test, in_plane, n, c, p);
                    if (test->kind == POOL_MAX) {
                        if (best < 0 || x[x_index] > x[element(test, in_plane, n, c, best)]) best = p;
                    } else {
                        want[x_index] += dy[y_index] / divisor;
                        scale[x_index] += (double)(dy[y_index] < 0 ? -dy[y_index] : dy[y_index]) / divisor;
                    }
                }
                if (test->kind == POOL_MAX) {
                    reference_argmax[y_index] = (int32_t)best;
                    if (best >= 0) {
                        int64_t x_index = element(test, in_plane, n, c, best);
                        want[x_index] += dy[y_index];
                        scale[x_index] += dy[y_index] < 0 ? -dy[y_index] : dy[y_index];
                    }
                }
            }
}

static void run_case(backend *cpu, const pool_case *test, uint64_t *seed) {
    pool_desc desc = describe(test);
    int64_t in_count = test->batch * test->channels * plane_size(test->rank, desc.in_size);
    int64_t out_count = test->batch * test->channels * plane_size(test->rank, desc.out_size);
    float *x = testing_floats(in_count), *dy = testing_floats(out_count), *dx = testing_floats(in_count);
    float *y = testing_floats(out_count);
    int32_t *argmax = testing_ints(out_count), *reference_argmax = testing_ints(out_count);
    double *want = testing_doubles(in_count), *scale = testing_doubles(in_count);
    if (test->levels > 0) testing_random_levels(seed, x, in_count, test->levels);
    else testing_random(seed, x, in_count, -2.0f, 2.0f);
    testing_random(seed, dy, out_count, -1.0f, 1.0f);
    /* Stale values that the backward must overwrite. */
    for (int64_t i = 0; i < in_count; i++) dx[i] = 1234.5f;
    reference(test, &desc, x, dy, reference_argmax, want, scale);
    /* The forward pool gives the argmax where it supports the layout (channels last only in 2-D). */
    int forward = !test->channels_last || test->rank == 2;
    char label[160];
    if (forward) {
        snprintf(label, sizeof label, "%s: forward", test->label);
        testing_expect_status(label, cpu->pool(cpu, &desc, x, y, test->kind == POOL_MAX ? argmax : NULL), ILLUME_OK);
        if (test->kind == POOL_MAX) {
            testing_count();
            for (int64_t i = 0; i < out_count; i++)
                if (argmax[i] != reference_argmax[i]) {
                    testing_fail("%s: the forward's argmax %d at output %lld, the reference's %d", test->label,
                                 (int)argmax[i], (long long)i, (int)reference_argmax[i]);
                    break;
                }
        }
    } else {
        memcpy(argmax, reference_argmax, sizeof(int32_t) * (size_t)out_count);
    }
    snprintf(label, sizeof label, "%s: backward", test->label);
    illume_status status = cpu->pool_backward(cpu, &desc, dy, test->kind == POOL_MAX ? argmax : NULL, dx);
    if (testing_expect_status(label, status, ILLUME_OK)) testing_expect(label, dx, want, scale, in_count, 1e-5);
    if (forward && test->kind == POOL_AVERAGE) {
        snprintf(label, sizeof label, "%s: adjoint", test->label);
        testing_expect_adjoint(label, dx, x, in_count, dy, y, out_count, 1e-5);
    }
    free(x);
    free(dy);
    free(dx);
    free(y);
    free(argmax);
    free(reference_argmax);
    free(want);
    free(scale);
}

#define ONES {1, 1, 1}
#define ZEROS {0, 0, 0}

static const pool_case cases[] = {
    /* label, kind, rank, channels_last, ceil_mode, count_include_pad, batch, channels,
     * in, kernel, stride, dilation, pad_begin, pad_end, levels */
    {"max 2-D overlapping, ties", POOL_MAX, 2, 0, 0, 0, 2, 3, {7, 9}, {3, 3}, {2, 2}, ONES, {1, 1}, {1, 1}, 3},
    {"max 2-D stride 1, many ties", POOL_MAX, 2, 0, 0, 0, 1, 2, {6, 5}, {3, 2}, {1, 1}, ONES, {1, 0}, {1, 1}, 2},
    {"max 2-D disjoint", POOL_MAX, 2, 0, 0, 0, 2, 2, {8, 8}, {2, 2}, {2, 2}, ONES, ZEROS, ZEROS, 0},
    {"max 2-D dilated, ceil", POOL_MAX, 2, 0, 1, 0, 1, 3, {9, 10}, {3, 2}, {2, 3}, {2, 1}, {1, 0}, {0, 1}, 4},
    {"max 1-D dilated, ceil", POOL_MAX, 1, 0, 1, 0, 2, 3, {13}, {4}, {3}, {2}, {2}, {1}, 3},
    {"max 3-D", POOL_MAX, 3, 0, 0, 0, 1, 2, {5, 6, 7}, {2, 3, 2}, {1, 2, 2}, {1, 1, 2}, {1, 1, 0}, {0, 1, 1}, 3},
    {"global max", POOL_MAX, 2, 0, 0, 0, 2, 3, {5, 7}, {5, 7}, ONES, ONES, ZEROS, ZEROS, 3},
    {"max channels last", POOL_MAX, 2, 1, 0, 0, 2, 5, {7, 6}, {3, 3}, {1, 2}, ONES, {1, 1}, {1, 1}, 2},
    {"max channels last dilated, ceil", POOL_MAX, 2, 1, 1, 0, 1, 3, {9, 8}, {2, 3}, {2, 2}, {2, 2}, {0, 1}, {1, 1},
     3},
    {"max channels last 1-D", POOL_MAX, 1, 1, 0, 0, 2, 4, {11}, {3}, {2}, ONES, {1}, {1}, 3},
    {"max channels last 3-D", POOL_MAX, 3, 1, 0, 0, 1, 3, {4, 5, 6}, {2, 2, 3}, {2, 1, 2}, ONES, {0, 1, 1},
     {1, 0, 1}, 2},
    {"max large (parallel)", POOL_MAX, 2, 0, 0, 0, 2, 8, {33, 33}, {3, 3}, {2, 2}, ONES, {1, 1}, {1, 1}, 5},
    {"max channels last large (parallel)", POOL_MAX, 2, 1, 0, 0, 2, 16, {23, 25}, {3, 3}, {2, 2}, ONES, {1, 1},
     {1, 1}, 0},
    {"average 2-D overlapping", POOL_AVERAGE, 2, 0, 0, 0, 2, 3, {7, 9}, {3, 3}, {2, 2}, ONES, {1, 1}, {1, 1}, 0},
    {"average 2-D count_include_pad", POOL_AVERAGE, 2, 0, 0, 1, 2, 3, {7, 9}, {3, 3}, {2, 2}, ONES, {1, 1}, {1, 1},
     0},
    {"average 2-D ceil, count_include_pad", POOL_AVERAGE, 2, 0, 1, 1, 1, 2, {8, 7}, {3, 2}, {2, 2}, ONES, {1, 0},
     {1, 1}, 0},
    {"average 2-D ceil", POOL_AVERAGE, 2, 0, 1, 0, 1, 2, {8, 7}, {3, 2}, {2, 2}, ONES, {1, 0}, {1, 1}, 0},
    {"average 2-D dilated", POOL_AVERAGE, 2, 0, 0, 1, 1, 2, {9, 9}, {2, 3}, {1, 2}, {3, 2}, {1, 2}, {2, 1}, 0},
    {"average 1-D", POOL_AVERAGE, 1, 0, 1, 1, 2, 2, {12}, {5}, {3}, {1}, {2}, {2}, 0},
    {"average 3-D", POOL_AVERAGE, 3, 0, 0, 0, 1, 2, {5, 6, 7}, {3, 2, 3}, {2, 1, 2}, ONES, {1, 0, 1}, {1, 1, 1}, 0},
    {"average 3-D count_include_pad, ceil", POOL_AVERAGE, 3, 0, 1, 1, 1, 1, {5, 6, 7}, {3, 2, 3}, {2, 1, 2},
     {1, 2, 1}, {1, 0, 1}, {1, 1, 1}, 0},
    {"global average", POOL_AVERAGE, 2, 0, 0, 0, 3, 2, {6, 5}, {6, 5}, ONES, ONES, ZEROS, ZEROS, 0},
    {"average channels last", POOL_AVERAGE, 2, 1, 0, 0, 2, 5, {7, 6}, {3, 3}, {2, 1}, ONES, {1, 1}, {1, 1}, 0},
    {"average channels last count_include_pad, ceil", POOL_AVERAGE, 2, 1, 1, 1, 2, 3, {8, 9}, {3, 3}, {2, 2},
     {1, 2}, {1, 1}, {1, 0}, 0},
    {"average channels last 3-D", POOL_AVERAGE, 3, 1, 0, 1, 1, 3, {4, 5, 6}, {2, 2, 3}, {2, 1, 2}, ONES,
     {0, 1, 1}, {1, 0, 1}, 0},
    {"global average channels last", POOL_AVERAGE, 2, 1, 0, 0, 2, 7, {5, 4}, {5, 4}, ONES, ONES, ZEROS, ZEROS, 0},
    {"average large (parallel)", POOL_AVERAGE, 2, 0, 0, 1, 2, 8, {33, 33}, {3, 3}, {2, 2}, ONES, {1, 1}, {1, 1}, 0},
};

int main(void) {
    backend *cpu = testing_backend_open();
    if (!cpu) return testing_report("backend/pool");
    uint64_t seed = 20261122;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(cpu, &cases[i], &seed);

    /* Max pooling without the forward's argmax is refused, not dereferenced. */
    pool_case refused = cases[0];
    pool_desc desc = describe(&refused);
    float dy[1] = {0.0f}, dx[1];
    testing_expect_status("max pooling backward without argmax",
                          cpu->pool_backward(cpu, &desc, dy, NULL, dx), ILLUME_ERROR_INTERNAL);
    testing_backend_close(cpu);
    return testing_report("backend/pool");
}
