/* fill, and copy with and without accumulate, against naive references; the
 * accumulating copy with source and destination swapped is the adjoint of a
 * copy (how a backward pass routes gradients through data movement). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_testing.h"

static void check_fill(backend *cpu, int64_t count, float value) {
    float *y = testing_floats(count + 1);
    double *want = testing_doubles(count + 1), *scale = testing_doubles(count + 1);
    y[count] = 7.0f; /* past the end: must stay */
    for (int64_t i = 0; i < count; i++) {
        y[i] = 99.0f;
        want[i] = value;
        scale[i] = 1.0;
    }
    want[count] = 7.0;
    scale[count] = 1.0;
    char label[96];
    snprintf(label, sizeof label, "fill %lld with %g", (long long)count, value);
    if (testing_expect_status(label, cpu->fill(cpu, value, count, y), ILLUME_OK))
        testing_expect(label, y, want, scale, count + 1, 0.0);
    free(y);
    free(want);
    free(scale);
}

typedef struct copy_case {
    const char *label;
    copy_desc desc;
    int64_t x_count, y_count;
    int injective; /* every source element read at most once: the swapped copy is the adjoint */
} copy_case;

static int64_t offset_of(const copy_desc *desc, int64_t index, int destination) {
    int64_t offset = destination ? desc->dst_offset : desc->src_offset;
    const int64_t *strides = destination ? desc->dst_strides : desc->src_strides;
    for (int d = desc->rank - 1; d >= 0; d--) {
        offset += index % desc->dims[d] * strides[d];
        index /= desc->dims[d];
    }
    return offset;
}

static void run_copy(backend *cpu, const copy_case *test, int accumulate, uint64_t *seed) {
    copy_desc desc = test->desc;
    desc.accumulate = accumulate;
    int64_t total = 1;
    for (int d = 0; d < desc.rank; d++) total *= desc.dims[d];
    float *x = testing_floats(test->x_count), *y = testing_floats(test->y_count);
    double *want = testing_doubles(test->y_count), *scale = testing_doubles(test->y_count);
    testing_random(seed, x, test->x_count, -1.0f, 1.0f);
    testing_random(seed, y, test->y_count, -1.0f, 1.0f);
    for (int64_t i = 0; i < test->y_count; i++) {
        want[i] = y[i];
        scale[i] = fabs(y[i]) + 1.0;
    }
    for (int64_t i = 0; i < total; i++) {
        int64_t from = offset_of(&desc, i, 0), to = offset_of(&desc, i, 1);
        want[to] = (accumulate ? want[to] : 0.0) + x[from];
    }
    char label[160];
    snprintf(label, sizeof label, "copy %s%s", test->label, accumulate ? ", accumulating" : "");
    if (testing_expect_status(label, cpu->copy(cpu, &desc, x, y), ILLUME_OK))
        testing_expect(label, y, want, scale, test->y_count, 1e-6);
    free(x);
    free(y);
    free(want);
    free(scale);
}

/* The forward copy into zeros, and its adjoint: fill dx with zeros, then
 * accumulate dy through the copy with source and destination swapped. */
static void run_copy_adjoint(backend *cpu, const copy_case *test, uint64_t *seed) {
    float *x = testing_floats(test->x_count), *y = testing_floats(test->y_count);
    float *dy = testing_floats(test->y_count), *dx = testing_floats(test->x_count);
    testing_random(seed, x, test->x_count, -1.0f, 1.0f);
    testing_random(seed, dy, test->y_count, -1.0f, 1.0f);
    for (int64_t i = 0; i < test->x_count; i++) dx[i] = 1234.5f;
    copy_desc forward = test->desc, backward = test->desc;
    memcpy(backward.src_strides, forward.dst_strides, sizeof forward.dst_strides);
    memcpy(backward.dst_strides, forward.src_strides, sizeof forward.src_strides);
    backward.src_offset = forward.dst_offset;
    backward.dst_offset = forward.src_offset;
    backward.accumulate = 1;
    char label[160];
    snprintf(label, sizeof label, "copy %s: adjoint", test->label);
    if (testing_expect_status(label, cpu->fill(cpu, 0.0f, test->y_count, y), ILLUME_OK) &&
        testing_expect_status(label, cpu->copy(cpu, &forward, x, y), ILLUME_OK) &&
        testing_expect_status(label, cpu->fill(cpu, 0.0f, test->x_count, dx), ILLUME_OK) &&
        testing_expect_status(label, cpu->copy(cpu, &backward, dy, dx), ILLUME_OK))
        testing_expect_adjoint(label, dx, x, test->x_count, dy, y, test->y_count, 1e-6);
    free(x);
    free(y);
    free(dy);
    free(dx);
}

static const copy_case cases[] = {
    {"transpose", {.rank = 2, .dims = {5, 4}, .src_strides = {1, 5}, .dst_strides = {4, 1}}, 20, 20, 1},
    {"reversed", {.rank = 1, .dims = {7}, .src_strides = {-1}, .dst_strides = {1}, .src_offset = 6}, 7, 7, 1},
    {"broadcast rows", {.rank = 2, .dims = {3, 4}, .src_strides = {0, 1}, .dst_strides = {4, 1}}, 4, 12, 0},
    {"into a strided window",
     {.rank = 2, .dims = {3, 2}, .src_strides = {2, 1}, .dst_strides = {10, 3}, .dst_offset = 1}, 6, 30, 1},
    {"slice of a 3-D tensor",
     {.rank = 3, .dims = {2, 3, 2}, .src_strides = {20, 5, 2}, .dst_strides = {6, 2, 1}, .src_offset = 1}, 40, 12, 1},
    {"contiguous large (parallel)", {.rank = 2, .dims = {300, 301}, .src_strides = {301, 1}, .dst_strides = {301, 1}},
     90300, 90300, 1},
    {"transpose large (parallel)", {.rank = 2, .dims = {301, 300}, .src_strides = {1, 301}, .dst_strides = {300, 1}},
     90300, 90300, 1},
};

int main(void) {
    backend *cpu = testing_backend_open();
    if (!cpu) return testing_report("backend/copy_fill");
    uint64_t seed = 19;
    check_fill(cpu, 1001, -2.5f);
    check_fill(cpu, 0, 3.0f);
    check_fill(cpu, 70001, 0.0f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_copy(cpu, &cases[i], 0, &seed);
        run_copy(cpu, &cases[i], 1, &seed);
        if (cases[i].injective) run_copy_adjoint(cpu, &cases[i], &seed);
    }
    testing_backend_close(cpu);
    return testing_report("backend/copy_fill");
}
