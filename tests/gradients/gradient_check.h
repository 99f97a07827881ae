/* Checks a session's backward pass against finite differences of its
 * forward pass, through the public API only: the gradient read for a random
 * seed s (the vector-Jacobian product J^T s) against central differences of
 * <s, f(x)> along every input coordinate and in random directions, and rows
 * of the Jacobian (backward passes seeded with unit vectors) against the
 * differences of f along the same directions, element by element.
 *
 * The point x is rounded to multiples of 2^-12, directions are multiples of
 * 2^-8 and steps powers of two, so that x +- h d is exact in float32: the
 * differences err only by the rounding of the forward pass (estimated from
 * the magnitude of the outputs) and, for curved functions, by the truncation
 * that Richardson extrapolation keeps at O(h^4). */
#ifndef ILLUME_TESTS_GRADIENT_CHECK_H
#define ILLUME_TESTS_GRADIENT_CHECK_H

#include "test_support.h"

enum { CHANNELS_LAST = 1, CHANNELS_FIRST = 2 };

typedef struct gradient_check {
    double step;      /* the finite-difference step, rounded to a power of two */
    int smooth;       /* curved: extrapolate differences at step and step / 2 */
    double tolerance; /* relative to the scale of each comparison */
    int output;       /* the output seeded (backward_from) */
    int layouts;      /* which of CHANNELS_LAST and CHANNELS_FIRST to run with */
    int fuse_activations, fold_batchnorm;
} gradient_check;

/* For functions linear (or bilinear) in their inputs: step 0.5, no extrapolation. */
gradient_check linear_check(void);
/* For piecewise-linear functions whose kinks lie further than step from x. */
gradient_check piecewise_check(double step);
/* For curved functions. */
gradient_check smooth_check(double step);

/* Finishes b and checks the gradients of every input of its graph at inputs
 * (one per graph input), under the session options of how. */
void expect_gradients(const char *label, builder *b, int input_count, const illume_tensor *inputs,
                      const gradient_check *how);
void check_model_gradients(const char *label, illume_context *context, const illume_model *model,
                           int input_count, const illume_tensor *inputs, const gradient_check *how);

/* One run and one backward pass under rule with the seed, on a session made
 * with options (backward set here); fills gradients (input_count tensors,
 * allocated here, released by the caller) with the gradient of each input. */
illume_status session_gradients(illume_context *context, const illume_model *model,
                                const illume_session_options *options, int input_count, const illume_tensor *inputs,
                                const illume_tensor *seed, illume_rule rule, illume_tensor *gradients);

/* Session options for a backward pass on the CPU. */
/* The device the session tests run on: the CPU, or ILLUME_TEST_DEVICE (cuda
 * for the gpu label); gradient_skip_without_device exits 77 when that is
 * CUDA and no CUDA device is visible. */
const char *gradient_device(void);
void gradient_skip_without_device(void);
illume_session_options backward_options(int fuse_activations, int channels_last);

/* Uniform values in [low, high) kept at least margin away from each kink. */
illume_tensor tensor_away_from(int rank, const int64_t *dims, float low, float high, int kink_count,
                               const double *kinks, double margin, uint64_t *seed);
/* Evenly spaced values in [low, high) in random order: no two equal, so
 * that a maximum has no tie within half the spacing. */
illume_tensor tensor_distinct(int rank, const int64_t *dims, float low, float high, uint64_t *seed);

/* Appends a 1x1 Conv of x (channels channels) whose weights permute the
 * channels: its output holds x's values exactly, in another order and, when
 * the layout pass applies, channels last, so that the op after it reads a
 * convolution's output whose kinks and ties are those of x. Returns the
 * Conv's output value. */
int add_channel_permutation(builder *b, int x, int64_t channels);

/* Whether got and want agree within tolerance x the largest |want|; reports a failure if not. */
int expect_close(const char *label, const illume_tensor *got, const illume_tensor *want, double tolerance);

#endif
