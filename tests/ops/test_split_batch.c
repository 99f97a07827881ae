/* Splitting a forward batch (runtime/split_batch.c): the first nodes of a
 * forward-only CPU session run one image at a time. The split must choose
 * its cut where one value alone carries on, stop before any node that mixes
 * images, and give what the whole batch at once gives, image for image,
 * run after run. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

#define BATCH 8
#define SIZE 160

typedef enum ending { PLAIN, EARLY_OUTPUT, BATCH_CONCAT } ending;

static int constant(builder *b, const char *name, int rank, const int64_t *dims, uint64_t *seed) {
    illume_tensor data = tensor_random(rank, dims, -0.5f, 0.5f, seed);
    int v = builder_floats(b, name, rank, dims, data.data);
    tensor_release(&data);
    return v;
}

static int conv(builder *b, const char *name, int x, int64_t in, int64_t out, int64_t stride, uint64_t *seed) {
    char w_name[32], bias_name[32];
    snprintf(w_name, sizeof w_name, "%s_w", name);
    snprintf(bias_name, sizeof bias_name, "%s_b", name);
    int64_t w_dims[4] = {out, in, 3, 3}, bias_dims[1] = {out}, pads[4] = {1, 1, 1, 1};
    int inputs[3] = {x, constant(b, w_name, 4, w_dims, seed), constant(b, bias_name, 1, bias_dims, seed)};
    int64_t strides[2] = {stride, stride};
    int y, node = builder_node(b, "Conv", 3, inputs, 1, &y);
    builder_attribute_ints(b, node, "pads", 4, pads);
    builder_attribute_ints(b, node, "strides", 2, strides);
    return y;
}

static int unary(builder *b, const char *op, int x) {
    int y;
    builder_node(b, op, 1, &x, 1, &y);
    return y;
}

/* A small residual network on (batch, 3, 160, 160) images: first large
 * activations (beyond 8 MiB a node at batch 8) and small weights (a Conv, a
 * residual block, a MaxPool), then a strided Conv whose weights and fixed
 * cost outweigh its activations, pooling and a Gemm. With EARLY_OUTPUT the
 * first Relu's output is a graph output too; with BATCH_CONCAT the first
 * Relu's output is joined to itself along the batch axis, which mixes
 * images. */
static illume_model *network(ending end, int64_t size) {
    uint64_t seed = 7;
    builder *b = builder_create(13);
    int64_t x_dims[4] = {-1, 3, size, size};
    int x = builder_input(b, "x", 4, x_dims);
    int first = unary(b, "Relu", conv(b, "conv1", x, 3, 16, 1, &seed));
    if (end == BATCH_CONCAT) {
        int parts[2] = {first, first}, joined;
        int node = builder_node(b, "Concat", 2, parts, 1, &joined);
        builder_attribute_int(b, node, "axis", 0);
        first = joined;
    }
    int inner = conv(b, "conv2", first, 16, 16, 1, &seed);
    int sum_inputs[2] = {inner, first}, sum;
    builder_node(b, "Add", 2, sum_inputs, 1, &sum);
    int block = unary(b, "Relu", sum), pooled;
    int pool = builder_node(b, "MaxPool", 1, &block, 1, &pooled);
    int64_t window[2] = {2, 2};
    builder_attribute_ints(b, pool, "kernel_shape", 2, window);
    builder_attribute_ints(b, pool, "strides", 2, window);
    int wide = unary(b, "Relu", conv(b, "conv3", pooled, 16, 128, 4, &seed));
    int flat = unary(b, "Flatten", unary(b, "GlobalAveragePool", wide));
    int64_t w_dims[2] = {10, 128}, bias_dims[1] = {10};
    int gemm_inputs[3] = {flat, constant(b, "fc_w", 2, w_dims, &seed), constant(b, "fc_b", 1, bias_dims, &seed)};
    int logits, gemm = builder_node(b, "Gemm", 3, gemm_inputs, 1, &logits);
    builder_attribute_int(b, gemm, "transB", 1);
    builder_output(b, logits);
    if (end == EARLY_OUTPUT) builder_output(b, first);
    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    if (builder_finish(b, context, &model) != ILLUME_OK)
        test_fail("network %d: refused: %s", (int)end, illume_last_error(context));
    illume_context_destroy(context);
    return model;
}

/* Runs the model with split_batch on or off, first on `earlier` and then on
 * x, and returns the outputs of the second run and the session's
 * statistics; 0 on failure (reported). */
static int run_twice(const char *label, const illume_model *model, int split, const illume_tensor *earlier,
                     const illume_tensor *x, int output_count, illume_tensor *outputs, illume_session_stats *stats) {
    illume_context *context = illume_context_create();
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = "cpu";
    options.split_batch = split;
    options.profile = 1;
    illume_session *session = NULL;
    illume_status status = illume_session_create(context, model, &options, 1, x, &session);
    for (int o = 0; o < output_count && status == ILLUME_OK; o++) {
        illume_value_info info;
        status = illume_session_output(session, o, &info);
        outputs[o] = tensor_zeros(info.rank, info.dims);
    }
    if (status == ILLUME_OK) status = illume_session_run(session, 1, earlier, output_count, outputs);
    if (status == ILLUME_OK) status = illume_session_run(session, 1, x, output_count, outputs);
    if (status == ILLUME_OK) illume_session_get_stats(session, stats);
    else test_fail("%s: %s", label, illume_last_error(context));
    /* The profile counts every call, those image by image too: the MaxPool,
     * the third node, runs once per image in each of the two runs when it
     * comes before the cut. */
    illume_profile_entry entry;
    int64_t pool_calls = status == ILLUME_OK && stats->image_node_count >= 3 ? 2 * x->dims[0] : 2;
    int64_t counted = 0;
    for (int k = 0; status == ILLUME_OK && illume_session_profile(session, k, &entry) > k; k++)
        if (strcmp(entry.op_type, "MaxPool") == 0) counted = entry.calls;
    if (status == ILLUME_OK && counted != pool_calls)
        test_fail("%s: the profile counts %lld MaxPool calls in two runs of a batch of %lld", label,
                  (long long)counted, (long long)x->dims[0]);
    illume_session_free(session);
    illume_context_destroy(context);
    return status == ILLUME_OK;
}

static illume_tensor image(const illume_tensor *x, int64_t index) {
    int64_t dims[4] = {1, x->dims[1], x->dims[2], x->dims[3]};
    illume_tensor one = tensor_zeros(4, dims);
    int64_t count = tensor_count(&one);
    memcpy(one.data, (const float *)x->data + index * count, sizeof(float) * (size_t)count);
    return one;
}

/* Row `index` of a batch's output, as a tensor of batch one. */
static illume_tensor row(const illume_tensor *y, int64_t index, int64_t rows) {
    illume_tensor one = tensor_copy(y);
    one.dims[0] = y->dims[0] / rows;
    int64_t count = tensor_count(&one);
    memcpy(one.data, (const float *)y->data + index * count, sizeof(float) * (size_t)count);
    return one;
}

/* expected_nodes: how many nodes the split should run image by image. */
static void check_split(const char *label, ending end, int64_t size, int expected_nodes) {
    illume_model *model = network(end, size);
    if (!model) return;
    uint64_t seed = 11;
    int64_t dims[4] = {BATCH, 3, size, size};
    illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, &seed), earlier = tensor_random(4, dims, -1.0f, 1.0f, &seed);
    int output_count = end == EARLY_OUTPUT ? 2 : 1;
    illume_tensor split[2], whole[2];
    illume_session_stats split_stats, whole_stats;
    int ran = run_twice(label, model, 1, &earlier, &x, output_count, split, &split_stats) &&
              run_twice(label, model, 0, &earlier, &x, output_count, whole, &whole_stats);
    count_case();
    if (ran) {
        char name[128];
        if (whole_stats.image_node_count != 0)
            test_fail("%s: %d nodes ran image by image with split_batch off", label, whole_stats.image_node_count);
        if (split_stats.image_node_count != expected_nodes)
            test_fail("%s: %d of %d nodes ran image by image; expected %d", label, split_stats.image_node_count,
                      split_stats.node_count, expected_nodes);
        for (int o = 0; o < output_count; o++) {
            snprintf(name, sizeof name, "%s: output %d split against whole", label, o);
            check_tensor(name, &split[o], &whole[o], 1e-5);
        }
        /* Each image alone (a batch of one never splits) gives its row of the batch. */
        for (int64_t i = 0; i < BATCH && end != BATCH_CONCAT; i++) {
            illume_tensor one = image(&x, i), alone[2];
            illume_session_stats alone_stats;
            if (!run_twice(label, model, 1, &one, &one, output_count, alone, &alone_stats)) break;
            if (alone_stats.image_node_count != 0)
                test_fail("%s: a batch of one ran %d nodes image by image", label, alone_stats.image_node_count);
            for (int o = 0; o < output_count; o++) {
                illume_tensor want = row(&split[o], i, BATCH);
                snprintf(name, sizeof name, "%s: output %d of image %lld alone", label, o, (long long)i);
                check_tensor(name, &alone[o], &want, 1e-5);
                tensor_release(&want);
                tensor_release(&alone[o]);
            }
            tensor_release(&one);
        }
    }
    for (int o = 0; ran && o < output_count; o++) {
        tensor_release(&split[o]);
        tensor_release(&whole[o]);
    }
    tensor_release(&x);
    tensor_release(&earlier);
    illume_model_free(model);
}

/* A backward pass needs every value of the batch: no split. */
static void check_backward(void) {
    illume_model *model = network(PLAIN, SIZE);
    if (!model) return;
    uint64_t seed = 13;
    int64_t dims[4] = {BATCH, 3, SIZE, SIZE};
    illume_tensor x = tensor_random(4, dims, -1.0f, 1.0f, &seed);
    illume_context *context = illume_context_create();
    illume_session_options options;
    illume_session_options_default(&options);
    options.device = "cpu";
    options.backward = 1;
    illume_session *session = NULL;
    count_case();
    if (illume_session_create(context, model, &options, 1, &x, &session) != ILLUME_OK) {
        test_fail("backward session: %s", illume_last_error(context));
    } else {
        illume_session_stats stats;
        illume_session_get_stats(session, &stats);
        if (stats.image_node_count != 0)
            test_fail("a session with a backward pass ran %d nodes image by image", stats.image_node_count);
    }
    illume_session_free(session);
    illume_context_destroy(context);
    tensor_release(&x);
    illume_model_free(model);
}

int main(void) {
    check_split("residual network", PLAIN, SIZE, 3);
    /* On 72x72 images every node's batch activations stay under 8 MiB, in the caches: no split. */
    check_split("residual network on small images", PLAIN, 72, 0);
    check_split("an early graph output", EARLY_OUTPUT, SIZE, 1);
    /* The split stops before a node that mixes images. */
    check_split("a Concat along the batch", BATCH_CONCAT, SIZE, 1);
    check_backward();
    return test_report("split_batch");
}
