/* Element-wise and per-axis operators: activations, broadcast arithmetic,
 * batch normalization, softmax, local response normalization and mean
 * reduction, in double precision. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

double reference_activation(const char *op, double x, double alpha, double beta) {
    if (strcmp(op, "Relu") == 0) return x > 0.0 ? x : 0.0;
    if (strcmp(op, "LeakyRelu") == 0) return x < 0.0 ? alpha * x : x;
    if (strcmp(op, "Sigmoid") == 0) return 1.0 / (1.0 + exp(-x));
    if (strcmp(op, "Tanh") == 0) return tanh(x);
    if (strcmp(op, "HardSigmoid") == 0) return fmax(0.0, fmin(1.0, alpha * x + beta));
    if (strcmp(op, "HardSwish") == 0) return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
    if (strcmp(op, "Elu") == 0) return x < 0.0 ? alpha * (exp(x) - 1.0) : x;
    if (strcmp(op, "Clip") == 0) return fmin(fmax(x, alpha), beta);
    if (strcmp(op, "Erf") == 0) return erf(x);
    if (strcmp(op, "Abs") == 0) return fabs(x);
    if (strcmp(op, "Exp") == 0) return exp(x);
    if (strcmp(op, "Log") == 0) return log(x);
    if (strcmp(op, "Neg") == 0) return -x;
    if (strcmp(op, "Reciprocal") == 0) return 1.0 / x;
    if (strcmp(op, "Sign") == 0) return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
    if (strcmp(op, "Sqrt") == 0) return sqrt(x);
    return NAN;
}

illume_tensor reference_unary(const illume_tensor *x, const char *op, double alpha, double beta) {
    illume_tensor y = reference_tensor(x->rank, x->dims);
    int64_t count = 1;
    for (int d = 0; d < x->rank; d++) count *= x->dims[d];
    for (int64_t i = 0; i < count; i++)
        ((float *)y.data)[i] = (float)reference_activation(op, ((const float *)x->data)[i], alpha, beta);
    return y;
}

/* The element of t that broadcasts to coordinates `at` of a rank-`rank` result. */
static double broadcast_read(const illume_tensor *t, int rank, const int64_t *at) {
    int64_t own[ILLUME_MAX_RANK];
    for (int d = 0; d < t->rank; d++) {
        int64_t coordinate = at[rank - t->rank + d];
        own[d] = t->dims[d] == 1 ? 0 : coordinate;
    }
    return ((const float *)t->data)[reference_offset(t->rank, t->dims, own)];
}

illume_tensor reference_binary(const char *op, const illume_tensor *a, const illume_tensor *b) {
    int rank = a->rank > b->rank ? a->rank : b->rank;
    int64_t dims[ILLUME_MAX_RANK] = {0};
    for (int d = 0; d < rank; d++) {
        int ka = d - (rank - a->rank), kb = d - (rank - b->rank);
        int64_t da = ka < 0 ? 1 : a->dims[ka], db = kb < 0 ? 1 : b->dims[kb];
        dims[d] = da == 1 ? db : da;
    }
    illume_tensor y = reference_tensor(rank, dims);
    int64_t count = 1;
    for (int d = 0; d < rank; d++) count *= dims[d];
    for (int64_t i = 0; i < count; i++) {
        int64_t at[ILLUME_MAX_RANK];
        reference_coordinates(rank, dims, i, at);
        double left = broadcast_read(a, rank, at), right = broadcast_read(b, rank, at), value;
        if (strcmp(op, "Add") == 0) value = left + right;
        else if (strcmp(op, "Sub") == 0) value = left - right;
        else if (strcmp(op, "Mul") == 0) value = left * right;
        else if (strcmp(op, "Div") == 0) value = left / right;
        else if (strcmp(op, "Pow") == 0) value = pow(left, right);
        else if (strcmp(op, "Max") == 0) value = left > right ? left : right;
        else if (strcmp(op, "Min") == 0) value = left < right ? left : right;
        else value = left < 0.0 ? right * left : left; /* PRelu: right is the slope */
        ((float *)y.data)[i] = (float)value;
    }
    return y;
}

illume_tensor reference_batchnorm(const illume_tensor *x, const illume_tensor *scale, const illume_tensor *bias,
                                  const illume_tensor *mean, const illume_tensor *variance, float epsilon) {
    illume_tensor y = reference_tensor(x->rank, x->dims);
    int64_t count = 1, spatial = 1;
    for (int d = 0; d < x->rank; d++) count *= x->dims[d];
    for (int d = 2; d < x->rank; d++) spatial *= x->dims[d];
    for (int64_t i = 0; i < count; i++) {
        int64_t c = (i / spatial) % x->dims[1];
        double normalized = (((const float *)x->data)[i] - (double)((const float *)mean->data)[c]) /
                            sqrt((double)((const float *)variance->data)[c] + (double)epsilon);
        ((float *)y.data)[i] =
            (float)(normalized * ((const float *)scale->data)[c] + ((const float *)bias->data)[c]);
    }
    return y;
}

illume_tensor reference_softmax(const illume_tensor *x, int64_t axis, int opset, int log_softmax) {
    illume_tensor y = reference_tensor(x->rank, x->dims);
    if (axis < 0) axis += x->rank;
    /* Opset 13 normalizes along one axis; earlier opsets coerce the input to
     * 2-D at axis and normalize each row of the flattened trailing part. */
    int64_t outer = 1, length = 1, inner = 1;
    for (int d = 0; d < x->rank; d++) {
        if (d < axis) outer *= x->dims[d];
        else if (d == axis || opset < 13) length *= x->dims[d];
        else inner *= x->dims[d];
    }
    const float *xs = x->data;
    float *ys = y.data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double largest = -INFINITY, sum = 0.0;
            for (int64_t k = 0; k < length; k++) largest = fmax(largest, xs[(o * length + k) * inner + i]);
            for (int64_t k = 0; k < length; k++) sum += exp(xs[(o * length + k) * inner + i] - largest);
            for (int64_t k = 0; k < length; k++) {
                double shifted = xs[(o * length + k) * inner + i] - largest;
                ys[(o * length + k) * inner + i] = (float)(log_softmax ? shifted - log(sum) : exp(shifted) / sum);
            }
        }
    return y;
}

/* The square sum of channel c runs over the channels from
 * max(0, c - floor((size - 1) / 2)) to min(C - 1, c + ceil((size - 1) / 2)). */
illume_tensor reference_lrn(const illume_tensor *x, int64_t size, double alpha, double beta, double bias) {
    illume_tensor y = reference_tensor(x->rank, x->dims);
    int64_t batch = x->dims[0], channels = x->dims[1], spatial = 1;
    for (int d = 2; d < x->rank; d++) spatial *= x->dims[d];
    const float *xs = x->data;
    float *ys = y.data;
    int64_t before = (int64_t)floor((double)(size - 1) / 2.0), after = (int64_t)ceil((double)(size - 1) / 2.0);
    for (int64_t n = 0; n < batch; n++)
        for (int64_t c = 0; c < channels; c++)
            for (int64_t p = 0; p < spatial; p++) {
                double square_sum = 0.0;
                for (int64_t k = c - before > 0 ? c - before : 0; k <= c + after && k < channels; k++) {
                    double value = xs[(n * channels + k) * spatial + p];
                    square_sum += value * value;
                }
                int64_t at = (n * channels + c) * spatial + p;
                ys[at] = (float)(xs[at] / pow(bias + alpha / (double)size * square_sum, beta));
            }
    return y;
}

/* The sums over the reduced axes, or their means. */
static illume_tensor reduce(const illume_tensor *x, int count, const int64_t *axes, int keepdims,
                            int noop_with_empty_axes, int mean) {
    int reduced[ILLUME_MAX_RANK] = {0};
    for (int d = 0; d < x->rank; d++) reduced[d] = count == 0 && !noop_with_empty_axes;
    for (int i = 0; i < count; i++) reduced[axes[i] < 0 ? axes[i] + x->rank : axes[i]] = 1;
    int64_t kept_dims[ILLUME_MAX_RANK], y_dims[ILLUME_MAX_RANK];
    int y_rank = 0;
    for (int d = 0; d < x->rank; d++) {
        kept_dims[d] = reduced[d] ? 1 : x->dims[d];
        if (!reduced[d] || keepdims) y_dims[y_rank++] = kept_dims[d];
    }
    illume_tensor y = reference_tensor(y_rank, y_dims);
    int64_t x_count = 1, y_count = 1;
    for (int d = 0; d < x->rank; d++) {
        x_count *= x->dims[d];
        y_count *= kept_dims[d];
    }
    /* Sum every input element into its kept-dims position, then divide. */
    double *sums = calloc((size_t)(y_count ? y_count : 1), sizeof(double));
    for (int64_t i = 0; sums && i < x_count; i++) {
        int64_t at[ILLUME_MAX_RANK];
        reference_coordinates(x->rank, x->dims, i, at);
        for (int d = 0; d < x->rank; d++)
            if (reduced[d]) at[d] = 0;
        sums[reference_offset(x->rank, kept_dims, at)] += ((const float *)x->data)[i];
    }
    int64_t group = y_count ? x_count / y_count : 0;
    for (int64_t i = 0; sums && i < y_count; i++) ((float *)y.data)[i] = (float)(mean ? sums[i] / (double)group : sums[i]);
    free(sums);
    return y;
}

illume_tensor reference_reduce_mean(const illume_tensor *x, int count, const int64_t *axes, int keepdims,
                                    int noop_with_empty_axes) {
    return reduce(x, count, axes, keepdims, noop_with_empty_axes, 1);
}

illume_tensor reference_reduce_sum(const illume_tensor *x, int count, const int64_t *axes, int keepdims,
                                   int noop_with_empty_axes) {
    return reduce(x, count, axes, keepdims, noop_with_empty_axes, 0);
}
