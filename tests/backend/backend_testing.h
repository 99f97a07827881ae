/* Shared by the backend tests: the CPU backend, random data, comparisons
 * with double-precision references, adjoint checks and failure counts. */
#ifndef ILLUME_TESTS_BACKEND_TESTING_H
#define ILLUME_TESTS_BACKEND_TESTING_H

#include <stdint.h>

#include "backend.h"

/* The CPU backend through cpu_backend_create, or NULL (reported) when it
 * cannot start. */
backend *testing_backend_open(void);
void testing_backend_close(backend *self);

/* Uniform in [low, high). */
float testing_uniform(uint64_t *seed, float low, float high);
void testing_random(uint64_t *seed, float *data, int64_t count, float low, float high);
/* Small integers 0 .. levels - 1, so that maxima tie. */
void testing_random_levels(uint64_t *seed, float *data, int64_t count, int levels);

/* Zeroed allocations of count elements (at least one); the test exits when memory runs out. */
float *testing_floats(int64_t count);
double *testing_doubles(int64_t count);
int32_t *testing_ints(int64_t count);

/* Records a failure with a message naming the case. */
void testing_fail(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* got against a reference: |got - want| <= tolerance * scale (scale: the sum
 * of the magnitudes of the terms that make want); where scale is 0, got must
 * be exactly 0. Returns 1 when they agree. */
int testing_expect(const char *label, const float *got, const double *want, const double *scale, int64_t count,
                   double tolerance);

/* The status a call returned against the one expected. */
int testing_expect_status(const char *label, illume_status got, illume_status want);

/* <gradient, x> against <dy, y> for a linear map y = f(x) and its adjoint
 * gradient = f*(dy), within tolerance of the sums of magnitudes. */
int testing_expect_adjoint(const char *label, const float *gradient, const float *x, int64_t x_count,
                           const float *dy, const float *y, int64_t y_count, double tolerance);

/* Counts a check made outside the functions above. */
void testing_count(void);

/* Prints the summary; the process exit status. */
int testing_report(const char *suite);

#endif
