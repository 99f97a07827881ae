/* What illume explain writes and prints: the attributions as .npy, the
 * heatmaps as PNG, a line per input, and the JSON report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explain.h"
#include "heatmap.h"
#include "npy.h"

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The file name of an image without its folder and extension. */
static void stem(const char *path, char *out, size_t size) {
    snprintf(out, size, "%s", base_name(path));
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

/* The .npy of one method: -o's path itself, or PATH-METHOD.npy when there are several. */
static void method_path(const char *output, const char *method, int several, char *path, size_t size) {
    if (several) npy_path_with_suffix(output, method, path, size);
    else snprintf(path, size, "%s", output);
}

/* The .npy of one image and method in a dataset's output folder: FOLDER/STEM.METHOD.npy. */
static void image_path(const explain_request *request, const char *image_file, illume_method method, char *path,
                       size_t size) {
    char file[1024];
    stem(image_file, file, sizeof file);
    snprintf(path, size, "%s/%s.%s.npy", request->output, file, illume_method_name(method));
}

/* Rows first.. of one method's attribution as an .npy of their own. */
static illume_status write_rows(explain_run *run, const illume_tensor *attribution, int64_t first, int64_t count,
                                const char *path) {
    illume_tensor part = *attribution;
    int64_t per_row = (int64_t)(illume_tensor_bytes(attribution) / sizeof(float)) / attribution->dims[0];
    part.dims[0] = count;
    part.data = (float *)attribution->data + first * per_row;
    char error[1024];
    illume_status status = npy_write(path, &part, error, sizeof error);
    if (status != ILLUME_OK) return explain_fail(run, status, "%s", error);
    return ILLUME_OK;
}

illume_status write_attributions(explain_run *run, const explain_results *results, int64_t count) {
    explain_request *request = run->request;
    illume_status status = ILLUME_OK;
    for (int m = 0; status == ILLUME_OK && m < request->method_count; m++) {
        char path[4096];
        method_path(request->output, illume_method_name(request->methods[m]), request->method_count > 1, path,
                    sizeof path);
        status = write_rows(run, &results->attributions[m], 0, count, path);
        if (status == ILLUME_OK) fprintf(stderr, "illume: wrote %s\n", path);
    }
    return status;
}

illume_status write_attributions_per_image(explain_run *run, const explain_results *results, char **images,
                                           int count) {
    explain_request *request = run->request;
    illume_status status = ILLUME_OK;
    for (int r = 0; status == ILLUME_OK && r < count; r++) {
        for (int m = 0; status == ILLUME_OK && m < request->method_count; m++) {
            char path[4096];
            image_path(request, images[r], request->methods[m], path, sizeof path);
            status = write_rows(run, &results->attributions[m], r, 1, path);
        }
    }
    return status;
}

int all_outputs_exist(const explain_request *request, const char *image_file) {
    for (int m = 0; m < request->method_count; m++) {
        char path[4096];
        image_path(request, image_file, request->methods[m], path, sizeof path);
        if (access(path, F_OK) != 0) return 0;
    }
    return 1;
}

/* Whether the method's maps are magnitudes (drawn as jet over the image) rather than signed. */
static int is_positive(const explain_request *request, illume_method method) {
    illume_method_info info;
    return illume_method_describe(method, &request->options, &info) == ILLUME_OK && info.nonnegative;
}

illume_status write_heatmaps(explain_run *run, const illume_tensor *inputs, const explain_results *results,
                             char **names) {
    explain_request *request = run->request;
    const illume_tensor *x = inputs;
    int layout_last = request->preprocessing.channels_last;
    int64_t channels = x->rank == 4 ? x->dims[layout_last ? 3 : 1] : 1;
    int64_t height = x->rank >= 3 ? x->dims[x->rank - 2 - layout_last] : 1;
    int64_t width = x->rank >= 2 ? x->dims[x->rank - 1 - layout_last] : (x->rank == 1 ? x->dims[0] : 1);
    int64_t row_size = (int64_t)(illume_tensor_bytes(x) / sizeof(float)) / x->dims[0];
    /* A picture of no pixels has no scale to draw it at (a model that takes images of any size takes empty ones). */
    int empty = height < 1 || width < 1;
    for (int m = 0; m < request->method_count; m++) {
        const illume_tensor *a = &results->attributions[m];
        empty |= (a->rank >= 3 && a->dims[a->rank - 2] < 1) || (a->rank >= 2 && a->dims[a->rank - 1] < 1);
    }
    if (empty)
        return explain_fail(run, ILLUME_ERROR_INVALID_INPUT,
                            "no heatmap of an input or a map without pixels (input %lld x %lld)", (long long)height,
                            (long long)width);
    unsigned char *image = malloc((size_t)(height * width * 3));
    if (!image) return explain_fail(run, ILLUME_ERROR_OUT_OF_MEMORY, "out of memory");
    illume_status status = ILLUME_OK;
    for (int64_t r = 0; r < x->dims[0] && status == ILLUME_OK; r++) {
        heatmap_image((const float *)x->data + r * row_size, layout_last ? 0 : channels, height, width,
                      request->preprocessing.mean, request->preprocessing.std, image);
        heatmap_map maps[MAX_METHODS];
        for (int m = 0; m < request->method_count; m++) {
            const illume_tensor *a = &results->attributions[m];
            int64_t per_row = (int64_t)(illume_tensor_bytes(a) / sizeof(float)) / a->dims[0];
            int64_t map_height = a->rank >= 3 ? a->dims[a->rank - 2] : height;
            int64_t map_width = a->rank >= 2 ? a->dims[a->rank - 1] : width;
            maps[m] = (heatmap_map){(const float *)a->data + r * per_row, per_row / (map_height * map_width),
                                    map_height, map_width, is_positive(request, request->methods[m])};
        }
        char path[4096], file[1024];
        if (names) stem(names[r], file, sizeof file);
        else snprintf(file, sizeof file, "input-%lld", (long long)r);
        snprintf(path, sizeof path, "%s/%s.png", request->heatmap, file);
        heatmap_panel panel = {image, height, width, request->percentile};
        char error[1024];
        if (heatmap_write(path, &panel, maps, request->method_count, error, sizeof error))
            status = explain_fail(run, ILLUME_ERROR_IO, "%s", error);
    }
    free(image);
    return status;
}

void print_rows(explain_run *run, const explain_results *results, char **names, int64_t count) {
    explain_request *request = run->request;
    for (int64_t r = 0; r < count; r++) {
        const illume_explain_row *row = &results->rows[0][r];
        const char *input = names ? base_name(names[r]) : "input";
        if (request->options.feature) {
            printf("%s: %s channel %lld (activation sum %.4f)", input, request->options.feature,
                   (long long)row->target, row->score);
        } else {
            const char *label =
                row->target >= 0 && row->target < run->names.count ? run->names.names[row->target] : "";
            printf("%s: target %lld %s%s(%s %.4f)", input, (long long)row->target, label, label[0] ? " " : "",
                   illume_explainer_score(run->explainers[0]), row->score);
        }
        if (!names) printf(" row %lld", (long long)r);
        for (int m = 0; m < request->method_count; m++) {
            illume_method_info info;
            illume_method_describe(request->methods[m], &request->options, &info);
            if (info.has_delta && !isnan(results->rows[m][r].delta))
                printf("  %s delta %.3g", info.name, results->rows[m][r].delta);
        }
        printf("\n");
    }
}

illume_status open_json_report(explain_run *run) {
    const char *path = run->request->json;
    run->json = fopen(path, "w");
    if (!run->json) return explain_fail(run, ILLUME_ERROR_IO, "cannot write '%s'", path);
    fprintf(run->json, "{\"model\": \"%s\", \"results\": [", run->request->model_path);
    return ILLUME_OK;
}

void write_json_rows(explain_run *run, const explain_results *results, char **names, int64_t count) {
    explain_request *request = run->request;
    for (int64_t r = 0; run->json && r < count; r++) {
        fprintf(run->json, "%s\n    {\"input\": \"", run->json_first ? "" : ",");
        run->json_first = 0;
        if (names) fprintf(run->json, "%s", names[r]);
        else fprintf(run->json, "row %lld", (long long)r);
        fprintf(run->json, "\", \"methods\": {");
        for (int m = 0; m < request->method_count; m++) {
            const illume_explain_row *row = &results->rows[m][r];
            fprintf(run->json, "%s\"%s\": {\"target\": %lld, \"score\": %.9g, \"score_of\": \"%s\"", m ? ", " : "",
                    illume_method_name(request->methods[m]), (long long)row->target, row->score,
                    illume_explainer_score(run->explainers[m]));
            if (!isnan(row->delta)) fprintf(run->json, ", \"delta\": %.9g", row->delta);
            fprintf(run->json, ", \"seconds\": %.6f}", results->reports[m].seconds / (double)count);
        }
        fprintf(run->json, "}}");
    }
}

illume_status close_json_report(explain_run *run, illume_status status) {
    fprintf(run->json, "\n  ], \"images\": %lld, \"seconds\": %.6f}\n", (long long)run->done, run->seconds);
    int closed = fclose(run->json) == 0;
    run->json = NULL;
    if (!closed && status == ILLUME_OK) return explain_fail(run, ILLUME_ERROR_IO, "cannot write '%s'", run->request->json);
    return status;
}
