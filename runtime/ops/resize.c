/* Resize, nearest and (n-)linear, with every coordinate transformation mode
 * of the spec; scales or sizes as constant inputs. Cubic and antialiasing are
 * refused. */
#include <math.h>
#include <string.h>

#include "op_support.h"

static const op_attribute attributes[] = {
    {"mode", ATTRIBUTE_STRING, 0, 0}, {"coordinate_transformation_mode", ATTRIBUTE_STRING, 11, 0},
    {"nearest_mode", ATTRIBUTE_STRING, 11, 0}, {"cubic_coeff_a", ATTRIBUTE_FLOAT, 11, 0},
    {"exclude_outside", ATTRIBUTE_INT, 11, 0}, {"extrapolation_value", ATTRIBUTE_FLOAT, 11, 0},
    {"antialias", ATTRIBUTE_INT, 18, 0}, {"axes", ATTRIBUTE_INTS, 18, 0},
    {"keep_aspect_ratio_policy", ATTRIBUTE_STRING, 18, 0}, {NULL, 0, 0, 0}};

static const char *const coordinate_names[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                               "tf_crop_and_resize", "half_pixel_symmetric"};
static const char *const rounding_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};

static int lookup(const char *name, const char *const *names, int count) {
    for (int i = 0; i < count; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

static illume_status check(illume_context *context, const graph *g, const graph_node *node) {
    (void)g;
    const char *mode = graph_attribute_string(node, "mode", "nearest");
    if (strcmp(mode, "nearest") && strcmp(mode, "linear"))
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "mode '%s' is not supported (nearest and linear are)",
                         mode);
    const char *coordinates = graph_attribute_string(node, "coordinate_transformation_mode", "half_pixel");
    if (lookup(coordinates, coordinate_names, 6) < 0)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported",
                         coordinates);
    const char *rounding = graph_attribute_string(node, "nearest_mode", "round_prefer_floor");
    if (lookup(rounding, rounding_names, 4) < 0)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "nearest_mode '%s' is not supported", rounding);
    if (graph_attribute_int(node, "antialias", 0) != 0)
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "antialias is not supported");
    const char *policy = graph_attribute_string(node, "keep_aspect_ratio_policy", "stretch");
    if (strcmp(policy, "stretch") && strcmp(policy, "not_larger") && strcmp(policy, "not_smaller"))
        return node_fail(context, node, ILLUME_ERROR_UNSUPPORTED, "keep_aspect_ratio_policy '%s' is not supported",
                         policy);
    return ILLUME_OK;
}

static illume_status describe(illume_context *context, const graph *g, const graph_node *node, resize_desc *desc) {
    ILLUME_TRY(require_shape(context, g, node, 0, -1));
    const graph_value *x = graph_input(g, node, 0);
    int rank = x->rank;
    memset(desc, 0, sizeof *desc);
    desc->rank = rank;
    desc->mode = strcmp(graph_attribute_string(node, "mode", "nearest"), "linear") == 0 ? RESIZE_LINEAR
                                                                                         : RESIZE_NEAREST;
    const char *default_coordinates = g->opset < 11 ? "asymmetric" : "half_pixel";
    desc->coordinates = (resize_coordinates)lookup(
        graph_attribute_string(node, "coordinate_transformation_mode", default_coordinates), coordinate_names, 6);
    const char *default_rounding = g->opset < 11 ? "floor" : "round_prefer_floor";
    desc->rounding = (resize_rounding)lookup(graph_attribute_string(node, "nearest_mode", default_rounding),
                                             rounding_names, 4);
    desc->extrapolation_value = graph_attribute_float(node, "extrapolation_value", 0.0f);

    int axis_count;
    const int64_t *given_axes = graph_attribute_ints(node, "axes", &axis_count);
    int axes[ILLUME_MAX_RANK];
    if (!given_axes) axis_count = rank;
    if (axis_count > rank) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "too many axes");
    for (int i = 0; i < axis_count; i++) {
        if (given_axes) ILLUME_TRY(normalize_axis(context, node, given_axes[i], rank, &axes[i]));
        else axes[i] = i;
    }
    int scales_input = g->opset < 11 ? 1 : 2, sizes_input = 3;
    float scales[ILLUME_MAX_RANK];
    int64_t sizes[ILLUME_MAX_RANK];
    int scale_count = 0, size_count = 0;
    if (graph_input(g, node, scales_input))
        ILLUME_TRY(constant_floats(context, g, node, scales_input, scales, ILLUME_MAX_RANK, &scale_count));
    if (g->opset >= 11 && graph_input(g, node, sizes_input))
        ILLUME_TRY(constant_ints(context, g, node, sizes_input, sizes, ILLUME_MAX_RANK, &size_count));
    if ((scale_count > 0) == (size_count > 0))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "exactly one of scales and sizes must be given");
    if ((scale_count && scale_count != axis_count) || (size_count && size_count != axis_count))
        return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "scales or sizes must have one value per axis");
    for (int d = 0; d < rank; d++) {
        desc->in_dims[d] = desc->out_dims[d] = x->dims[d];
        desc->scales[d] = 1.0f;
        desc->roi_start[d] = 0.0f;
        desc->roi_end[d] = 1.0f;
    }
    if (scale_count) {
        for (int i = 0; i < axis_count; i++) {
            if (!(scales[i] > 0.0f))
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "scales must be positive");
            desc->scales[axes[i]] = scales[i];
            float size = floorf((float)x->dims[axes[i]] * scales[i]);
            if (!(size < 0x1p62f)) /* also refuses infinity and NaN, which int64 cannot hold */
                return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "scale %g makes the output too large",
                                 (double)scales[i]);
            desc->out_dims[axes[i]] = (int64_t)size;
        }
    } else {
        const char *policy = graph_attribute_string(node, "keep_aspect_ratio_policy", "stretch");
        float common = strcmp(policy, "not_larger") == 0 ? INFINITY : 0.0f;
        for (int i = 0; i < axis_count; i++) {
            if (sizes[i] < 0) return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "negative size");
            float ratio = x->dims[axes[i]] ? (float)sizes[i] / (float)x->dims[axes[i]] : 1.0f;
            if (strcmp(policy, "not_larger") == 0 && ratio < common) common = ratio;
            if (strcmp(policy, "not_smaller") == 0 && ratio > common) common = ratio;
            desc->scales[axes[i]] = ratio;
            desc->out_dims[axes[i]] = sizes[i];
        }
        if (strcmp(policy, "stretch") != 0)
            for (int i = 0; i < axis_count; i++) {
                desc->scales[axes[i]] = common;
                float size = roundf((float)x->dims[axes[i]] * common);
                if (!(size < 0x1p62f))
                    return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "sizes make the output too large");
                desc->out_dims[axes[i]] = (int64_t)size;
            }
    }
    if (desc->coordinates == RESIZE_TF_CROP_AND_RESIZE) {
        float roi[2 * ILLUME_MAX_RANK];
        int roi_count = 0;
        if (graph_input(g, node, 1))
            ILLUME_TRY(constant_floats(context, g, node, 1, roi, 2 * ILLUME_MAX_RANK, &roi_count));
        if (roi_count != 2 * axis_count)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "roi must have two values per axis");
        for (int i = 0; i < axis_count; i++) {
            desc->roi_start[axes[i]] = roi[i];
            desc->roi_end[axes[i]] = roi[axis_count + i];
        }
    }
    for (int d = 0; d < rank; d++)
        if (desc->out_dims[d] > 0 && desc->in_dims[d] == 0)
            return node_fail(context, node, ILLUME_ERROR_INVALID_MODEL, "cannot resize an empty dimension");
    return ILLUME_OK;
}

static illume_status infer(illume_context *context, graph *g, graph_node *node) {
    ILLUME_TRY(require_float(context, g, node, 0));
    resize_desc desc;
    ILLUME_TRY(describe(context, g, node, &desc));
    return set_output(context, g, node, 0, ILLUME_FLOAT32, desc.rank, desc.out_dims);
}

static illume_status forward(const op_call *call) {
    resize_desc desc;
    ILLUME_TRY(describe(call->context, call->graph, call->node, &desc));
    return call->backend->resize(call->backend, &desc, call->inputs[0], call->outputs[0]);
}

static illume_status backward(const op_backward_call *call) {
    const op_call *forward = call->forward;
    ILLUME_TRY(refuse_gradient(call, 1, 3, "roi, scales or sizes"));
    if (!call->input_gradients[0]) return ILLUME_OK;
    resize_desc desc;
    ILLUME_TRY(describe(forward->context, forward->graph, forward->node, &desc));
    return forward->backend->resize_backward(forward->backend, &desc, call->output_gradients[0],
                                             call->input_gradients[0]);
}

/* Opset 10 has scales second; opset 11 puts roi before it. */
static const op_input inputs[] = {
    {1, "scales", 10, 10}, {1, "roi", 11, 0}, {2, "scales", 11, 0}, {3, "sizes", 11, 0}, {0, NULL, 0, 0}};

const op_definition op_resize = {
    .name = "Resize", .traits = OP_KEEPS_POSITIONS | OP_SHAPED_BY_INPUT, .shape_input = 3, .since = 10,
    .min_inputs = 1, .max_inputs = 4, .min_outputs = 1, .max_outputs = 1, .attributes = attributes,
    .versioned_inputs = inputs, .check = check, .infer = infer, .forward = forward, .backward = backward};
