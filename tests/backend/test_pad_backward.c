/* pad_backward against a naive reference that scatters each output's
 * gradient onto the input element it copies (reflection by bouncing off the
 * ends, edge by clamping, wrap by modulo; negative pads crop first, as the
 * forward does), and the adjoint of every mode against the forward pad. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend_testing.h"

typedef struct pad_case {
    const char *label;
    pad_mode mode;
    int rank;
    int64_t in[ILLUME_MAX_RANK], begin[ILLUME_MAX_RANK], end[ILLUME_MAX_RANK];
} pad_case;

/* The input coordinate output coordinate o of one axis copies, or -1 (constant padding). */
static int64_t source(pad_mode mode, int64_t o, int64_t in, int64_t begin, int64_t end) {
    int64_t crop = begin < 0 ? -begin : 0, kept = in - crop - (end < 0 ? -end : 0);
    int64_t c = o - (begin > 0 ? begin : 0);
    if (c < 0 || c >= kept) {
        switch (mode) {
        case PAD_CONSTANT: return -1;
        case PAD_EDGE: c = c < 0 ? 0 : kept - 1; break;
        case PAD_WRAP: c = (c % kept + kept) % kept; break;
        case PAD_REFLECT:
            if (kept == 1) c = 0;
            while (c < 0 || c >= kept) c = c < 0 ? -c : 2 * (kept - 1) - c;
            break;
        }
    }
    return crop + c;
}

static void run_case(backend *cpu, const pad_case *test, uint64_t *seed) {
    pad_desc desc = {.mode = test->mode, .value = 1.5f, .rank = test->rank};
    int64_t in_count = 1, out_count = 1;
    for (int d = 0; d < test->rank; d++) {
        desc.in_dims[d] = test->in[d];
        desc.out_dims[d] = test->in[d] + test->begin[d] + test->end[d];
        desc.pad_begin[d] = test->begin[d];
        in_count *= desc.in_dims[d];
        out_count *= desc.out_dims[d];
    }
    float *x = testing_floats(in_count), *y = testing_floats(out_count), *dy = testing_floats(out_count);
    float *dx = testing_floats(in_count);
    double *want = testing_doubles(in_count), *scale = testing_doubles(in_count);
    testing_random(seed, x, in_count, -1.0f, 1.0f);
    testing_random(seed, dy, out_count, -1.0f, 1.0f);
    for (int64_t i = 0; i < in_count; i++) dx[i] = 1234.5f;
    for (int64_t o = 0; o < out_count; o++) {
        int64_t rest = o, at = 0, stride = 1;
        int outside = 0;
        for (int d = test->rank - 1; d >= 0; d--) {
            int64_t s = source(test->mode, rest % desc.out_dims[d], test->in[d], test->begin[d], test->end[d]);
            rest /= desc.out_dims[d];
            outside = outside || s < 0;
            at += s * stride;
            stride *= test->in[d];
        }
        if (outside) continue;
        want[at] += dy[o];
        scale[at] += fabs(dy[o]);
    }
    char label[160];
    snprintf(label, sizeof label, "%s: backward", test->label);
    if (testing_expect_status(label, cpu->pad_backward(cpu, &desc, dy, dx), ILLUME_OK))
        testing_expect(label, dx, want, scale, in_count, 1e-5);
    /* The adjoint of the linear part (pad value 0). */
    desc.value = 0.0f;
    snprintf(label, sizeof label, "%s: adjoint", test->label);
    if (testing_expect_status(label, cpu->pad(cpu, &desc, x, y), ILLUME_OK))
        testing_expect_adjoint(label, dx, x, in_count, dy, y, out_count, 1e-5);
    free(x);
    free(y);
    free(dy);
    free(dx);
    free(want);
    free(scale);
}

static const pad_case cases[] = {
    {"constant 4-D", PAD_CONSTANT, 4, {1, 2, 3, 4}, {0, 0, 1, 2}, {0, 1, 2, 1}},
    {"constant with crops", PAD_CONSTANT, 2, {3, 5}, {-1, 2}, {1, -2}},
    {"constant cropped to nothing", PAD_CONSTANT, 2, {3, 4}, {0, -2}, {0, -2}},
    {"constant rank 0", PAD_CONSTANT, 0, {0}, {0}, {0}},
    {"reflect", PAD_REFLECT, 2, {4, 5}, {3, 4}, {2, 3}},
    {"reflect past one period", PAD_REFLECT, 2, {3, 2}, {7, 3}, {5, 4}},
    {"reflect length one", PAD_REFLECT, 2, {1, 4}, {2, 1}, {3, 0}},
    {"reflect with crops", PAD_REFLECT, 2, {6, 5}, {-2, 2}, {3, -1}},
    {"edge 3-D", PAD_EDGE, 3, {2, 3, 4}, {1, 2, 0}, {2, 0, 3}},
    {"edge length one", PAD_EDGE, 2, {1, 3}, {2, 1}, {2, 1}},
    {"edge with crops", PAD_EDGE, 2, {5, 6}, {-1, 3}, {2, -2}},
    {"wrap", PAD_WRAP, 2, {3, 4}, {5, 1}, {2, 6}},
    {"wrap with crops", PAD_WRAP, 1, {7}, {2}, {-3}},
    {"wrap 5-D", PAD_WRAP, 5, {2, 1, 3, 2, 3}, {1, 0, 2, 1, 0}, {0, 2, 1, 2, 4}},
    {"reflect large (parallel)", PAD_REFLECT, 4, {2, 3, 60, 60}, {0, 0, 2, 3}, {0, 0, 2, 1}},
    {"edge large (parallel)", PAD_EDGE, 4, {2, 3, 60, 60}, {0, 1, 2, -3}, {1, 0, 5, 1}},
};

int main(void) {
    backend *cpu = testing_backend_open();
    if (!cpu) return testing_report("backend/pad");
    uint64_t seed = 13;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(cpu, &cases[i], &seed);
    testing_backend_close(cpu);
    return testing_report("backend/pad");
}
