/* softmax_backward against the transposed Jacobian, built element by
 * element in double from the forward's input: softmax dp_j/dx_i =
 * p_j (delta_ij - p_i), log-softmax d log p_j / dx_i = delta_ij - p_i. The
 * backward reads the forward's float output, as a backward pass does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend_testing.h"

typedef struct softmax_case {
    int64_t outer, axis, inner;
} softmax_case;

static void run_case(backend *cpu, const softmax_case *test, int log_softmax, uint64_t *seed) {
    int64_t count = test->outer * test->axis * test->inner, length = test->axis;
    float *x = testing_floats(count), *y = testing_floats(count), *dy = testing_floats(count);
    float *dx = testing_floats(count);
    double *want = testing_doubles(count), *scale = testing_doubles(count), *p = testing_doubles(length);
    testing_random(seed, x, count, -6.0f, 6.0f);
    testing_random(seed, dy, count, -1.0f, 1.0f);
    for (int64_t i = 0; i < count; i++) dx[i] = 1234.5f;
    for (int64_t o = 0; o < test->outer; o++)
        for (int64_t n = 0; n < test->inner; n++) {
            int64_t first = o * length * test->inner + n;
            double total = 0.0;
            for (int64_t k = 0; k < length; k++) total += exp((double)x[first + k * test->inner]);
            for (int64_t k = 0; k < length; k++) p[k] = exp((double)x[first + k * test->inner]) / total;
            for (int64_t i = 0; i < length; i++) {
                int64_t at_i = first + i * test->inner;
                for (int64_t j = 0; j < length; j++) {
                    double delta = i == j ? 1.0 : 0.0;
                    double jacobian = log_softmax ? delta - p[i] : p[j] * (delta - p[i]);
                    double term = dy[first + j * test->inner] * jacobian;
                    want[at_i] += term;
                    scale[at_i] += fabs(term);
                }
                /* The float forward output carries relative errors near 1e-7. */
                scale[at_i] += 1e-2 * fabs(dy[at_i]);
            }
        }
    softmax_desc desc = {test->outer, test->axis, test->inner, log_softmax};
    char label[160];
    snprintf(label, sizeof label, "%s (%lld, %lld, %lld)", log_softmax ? "log-softmax" : "softmax",
             (long long)test->outer, (long long)test->axis, (long long)test->inner);
    if (testing_expect_status(label, cpu->softmax(cpu, &desc, x, y), ILLUME_OK) &&
        testing_expect_status(label, cpu->softmax_backward(cpu, &desc, y, dy, dx), ILLUME_OK))
        testing_expect(label, dx, want, scale, count, 1e-5);
    free(x);
    free(y);
    free(dy);
    free(dx);
    free(want);
    free(scale);
    free(p);
}

static const softmax_case cases[] = {
    {1, 10, 1}, {3, 7, 5}, {2, 1, 4}, {4, 1000, 1}, {5, 3, 2300}, {1, 2, 1},
};

int main(void) {
    backend *cpu = testing_backend_open();
    if (!cpu) return testing_report("backend/softmax");
    uint64_t seed = 11;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int log_softmax = 0; log_softmax < 2; log_softmax++) run_case(cpu, &cases[i], log_softmax, &seed);
    testing_backend_close(cpu);
    return testing_report("backend/softmax");
}
