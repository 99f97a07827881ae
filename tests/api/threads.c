/* What docs/api.md says of threads: threads that each have their own context
 * (and their own model and explainer, made with it) may call illume at the
 * same time. Three threads explain the same input with integrated gradients
 * at once, and each must get exactly the attributions of a lone run.
 *
 *   api_threads MODEL.onnx: a model of one input, float32 (1, 3, 32, 32) */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "illume.h"

#define THREADS 3
#define ELEMENTS (3 * 32 * 32)

static const char *model_path;

/* Explains a fixed input into `attributions` (float[ELEMENTS]) with a
 * context of its own; returns it, or NULL after printing what failed. */
static void *explain_alone(void *attributions) {
    static const int64_t shape[4] = {1, 3, 32, 32};
    float input[ELEMENTS];
    for (int i = 0; i < ELEMENTS; i++) input[i] = (float)(i % 17) / 17.0f;
    illume_tensor row = {.dtype = ILLUME_FLOAT32, .rank = 4, .data = input};
    memcpy(row.dims, shape, sizeof shape);
    illume_tensor result = row;
    result.data = attributions;

    illume_context *context = illume_context_create();
    illume_model *model = NULL;
    illume_explainer *explainer = NULL;
    illume_explain_options options;
    illume_explain_options_default(&options);
    options.method = ILLUME_INTEGRATED_GRADIENTS;
    options.steps = 16;
    illume_status status = context ? illume_model_load(context, model_path, &model) : ILLUME_ERROR_OUT_OF_MEMORY;
    if (status == ILLUME_OK) status = illume_explainer_create(context, model, &options, &row, &explainer);
    /* Twice: the second call reuses what the first made. */
    for (int k = 0; k < 2 && status == ILLUME_OK; k++)
        status = illume_explain(explainer, &row, NULL, &result, NULL, NULL);
    if (status != ILLUME_OK) printf("FAIL %s: %s\n", illume_status_name(status), illume_last_error(context));
    illume_explainer_free(explainer);
    illume_model_free(model);
    illume_context_destroy(context);
    return status == ILLUME_OK ? attributions : NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: api_threads MODEL.onnx\n");
        return 2;
    }
    model_path = argv[1];
    static float alone[ELEMENTS], together[THREADS][ELEMENTS];
    if (!explain_alone(alone)) return 1;
    pthread_t threads[THREADS];
    int started = 0;
    while (started < THREADS && pthread_create(&threads[started], NULL, explain_alone, together[started]) == 0)
        started++;
    int failures = started < THREADS;
    for (int t = 0; t < started; t++) {
        void *result;
        pthread_join(threads[t], &result);
        if (!result || memcmp(together[t], alone, sizeof alone) != 0) {
            printf("FAIL thread %d: its attributions are not the lone run's\n", t);
            failures++;
        }
    }
    if (failures == 0) printf("%d threads at once: the lone run's attributions, bit for bit\n", THREADS);
    return failures ? 1 : 0;
}
