/* Models that fix their batch size (runtime/rebind_batch.c): a session of
 * another batch rebinds the constants that carry it, and gives each row
 * what the model gives it at its own batch; a model whose batch cannot be
 * rebound (folded into another axis, or met by a constant of that many
 * rows) is refused with a message that says so, and illume_model_batch
 * tells which is which. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

enum { FIXED = 4, C = 2, S = 5, K = 3 };

typedef enum shape_kind {
    FLATTEN_BY_RESHAPE,  /* Reshape to [FIXED, -1]: rebound */
    CONSTANT_OF_SHAPE,   /* Add of ConstantOfShape([FIXED, K]) to the dense output: rebound */
    BATCH_FOLDED,        /* Reshape to [FIXED * C, S * S]: cannot be */
    ROWS_OF_A_CONSTANT,  /* Add of a constant of FIXED distinct rows: cannot be */
    KINDS
} shape_kind;

static const char *const kind_names[KINDS] = {"Reshape to [batch, -1]", "ConstantOfShape of [batch, K]",
                                              "the batch folded into another axis", "a constant of batch rows"};

/* x [FIXED, C, S, S] -> Conv 3x3 -> Relu -> the kind's flatten -> Gemm (K outputs) [-> the kind's Add]. */
static illume_model *model_create(illume_context *context, shape_kind kind, uint64_t *seed) {
    builder *b = builder_create(13);
    const int64_t x_dims[4] = {FIXED, C, S, S}, w_dims[4] = {C, C, 3, 3}, pads[4] = {1, 1, 1, 1};
    int v = builder_input(b, "x", 4, x_dims);
    illume_tensor w = tensor_random(4, w_dims, -0.5f, 0.5f, seed);
    int conv = builder_node(b, "Conv", 2, (int[]){v, builder_floats(b, "w", 4, w_dims, w.data)}, 1, &v);
    builder_attribute_ints(b, conv, "pads", 4, pads);
    builder_node(b, "Relu", 1, &v, 1, &v);
    int64_t in = C * S * S;
    if (kind == BATCH_FOLDED) {
        builder_node(b, "Reshape", 2, (int[]){v, builder_int_list(b, "folded", 2, (int64_t[]){FIXED * C, S * S})}, 1,
                     &v);
        in = S * S;
    } else {
        builder_node(b, "Reshape", 2, (int[]){v, builder_int_list(b, "flat", 2, (int64_t[]){FIXED, -1})}, 1, &v);
    }
    const int64_t dense_dims[2] = {in, K}, bias_dims[1] = {K};
    illume_tensor dense = tensor_random(2, dense_dims, -0.3f, 0.3f, seed), bias = tensor_random(1, bias_dims, -0.1f, 0.1f, seed);
    builder_node(b, "Gemm", 3,
                 (int[]){v, builder_floats(b, "dense", 2, dense_dims, dense.data),
                         builder_floats(b, "bias", 1, bias_dims, bias.data)},
                 1, &v);
    if (kind == BATCH_FOLDED)
        builder_node(b, "Reshape", 2, (int[]){v, builder_int_list(b, "unfolded", 2, (int64_t[]){FIXED, C * K})}, 1,
                     &v);
    if (kind == CONSTANT_OF_SHAPE) {
        int filled, shape = builder_int_list(b, "shape", 2, (int64_t[]){FIXED, K});
        int node = builder_node(b, "ConstantOfShape", 1, &shape, 1, &filled);
        const int64_t one[1] = {1};
        builder_attribute_tensor(b, node, "value", builder_floats(b, "half", 1, one, (float[]){0.5f}));
        builder_node(b, "Add", 2, (int[]){v, filled}, 1, &v);
    }
    if (kind == ROWS_OF_A_CONSTANT) {
        const int64_t rows_dims[2] = {FIXED, K};
        illume_tensor rows = tensor_random(2, rows_dims, -1.0f, 1.0f, seed);
        builder_node(b, "Add", 2, (int[]){v, builder_floats(b, "rows", 2, rows_dims, rows.data)}, 1, &v);
        tensor_release(&rows);
    }
    builder_output(b, v);
    tensor_release(&w);
    tensor_release(&dense);
    tensor_release(&bias);
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK) test_fail("%s: %s", kind_names[kind], illume_last_error(context));
    return model;
}

/* The outputs of `rows` rows (from x's first) run FIXED at a time at the model's own batch, the last padded. */
static illume_tensor run_at_fixed(illume_context *context, const illume_model *model, const illume_tensor *x,
                                  int64_t rows) {
    int64_t per_row = tensor_count(x) / x->dims[0];
    illume_tensor all = {0};
    for (int64_t first = 0; first < rows; first += FIXED) {
        const int64_t dims[4] = {FIXED, C, S, S};
        illume_tensor part = tensor_zeros(4, dims), out[1];
        int64_t count = rows - first < FIXED ? rows - first : FIXED;
        memcpy(part.data, (const float *)x->data + first * per_row, sizeof(float) * (size_t)(count * per_row));
        if (run_model(context, model, NULL, 1, &part, 1, out, NULL) != ILLUME_OK) {
            test_fail("at the fixed batch: %s", illume_last_error(context));
            tensor_release(&part);
            return all;
        }
        int64_t out_row = tensor_count(&out[0]) / FIXED;
        if (!all.data) {
            const int64_t shape[2] = {rows, out_row};
            all = tensor_zeros(2, shape);
        }
        memcpy((float *)all.data + first * out_row, out[0].data, sizeof(float) * (size_t)(count * out_row));
        tensor_release(&part);
        tensor_release(&out[0]);
    }
    return all;
}

int main(void) {
    uint64_t seed = 11;
    illume_context *context = illume_context_create();
    for (int kind = 0; kind < KINDS; kind++) {
        illume_model *model = model_create(context, (shape_kind)kind, &seed);
        if (!model) continue;
        int rebinds = kind == FLATTEN_BY_RESHAPE || kind == CONSTANT_OF_SHAPE;
        /* (at the model's own batch every kind runs, and is compared with itself) */
        illume_batch_info info;
        count_case();
        if (illume_model_batch(context, model, NULL, &info) != ILLUME_OK || info.fixed != FIXED ||
            info.rebinds != rebinds || (!rebinds && !strstr(info.reason, "cannot be rebound")))
            test_fail("%s: illume_model_batch says fixed %lld, rebinds %d (%s); expected %d and %d", kind_names[kind],
                      (long long)info.fixed, info.rebinds, info.reason, FIXED, rebinds);
        for (int64_t rows = 1; rows <= 2 * FIXED + 1; rows += FIXED / 2 + 1) {
            const int64_t dims[4] = {rows, C, S, S};
            illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, &seed), out[1];
            illume_status status = run_model(context, model, NULL, 1, &x, 1, out, NULL);
            char label[160];
            snprintf(label, sizeof label, "%s at a batch of %lld", kind_names[kind], (long long)rows);
            count_case();
            if (!rebinds && rows != FIXED) {
                if (status == ILLUME_OK || status != ILLUME_ERROR_UNSUPPORTED ||
                    !strstr(illume_last_error(context), "cannot be rebound"))
                    test_fail("%s: not refused as a batch that cannot be rebound (%s)", label,
                              status == ILLUME_OK ? "it ran" : illume_last_error(context));
                if (status == ILLUME_OK) tensor_release(&out[0]);
            } else if (status != ILLUME_OK) {
                test_fail("%s: %s", label, illume_last_error(context));
            } else {
                illume_tensor want = run_at_fixed(context, model, &x, rows);
                int same = want.data && tensor_count(&want) == tensor_count(&out[0]);
                for (int64_t i = 0; same && i < tensor_count(&want); i++)
                    same = fabsf(((float *)want.data)[i] - ((float *)out[0].data)[i]) <= 1e-5f;
                if (!same) test_fail("%s: the rows differ from the model's at its own batch", label);
                tensor_release(&want);
                tensor_release(&out[0]);
            }
            tensor_release(&x);
        }
        illume_model_free(model);
    }
    illume_context_destroy(context);
    return test_report("ops/rebind_batch");
}
