/* Checks shared by the op tests: run a built graph, compare its outputs
 * with a reference, count failures and report them by case label. */
#ifndef ILLUME_TESTS_TEST_SUPPORT_H
#define ILLUME_TESTS_TEST_SUPPORT_H

#include "graph_builder.h"
#include "reference.h"

/* Records a failed check with a message naming the case. */
void test_fail(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Shape and values: |got - want| <= tolerance * (1 + |want|), NaN matching
 * NaN. Returns 1 when they agree. */
int check_tensor(const char *label, const illume_tensor *got, const illume_tensor *want, double tolerance);
/* An int64 output against expected values. */
int check_ints(const char *label, const illume_tensor *got, int rank, const int64_t *dims, const int64_t *want);

/* Finishes b, runs it once on the CPU with default options and checks every
 * output against want (taken over and released). */
void expect_run(const char *label, builder *b, int input_count, const illume_tensor *inputs, int output_count,
                illume_tensor *want, double tolerance);
/* As expect_run, with session options, and returns the run's statistics.
 * Returns 1 when the session ran (whether or not the values agreed). */
int expect_run_with(const char *label, builder *b, const illume_session_options *options, int input_count,
                     const illume_tensor *inputs, int output_count, illume_tensor *want, double tolerance,
                     illume_session_stats *stats);
/* Finishes b and expects the model or its session to be refused with
 * status and a message that contains `mentions`. */
void expect_refusal(const char *label, builder *b, int input_count, const illume_tensor *inputs,
                    illume_status status, const char *mentions);

/* Finishes b and runs it twice, with the channels-last layout pass on and
 * off (the other options default), checking both runs against want (taken
 * over and released). */
void expect_run_layouts(const char *label, builder *b, int input_count, const illume_tensor *inputs,
                        int output_count, illume_tensor *want, double tolerance);

/* Appends a Conv of x (kernel 3x3, pads 1, stride 1, bias) to `features`
 * channels with random constant weights, so that the op after it reads a
 * convolution's output (channels last when the layout pass applies). Returns
 * the Conv's output value and sets *produced to its reference output for the
 * input data x_data. */
int add_conv(builder *b, int x, const illume_tensor *x_data, int64_t features, uint64_t *seed,
             illume_tensor *produced);

/* Counts a check made outside expect_run and its kin. */
void count_case(void);

/* Prints the summary; the process exit status. */
int test_report(const char *suite);

#endif
