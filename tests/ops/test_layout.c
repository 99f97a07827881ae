/* The data-movement and shape ops: Concat, Split, Slice, Transpose,
 * Flatten, Reshape, Squeeze, Unsqueeze, Shape, Gather, Cast, Identity,
 * Dropout and ConstantOfShape, each on data given at run time and on
 * constant data (folded when the session is made), over the attribute and
 * input forms of their opsets; and after a Conv, whose output the layout
 * pass keeps channels last. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "op_cases.h"
#include "reference.h"
#include "test_support.h"

/* The data operand: a graph input (added to inputs) or a constant. */
static int data_value(builder *b, const char *name, const illume_tensor *x, int constant, illume_tensor *inputs,
                      int *input_count) {
    if (constant) return builder_floats(b, name, x->rank, x->dims, x->data);
    inputs[(*input_count)++] = *x;
    return builder_input(b, name, x->rank, x->dims);
}

/* Runs b, expecting its outputs; with constant data every node must have folded away. */
static void expect_layout(const char *label, builder *b, int input_count, const illume_tensor *inputs,
                          int output_count, illume_tensor *want, int constant) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", label, constant ? " (folded)" : "");
    illume_session_stats stats = {0};
    if (expect_run_with(full, b, NULL, input_count, inputs, output_count, want, 0.0, &stats) && constant &&
        stats.node_count != 0)
        test_fail("%s: %d nodes left, expected everything folded", full, stats.node_count);
}

static illume_tensor copy_of(const illume_tensor *x, int rank, const int64_t *dims) {
    illume_tensor y = reference_tensor(rank, dims);
    memcpy(y.data, x->data, sizeof(float) * (size_t)tensor_count(x));
    return y;
}

static void concat(uint64_t *seed) {
    const int64_t shapes[3][4] = {{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}};
    const int64_t extents[3] = {2, 1, 4};
    for (int axis = -4; axis < 4; axis++)
        for (int constant = 0; constant <= 1; constant++) {
            illume_tensor parts[3], inputs[3];
            int count = 0, node_inputs[3];
            builder *b = builder_create(13);
            for (int i = 0; i < 3; i++) {
                int64_t dims[4];
                memcpy(dims, shapes[i], sizeof dims);
                dims[axis < 0 ? axis + 4 : axis] = extents[i];
                parts[i] = tensor_random(4, dims, -1.0f, 1.0f, seed);
                char name[8];
                snprintf(name, sizeof name, "x%d", i);
                /* With constant data only the middle operand is a constant, to mix both kinds. */
                node_inputs[i] = data_value(b, name, &parts[i], constant ? 1 : i == 1, inputs, &count);
            }
            illume_tensor want = reference_concat(3, parts, axis);
            int y, node = builder_node(b, "Concat", 3, node_inputs, 1, &y);
            builder_attribute_int(b, node, "axis", axis);
            builder_output(b, y);
            char label[64];
            snprintf(label, sizeof label, "Concat axis %d of 3", axis);
            expect_layout(label, b, count, inputs, 1, &want, constant);
            for (int i = 0; i < 3; i++) tensor_release(&parts[i]);
        }
    /* An empty operand, a single operand, and the opset 1 default axis of 1. */
    const int64_t a_dims[3] = {2, 0, 3}, b_dims[3] = {2, 4, 3};
    illume_tensor parts[2] = {tensor_random(3, a_dims, -1.0f, 1.0f, seed), tensor_random(3, b_dims, -1.0f, 1.0f, seed)};
    for (int variant = 0; variant < 3; variant++) {
        builder *b = builder_create(variant == 2 ? 1 : 13);
        illume_tensor inputs[2];
        int count = 0, node_inputs[2];
        node_inputs[0] = data_value(b, "a", &parts[0], 0, inputs, &count);
        node_inputs[1] = data_value(b, "b", &parts[1], 0, inputs, &count);
        int y, node = builder_node(b, "Concat", variant == 1 ? 1 : 2, variant == 1 ? node_inputs + 1 : node_inputs, 1,
                                   &y);
        if (variant < 2) builder_attribute_int(b, node, "axis", 1);
        builder_output(b, y);
        illume_tensor want = variant == 1 ? copy_of(&parts[1], 3, b_dims) : reference_concat(2, parts, 1);
        const char *labels[3] = {"Concat with an empty operand", "Concat of one operand",
                                 "Concat opset 1 default axis"};
        expect_layout(labels[variant], b, count, inputs, 1, &want, 0);
    }
    tensor_release(&parts[0]);
    tensor_release(&parts[1]);
}

/* A shared case's model through expect_layout; releases the model. */
static void expect_model(op_model *model, int output_count, illume_tensor *want, int constant) {
    expect_layout(model->label, model->graph, model->input_count, model->inputs, output_count, want, constant);
    op_model_release(model);
}

/* Each case runs with its data a graph input, then a constant. */
static void run_split(const split_case *c, uint64_t *seed) {
    for (int constant = 0; constant <= 1; constant++) {
        op_model model = split_model(c, constant, seed);
        illume_tensor want[4];
        reference_split(&model.operands[0], c->axis, c->count, c->sizes, want);
        expect_model(&model, c->count, want, constant);
    }
}

static void split(uint64_t *seed) {
    for (size_t i = 0; i < shared_split_case_count; i++) run_split(&shared_split_cases[i], seed);
    const split_case cases[] = {
        {SPLIT_NUM_OUTPUTS, 1, {8}, 0, 3, {3, 3, 2}},
        {SPLIT_EVEN, 3, {3, 11, 4}, 0, 3, {1, 1, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_split(&cases[i], seed);
}

static void run_slice(const slice_case *c, uint64_t *seed) {
    for (int constant = 0; constant <= 1; constant++) {
        op_model model = slice_model(c, constant, seed);
        illume_tensor want = reference_slice(&model.operands[0], c->count, c->starts, c->ends,
                                             c->has_axes ? c->axes : NULL, c->has_steps ? c->steps : NULL);
        expect_model(&model, 1, &want, constant);
    }
}

static void slice(uint64_t *seed) {
    for (size_t i = 0; i < shared_slice_case_count; i++) run_slice(&shared_slice_cases[i], seed);
    const slice_case cases[] = {
        {"INT64_MAX end", 1, {2}, {INT64_MAX}, {3}, {1}, 1, 1},
        {"empty result, negative step", 1, {1}, {3}, {0}, {-1}, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_slice(&cases[i], seed);
    /* Opset 9: starts, ends and axes are attributes. */
    const int64_t dims[4] = {5, 7, 3, 6};
    illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed);
    const int64_t starts[2] = {1, -3}, ends[2] = {1000, -1}, axes[2] = {3, 0};
    illume_tensor want = reference_slice(&x, 2, starts, ends, axes, NULL);
    builder *b = builder_create(9);
    int y, input = builder_input(b, "x", 4, dims);
    int node = builder_node(b, "Slice", 1, &input, 1, &y);
    builder_attribute_ints(b, node, "starts", 2, starts);
    builder_attribute_ints(b, node, "ends", 2, ends);
    builder_attribute_ints(b, node, "axes", 2, axes);
    builder_output(b, y);
    expect_layout("Slice opset 9 attributes", b, 1, &x, 1, &want, 0);
    tensor_release(&x);
}

static void run_transpose(const transpose_case *c, uint64_t *seed) {
    for (int constant = 0; constant <= 1; constant++) {
        op_model model = transpose_model(c, constant, seed);
        illume_tensor want = reference_transpose(&model.operands[0], c->has_perm ? c->perm : NULL);
        expect_model(&model, 1, &want, constant);
    }
}

static void transpose(uint64_t *seed) {
    for (size_t i = 0; i < shared_transpose_case_count; i++) run_transpose(&shared_transpose_cases[i], seed);
    const transpose_case cases[] = {
        {4, {2, 3, 5, 7}, 0, {0}},
        {4, {2, 3, 5, 7}, 1, {0, 2, 3, 1}},
        {4, {2, 3, 5, 7}, 1, {3, 1, 0, 2}},
        {3, {1, 5, 1}, 0, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_transpose(&cases[i], seed);
}

/* A one-node graph whose output is its input under a new shape. */
static void run_view(const char *label, const char *op, int opset, const illume_tensor *x, int extra_count,
                     const int *extra_kind, const int64_t *const *extra_values, const int *extra_lengths,
                     const char *attribute, int attribute_count, const int64_t *attribute_values, int y_rank,
                     const int64_t *y_dims, int constant) {
    builder *b = builder_create(opset);
    illume_tensor inputs[1];
    int count = 0, node_inputs[4] = {data_value(b, "x", x, constant, inputs, &count)};
    for (int i = 0; i < extra_count; i++)
        node_inputs[1 + i] = extra_kind[i] ? builder_int_list(b, "list", extra_lengths[i], extra_values[i]) : -1;
    int y, node = builder_node(b, op, 1 + extra_count, node_inputs, 1, &y);
    if (attribute) {
        if (attribute_count < 0) builder_attribute_int(b, node, attribute, attribute_values[0]);
        else builder_attribute_ints(b, node, attribute, attribute_count, attribute_values);
    }
    builder_output(b, y);
    illume_tensor want = copy_of(x, y_rank, y_dims);
    expect_layout(label, b, count, inputs, 1, &want, constant);
}

static void views(uint64_t *seed) {
    const int64_t dims[4] = {2, 3, 1, 5}, empty_dims[3] = {2, 0, 3};
    illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed);
    illume_tensor empty = tensor_random(3, empty_dims, -1.0f, 1.0f, seed);
    for (int constant = 0; constant <= 1; constant++) {
        /* Flatten at every axis, negative included, and by default at 1. */
        const int64_t axes[6] = {0, 1, 2, 4, -1, -3};
        const int64_t flattened[6][2] = {{1, 30}, {2, 15}, {6, 5}, {30, 1}, {6, 5}, {2, 15}};
        for (int i = 0; i < 6; i++) {
            char label[64];
            snprintf(label, sizeof label, "Flatten axis %lld", (long long)axes[i]);
            run_view(label, "Flatten", 13, &x, 0, NULL, NULL, NULL, "axis", -1, &axes[i], 2, flattened[i], constant);
        }
        run_view("Flatten default axis", "Flatten", 13, &x, 0, NULL, NULL, NULL, NULL, 0, NULL, 2, flattened[1],
                 constant);
        /* Reshape: 0 copies a dimension, -1 takes the rest, allowzero keeps a literal 0, [] makes a scalar. */
        const struct {
            const char *name;
            int length;
            int64_t shape[4];
            int y_rank;
            int64_t y_dims[4];
        } reshapes[] = {{"Reshape to 2-D", 2, {6, 5}, 2, {6, 5}},
                        {"Reshape with 0 and -1", 3, {0, -1, 5}, 3, {2, 3, 5}},
                        {"Reshape with -1 first", 2, {-1, 10}, 2, {3, 10}},
                        {"Reshape keeping the size-1 dim by 0", 4, {0, 0, 0, -1}, 4, {2, 3, 1, 5}},
                        {"Reshape to 1-D", 1, {-1}, 1, {30}}};
        const int kinds[1] = {1};
        for (size_t i = 0; i < sizeof reshapes / sizeof reshapes[0]; i++) {
            const int64_t *values[1] = {reshapes[i].shape};
            run_view(reshapes[i].name, "Reshape", 14, &x, 1, kinds, values, &reshapes[i].length, NULL, 0, NULL,
                     reshapes[i].y_rank, reshapes[i].y_dims, constant);
        }
        const int64_t zero_shape[2] = {3, 0}, zero_dims[2] = {3, 0}, one_element[3] = {1, 1, 1};
        const int64_t *zero_values[1] = {zero_shape};
        const int64_t allowzero = 1;
        run_view("Reshape allowzero to [3, 0]", "Reshape", 14, &empty, 1, kinds, zero_values, (int[]){2}, "allowzero",
                 -1, &allowzero, 2, zero_dims, constant);
        illume_tensor single = tensor_random(3, one_element, -1.0f, 1.0f, seed);
        const int64_t *no_values[1] = {NULL};
        run_view("Reshape to a scalar", "Reshape", 14, &single, 1, kinds, no_values, (int[]){0}, NULL, 0, NULL, 0,
                 NULL, constant);
        /* Squeeze and Unsqueeze, axes as an attribute (opset 11) and an input (opset 13). */
        const int64_t squeeze_axes[1] = {2}, negative_axes[1] = {-2}, squeezed[3] = {2, 3, 5};
        const int64_t *squeeze_values[1] = {squeeze_axes};
        run_view("Squeeze axes attribute", "Squeeze", 11, &x, 0, NULL, NULL, NULL, "axes", 1, negative_axes, 3,
                 squeezed, constant);
        run_view("Squeeze axes input", "Squeeze", 13, &x, 1, kinds, squeeze_values, (int[]){1}, NULL, 0, NULL, 3,
                 squeezed, constant);
        run_view("Squeeze every size-1 dim", "Squeeze", 13, &single, 0, NULL, NULL, NULL, NULL, 0, NULL, 0, NULL,
                 constant);
        const int64_t unsqueeze_axes[3] = {6, 0, -3}, expanded[7] = {1, 2, 3, 1, 1, 5, 1};
        const int64_t *unsqueeze_values[1] = {unsqueeze_axes};
        run_view("Unsqueeze axes attribute", "Unsqueeze", 11, &x, 0, NULL, NULL, NULL, "axes", 3, unsqueeze_axes, 7,
                 expanded, constant);
        run_view("Unsqueeze axes input", "Unsqueeze", 13, &x, 1, kinds, unsqueeze_values, (int[]){3}, NULL, 0, NULL,
                 7, expanded, constant);
        const int64_t scalar_axes[1] = {0}, scalar_dims[1] = {1};
        illume_tensor scalar = tensor_random(0, NULL, -1.0f, 1.0f, seed);
        run_view("Unsqueeze a scalar", "Unsqueeze", 11, &scalar, 0, NULL, NULL, NULL, "axes", 1, scalar_axes, 1,
                 scalar_dims, constant);
        /* Identity and Dropout (inference: the identity), Cast within float. */
        run_view("Identity", "Identity", 13, &x, 0, NULL, NULL, NULL, NULL, 0, NULL, 4, dims, constant);
        run_view("Dropout opset 7", "Dropout", 7, &x, 0, NULL, NULL, NULL, NULL, 0, NULL, 4, dims, constant);
        const int64_t float_type = 1, double_type = 11;
        run_view("Cast to float", "Cast", 13, &x, 0, NULL, NULL, NULL, "to", -1, &float_type, 4, dims, constant);
        run_view("Cast to double (computed as float)", "Cast", 13, &x, 0, NULL, NULL, NULL, "to", -1, &double_type,
                 4, dims, constant);
        tensor_release(&single);
        tensor_release(&scalar);
    }
    tensor_release(&x);
    tensor_release(&empty);
}

static void dropout_forms(uint64_t *seed) {
    const int64_t dims[3] = {3, 1, 7};
    illume_tensor x = tensor_random(3, dims, -1.0f, 1.0f, seed);
    /* Opset 10: ratio attribute; opset 12: ratio and training_mode (false) inputs. */
    builder *b = builder_create(10);
    int y, input = builder_input(b, "x", 3, dims);
    int node = builder_node(b, "Dropout", 1, &input, 1, &y);
    builder_attribute_float(b, node, "ratio", 0.3f);
    builder_output(b, y);
    illume_tensor want = copy_of(&x, 3, dims);
    expect_layout("Dropout ratio attribute", b, 1, &x, 1, &want, 0);
    b = builder_create(13);
    int64_t no = 0;
    int inputs[3] = {builder_input(b, "x", 3, dims), builder_scalar(b, "ratio", 0.5f),
                     builder_ints(b, "training", 0, NULL, &no)};
    builder_node(b, "Dropout", 3, inputs, 1, &y);
    builder_output(b, y);
    want = copy_of(&x, 3, dims);
    expect_layout("Dropout ratio and training_mode inputs", b, 1, &x, 1, &want, 0);
    /* Training mode is refused. */
    b = builder_create(13);
    int64_t yes = 1;
    int training_inputs[3] = {builder_input(b, "x", 3, dims), -1, builder_ints(b, "training", 0, NULL, &yes)};
    builder_node(b, "Dropout", 3, training_inputs, 1, &y);
    builder_output(b, y);
    expect_refusal("Dropout in training mode", b, 1, &x, ILLUME_ERROR_UNSUPPORTED, "training_mode");
    /* The mask output, read as a graph output: all true (bool, held as int64) in inference. */
    b = builder_create(13);
    int outputs[2];
    input = builder_input(b, "x", 3, dims);
    builder_node(b, "Dropout", 1, &input, 2, outputs);
    builder_output(b, outputs[0]);
    builder_output(b, outputs[1]);
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_tensor got[2] = {{0}, {0}};
    count_case();
    illume_status status = builder_finish(b, context, &model);
    if (status == ILLUME_OK) status = run_model(context, model, NULL, 1, &x, 2, got, NULL);
    if (status != ILLUME_OK) {
        test_fail("Dropout with the mask output: %s", illume_last_error(context));
    } else {
        int same = got[0].dtype == ILLUME_FLOAT32 && !memcmp(got[0].data, x.data, illume_tensor_bytes(&x));
        int all_true = got[1].dtype == ILLUME_INT64 && got[1].rank == 3 && tensor_count(&got[1]) == tensor_count(&x);
        for (int64_t i = 0; all_true && i < tensor_count(&got[1]); i++) all_true = ((int64_t *)got[1].data)[i] == 1;
        if (!same || !all_true)
            test_fail("Dropout with the mask output: the output %s the input, the mask %s all true",
                      same ? "is" : "is not", all_true ? "is" : "is not");
    }
    tensor_release(&got[0]);
    tensor_release(&got[1]);
    illume_model_free(model);
    illume_context_destroy(context);
    tensor_release(&x);
}

static void shape(uint64_t *seed) {
    const int64_t dims[4] = {2, 3, 1, 5};
    illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, seed);
    const struct {
        const char *name;
        int set_start, set_end;
        int64_t start, end;
        int length;
        int64_t values[4];
    } cases[] = {{"Shape", 0, 0, 0, 0, 4, {2, 3, 1, 5}},          {"Shape start 1", 1, 0, 1, 0, 3, {3, 1, 5}},
                 {"Shape end -1", 0, 1, 0, -1, 3, {2, 3, 1}},      {"Shape start -2 end 3", 1, 1, -2, 3, 1, {1}},
                 {"Shape clamped", 1, 1, -100, 100, 4, {2, 3, 1, 5}}, {"Shape empty range", 1, 1, 3, 1, 0, {0}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        builder *b = builder_create(15);
        int y, input = builder_input(b, "x", 4, dims);
        int node = builder_node(b, "Shape", 1, &input, 1, &y);
        if (cases[i].set_start) builder_attribute_int(b, node, "start", cases[i].start);
        if (cases[i].set_end) builder_attribute_int(b, node, "end", cases[i].end);
        builder_output(b, y);
        illume_context *context = illume_context_create();
        illume_model *model;
        illume_tensor got;
        illume_status status = builder_finish(b, context, &model);
        if (status == ILLUME_OK) status = run_model(context, model, NULL, 1, &x, 1, &got, NULL);
        if (status != ILLUME_OK) {
            test_fail("%s: %s", cases[i].name, illume_last_error(context));
        } else {
            int64_t length = cases[i].length;
            check_ints(cases[i].name, &got, 1, &length, cases[i].values);
            tensor_release(&got);
        }
        illume_model_free(model);
        illume_context_destroy(context);
    }
    tensor_release(&x);
}

static void run_gather(const gather_case *c, uint64_t *seed) {
    for (int constant = 0; constant <= 1; constant++) {
        op_model model = gather_model(c, constant, ATTRIBUTES_CHANGED, seed);
        illume_tensor want = reference_gather(&model.operands[0], c->index_rank, c->index_dims, c->indices, c->axis);
        expect_model(&model, 1, &want, constant);
    }
}

static void gather(uint64_t *seed) {
    for (size_t i = 0; i < shared_gather_case_count; i++) run_gather(&shared_gather_cases[i], seed);
    /* A scalar index on the last axis, and no indices. */
    const gather_case cases[] = {{2, 0, {0}, {1}}, {0, 1, {0}, {0}}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_gather(&cases[i], seed);
    /* Indices out of range are refused by name. */
    const int64_t dims[3] = {5, 4, 3};
    builder *b = builder_create(13);
    int64_t index = 5, index_dims[1] = {1};
    int node_inputs[2] = {builder_input(b, "x", 3, dims), builder_ints(b, "indices", 1, index_dims, &index)};
    int y;
    builder_node(b, "Gather", 2, node_inputs, 1, &y);
    builder_output(b, y);
    illume_tensor shape = {ILLUME_FLOAT32, 3, {5, 4, 3}, NULL};
    expect_refusal("Gather index out of range", b, 1, &shape, ILLUME_ERROR_INVALID_MODEL, "out of range");
}

static void casts(void) {
    /* Across float and int64 only constants convert (and fold). */
    const int64_t dims[1] = {5};
    const int64_t integers[5] = {-3, 0, 7, 1 << 20, -1};
    const float floats[5] = {-2.75f, 0.0f, 3.5f, 1e10f, -0.5f};
    const float as_float[5] = {-3.0f, 0.0f, 7.0f, 1048576.0f, -1.0f};
    const int64_t truncated[5] = {-2, 0, 3, 10000000000LL, 0}, as_bool[5] = {1, 0, 1, 1, 1};
    for (int variant = 0; variant < 3; variant++) {
        builder *b = builder_create(13);
        int input = variant == 0 ? builder_ints(b, "x", 1, dims, integers) : builder_floats(b, "x", 1, dims, floats);
        int y, node = builder_node(b, "Cast", 1, &input, 1, &y);
        builder_attribute_int(b, node, "to", variant == 0 ? 1 : variant == 1 ? 7 : 9);
        builder_output(b, y);
        illume_context *context = illume_context_create();
        illume_model *model;
        illume_tensor got;
        const char *labels[3] = {"Cast int64 constant to float", "Cast float constant to int64",
                                 "Cast float constant to bool"};
        illume_status status = builder_finish(b, context, &model);
        if (status == ILLUME_OK) status = run_model(context, model, NULL, 0, NULL, 1, &got, NULL);
        if (status != ILLUME_OK) {
            test_fail("%s: %s", labels[variant], illume_last_error(context));
        } else {
            if (variant == 0) {
                illume_tensor want = reference_tensor(1, dims);
                memcpy(want.data, as_float, sizeof as_float);
                check_tensor(labels[variant], &got, &want, 0.0);
                tensor_release(&want);
            } else {
                check_ints(labels[variant], &got, 1, dims, variant == 1 ? truncated : as_bool);
            }
            tensor_release(&got);
        }
        illume_model_free(model);
        illume_context_destroy(context);
    }
    builder *b = builder_create(13);
    int y, input = builder_input(b, "x", 1, dims);
    int node = builder_node(b, "Cast", 1, &input, 1, &y);
    builder_attribute_int(b, node, "to", 7);
    builder_output(b, y);
    illume_tensor shape = {ILLUME_FLOAT32, 1, {5}, NULL};
    expect_refusal("Cast of run-time floats to int64", b, 1, &shape, ILLUME_ERROR_UNSUPPORTED,
                   "only supported on constants");
}

/* ConstantOfShape of a Shape: folded when the session is made, filled with
 * its value attribute (float zeros by default, int64 too), and used at run
 * time by an Add. */
static void constant_of_shape(uint64_t *seed) {
    const int64_t dims[3] = {2, 1, 3};
    illume_tensor x = tensor_random(3, dims, -1.0f, 1.0f, seed);
    for (int variant = 0; variant < 4; variant++) {
        builder *b = builder_create(13);
        int input = builder_input(b, "x", 3, dims), shape, y;
        builder_node(b, "Shape", 1, &input, 1, &shape);
        if (variant == 3) {
            /* An empty shape makes a scalar. */
            const int64_t ends[1] = {0}, starts[1] = {0};
            int slice_inputs[3] = {shape, builder_int_list(b, "starts", 1, starts),
                                   builder_int_list(b, "ends", 1, ends)};
            builder_node(b, "Slice", 3, slice_inputs, 1, &shape);
        }
        int node = builder_node(b, "ConstantOfShape", 1, &shape, 1, &y);
        int64_t one[1] = {1}, integer = -7;
        float fill = 1.5f;
        if (variant == 0 || variant == 3)
            builder_attribute_tensor(b, node, "value", builder_floats(b, "fill", 1, one, &fill));
        if (variant == 2) builder_attribute_tensor(b, node, "value", builder_ints(b, "fill", 1, one, &integer));
        if (variant == 0) {
            int add_inputs[2] = {input, y};
            builder_node(b, "Add", 2, add_inputs, 1, &y);
        }
        builder_output(b, y);
        const char *labels[4] = {"Add of ConstantOfShape(Shape(x), 1.5) and x", "ConstantOfShape default value",
                                 "ConstantOfShape int64 value", "ConstantOfShape of an empty shape"};
        if (variant == 2) {
            illume_context *context = illume_context_create();
            illume_model *model;
            illume_tensor got;
            illume_status status = builder_finish(b, context, &model);
            if (status == ILLUME_OK) status = run_model(context, model, NULL, 1, &x, 1, &got, NULL);
            count_case();
            if (status != ILLUME_OK) {
                test_fail("%s: %s", labels[variant], illume_last_error(context));
            } else {
                const int64_t sevens[6] = {-7, -7, -7, -7, -7, -7};
                check_ints(labels[variant], &got, 3, dims, sevens);
                tensor_release(&got);
            }
            illume_model_free(model);
            illume_context_destroy(context);
            continue;
        }
        illume_tensor want = variant == 3 ? reference_tensor(0, NULL) : reference_tensor(3, dims);
        for (int64_t i = 0; i < tensor_count(&want); i++)
            ((float *)want.data)[i] = variant == 0 ? ((float *)x.data)[i] + 1.5f : variant == 3 ? 1.5f : 0.0f;
        expect_run(labels[variant], b, 1, &x, 1, &want, 0.0);
    }
    builder *b = builder_create(13);
    const int64_t two[1] = {2}, shape_values[2] = {2, 2};
    const float fills[2] = {1, 2};
    int y, shape = builder_int_list(b, "shape", 2, shape_values);
    int node = builder_node(b, "ConstantOfShape", 1, &shape, 1, &y);
    builder_attribute_tensor(b, node, "value", builder_floats(b, "fill", 1, two, fills));
    builder_output(b, y);
    expect_refusal("ConstantOfShape with a two-element value", b, 0, NULL, ILLUME_ERROR_INVALID_MODEL, "one element");
    tensor_release(&x);
}

/* Data movement on a convolution's output, which the layout pass keeps
 * channels last: Concat (which stays channels last, its axis remapped) and
 * the ops that read the converted (N, C, H, W) copy. */
static void after_conv(uint64_t *seed) {
    const int64_t x_dims[4] = {2, 3, 4, 5};
    /* Concat of two Conv outputs on every axis, and at opset 1 by its default axis of 1. */
    for (int axis = -4; axis <= 4; axis++) {
        int opset_one = axis == 4;
        illume_tensor inputs[2] = {tensor_random(4, x_dims, -1.0f, 1.0f, seed),
                                   tensor_random(4, x_dims, -1.0f, 1.0f, seed)};
        builder *b = builder_create(opset_one ? 1 : 13);
        illume_tensor parts[2];
        int node_inputs[2] = {add_conv(b, builder_input(b, "x", 4, x_dims), &inputs[0], 4, seed, &parts[0]),
                              add_conv(b, builder_input(b, "z", 4, x_dims), &inputs[1], 4, seed, &parts[1])};
        int y, node = builder_node(b, "Concat", 2, node_inputs, 1, &y);
        if (!opset_one) builder_attribute_int(b, node, "axis", axis);
        builder_output(b, y);
        illume_tensor want = reference_concat(2, parts, opset_one ? 1 : axis);
        char label[96];
        if (opset_one) snprintf(label, sizeof label, "Concat of two Conv outputs, opset 1 default axis");
        else snprintf(label, sizeof label, "Concat of two Conv outputs, axis %d", axis);
        expect_run_layouts(label, b, 2, inputs, 1, &want, 1e-5);
        for (int i = 0; i < 2; i++) {
            tensor_release(&parts[i]);
            tensor_release(&inputs[i]);
        }
    }
    /* Concat of a Conv output with a constant and with a graph input. */
    for (int variant = 0; variant < 2; variant++) {
        const int64_t other_dims[4] = {2, 2, 4, 5};
        illume_tensor inputs[2] = {tensor_random(4, x_dims, -1.0f, 1.0f, seed),
                                   tensor_random(4, other_dims, -1.0f, 1.0f, seed)};
        builder *b = builder_create(13);
        illume_tensor parts[2];
        parts[1] = inputs[1];
        int node_inputs[2] = {add_conv(b, builder_input(b, "x", 4, x_dims), &inputs[0], 4, seed, &parts[0]),
                              variant ? builder_input(b, "other", 4, other_dims)
                                      : builder_floats(b, "other", 4, other_dims, inputs[1].data)};
        int y, node = builder_node(b, "Concat", 2, node_inputs, 1, &y);
        builder_attribute_int(b, node, "axis", 1);
        builder_output(b, y);
        illume_tensor want = reference_concat(2, parts, 1);
        expect_run_layouts(variant ? "Concat of a Conv output and a graph input"
                                   : "Concat of a Conv output and a constant",
                           b, variant ? 2 : 1, inputs, 1, &want, 1e-5);
        tensor_release(&parts[0]);
        tensor_release(&inputs[0]);
        tensor_release(&inputs[1]);
    }
    /* Readers that need (N, C, H, W). */
    for (int reader = 0; reader < 9; reader++) {
        illume_tensor x = tensor_random(4, x_dims, -1.0f, 1.0f, seed);
        builder *b = builder_create(13);
        illume_tensor produced, want;
        int conv = add_conv(b, builder_input(b, "x", 4, x_dims), &x, 6, seed, &produced);
        int y, node;
        const char *label;
        if (reader == 0) {
            label = "Transpose after Conv";
            const int64_t perm[4] = {0, 2, 3, 1};
            node = builder_node(b, "Transpose", 1, &conv, 1, &y);
            builder_attribute_ints(b, node, "perm", 4, perm);
            want = reference_transpose(&produced, perm);
        } else if (reader == 1) {
            label = "Reshape after Conv";
            const int64_t shape[3] = {2, 6, -1}, dims[3] = {2, 6, 20};
            int inputs[2] = {conv, builder_int_list(b, "shape", 3, shape)};
            builder_node(b, "Reshape", 2, inputs, 1, &y);
            want = copy_of(&produced, 3, dims);
        } else if (reader == 2) {
            label = "Flatten after Conv";
            const int64_t dims[2] = {2, 120};
            builder_node(b, "Flatten", 1, &conv, 1, &y);
            want = copy_of(&produced, 2, dims);
        } else if (reader == 3) {
            label = "Slice after Conv";
            const int64_t starts[2] = {1, -1}, ends[2] = {5, 0}, axes[2] = {1, 3}, steps[2] = {2, -2};
            int inputs[5] = {conv, builder_int_list(b, "starts", 2, starts), builder_int_list(b, "ends", 2, ends),
                             builder_int_list(b, "axes", 2, axes), builder_int_list(b, "steps", 2, steps)};
            builder_node(b, "Slice", 5, inputs, 1, &y);
            want = reference_slice(&produced, 2, starts, ends, axes, steps);
        } else if (reader == 4) {
            label = "Softmax on the channels after Conv";
            node = builder_node(b, "Softmax", 1, &conv, 1, &y);
            builder_attribute_int(b, node, "axis", 1);
            want = reference_softmax(&produced, 1, 13, 0);
        } else if (reader == 5) {
            label = "ReduceMean over the channels after Conv";
            const int64_t axes[1] = {1};
            node = builder_node(b, "ReduceMean", 1, &conv, 1, &y);
            builder_attribute_ints(b, node, "axes", 1, axes);
            want = reference_reduce_mean(&produced, 1, axes, 1, 0);
        } else if (reader == 6) {
            label = "Gather of channels after Conv";
            const int64_t indices[3] = {5, 0, -2}, index_dims[1] = {3};
            int inputs[2] = {conv, builder_ints(b, "indices", 1, index_dims, indices)};
            node = builder_node(b, "Gather", 2, inputs, 1, &y);
            builder_attribute_int(b, node, "axis", 1);
            want = reference_gather(&produced, 1, index_dims, indices, 1);
        } else if (reader == 7) {
            label = "Split of channels after Conv (first part)";
            const int64_t sizes[2] = {2, 4};
            int outputs[2], inputs[2] = {conv, builder_int_list(b, "split", 2, sizes)};
            node = builder_node(b, "Split", 2, inputs, 2, outputs);
            builder_attribute_int(b, node, "axis", 1);
            y = outputs[0];
            illume_tensor parts[2];
            reference_split(&produced, 1, 2, sizes, parts);
            want = parts[0];
            tensor_release(&parts[1]);
        } else {
            label = "Identity after Conv";
            builder_node(b, "Identity", 1, &conv, 1, &y);
            want = copy_of(&produced, 4, produced.dims);
        }
        builder_output(b, y);
        expect_run_layouts(label, b, 1, &x, 1, &want, 1e-5);
        tensor_release(&produced);
        tensor_release(&x);
    }
}

int main(void) {
    uint64_t seed = 19;
    concat(&seed);
    split(&seed);
    slice(&seed);
    transpose(&seed);
    views(&seed);
    dropout_forms(&seed);
    shape(&seed);
    gather(&seed);
    casts();
    constant_of_shape(&seed);
    after_conv(&seed);
    return test_report("ops/layout");
}
