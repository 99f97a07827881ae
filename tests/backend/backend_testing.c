#include "backend_testing.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int cases, failures;
static illume_context *testing_context;

backend *testing_backend_open(void) {
    testing_context = illume_context_create();
    if (!testing_context) {
        testing_fail("illume_context_create failed");
        return NULL;
    }
    backend *self = cpu_backend_create(testing_context, (backend_options){0});
    if (!self) testing_fail("cpu_backend_create failed: %s", illume_last_error(testing_context));
    return self;
}

void testing_backend_close(backend *self) {
    if (self) self->destroy(self);
    illume_context_destroy(testing_context);
    testing_context = NULL;
}

static uint64_t next(uint64_t *seed) {
    /* splitmix64 */
    uint64_t z = (*seed += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float testing_uniform(uint64_t *seed, float low, float high) {
    double unit = (double)(next(seed) >> 11) / 9007199254740992.0;
    return (float)(low + (high - low) * unit);
}

void testing_random(uint64_t *seed, float *data, int64_t count, float low, float high) {
    for (int64_t i = 0; i < count; i++) data[i] = testing_uniform(seed, low, high);
}

void testing_random_levels(uint64_t *seed, float *data, int64_t count, int levels) {
    for (int64_t i = 0; i < count; i++) data[i] = (float)(next(seed) % (uint64_t)levels);
}

static void *zeroed(int64_t count, size_t size) {
    void *memory = calloc(count > 0 ? (size_t)count : 1, size);
    if (!memory) {
        fprintf(stderr, "out of memory allocating %lld elements\n", (long long)count);
        exit(2);
    }
    return memory;
}

float *testing_floats(int64_t count) { return zeroed(count, sizeof(float)); }
double *testing_doubles(int64_t count) { return zeroed(count, sizeof(double)); }
int32_t *testing_ints(int64_t count) { return zeroed(count, sizeof(int32_t)); }

void testing_fail(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, format, arguments);
    fprintf(stderr, "\n");
    va_end(arguments);
    failures++;
}

int testing_expect(const char *label, const float *got, const double *want, const double *scale, int64_t count,
                   double tolerance) {
    cases++;
    int64_t wrong = 0, first = -1;
    for (int64_t i = 0; i < count; i++) {
        double error = fabs((double)got[i] - want[i]);
        /* Equal values agree (infinities included), and NaN agrees with NaN: outside an op's domain. */
        int agree = (double)got[i] == want[i] || (isnan(got[i]) && isnan(want[i])) ||
                    (scale[i] == 0.0 ? got[i] == 0.0f : error <= tolerance * scale[i]);
        if (!agree && wrong++ == 0) first = i;
    }
    if (wrong) {
        testing_fail("%s: %lld of %lld values differ; first at %lld: got %.9g, expected %.9g (scale %.3g)", label,
                     (long long)wrong, (long long)count, (long long)first, (double)got[first], want[first],
                     scale[first]);
        return 0;
    }
    return 1;
}

int testing_expect_status(const char *label, illume_status got, illume_status want) {
    cases++;
    if (got == want) return 1;
    testing_fail("%s: status %d, expected %d (%s)", label, (int)got, (int)want,
                 testing_context ? illume_last_error(testing_context) : "");
    return 0;
}

int testing_expect_adjoint(const char *label, const float *gradient, const float *x, int64_t x_count,
                           const float *dy, const float *y, int64_t y_count, double tolerance) {
    cases++;
    double left = 0.0, left_scale = 0.0, right = 0.0, right_scale = 0.0;
    for (int64_t i = 0; i < x_count; i++) {
        left += (double)gradient[i] * x[i];
        left_scale += fabs((double)gradient[i] * x[i]);
    }
    for (int64_t i = 0; i < y_count; i++) {
        right += (double)dy[i] * y[i];
        right_scale += fabs((double)dy[i] * y[i]);
    }
    double scale = left_scale > right_scale ? left_scale : right_scale;
    if (fabs(left - right) <= tolerance * scale) return 1;
    testing_fail("%s: <backward(dy), x> = %.9g but <dy, forward(x)> = %.9g", label, left, right);
    return 0;
}

void testing_count(void) { cases++; }

int testing_report(const char *suite) {
    printf("%s: %d checks, %d failed\n", suite, cases, failures);
    return failures ? 1 : 0;
}
