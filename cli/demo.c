/* The bundled demo: illume explain with no arguments runs every method on
 * the demo model's samples and draws their heatmaps. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "explain.h"

/* The source tree's demo folder, which CMake names; a build without it looks
 * in ./demo. */
#ifndef ILLUME_DEMO_DIR
#define ILLUME_DEMO_DIR "demo"
#endif

/* The demo's folder: installed beside the command (PREFIX/share/illume/demo),
 * else the source tree's. */
static void demo_directory(char *path, size_t size) {
    char executable[1024];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    if (length > 0) {
        executable[length] = '\0';
        char *slash = strrchr(executable, '/');
        if (slash) *slash = '\0';
        snprintf(path, size, "%s/../share/illume/demo", executable);
        if (is_directory(path)) return;
    }
    snprintf(path, size, "%s", ILLUME_DEMO_DIR);
}

void demo_fill_request(explain_request *request) {
    /* Static: the request points into them after this returns. */
    static char model[4096], samples[4096], labels_path[4096];
    char directory[2048];
    demo_directory(directory, sizeof directory);
    snprintf(model, sizeof model, "%s/model.onnx", directory);
    snprintf(samples, sizeof samples, "%s/samples", directory);
    snprintf(labels_path, sizeof labels_path, "%s/labels.txt", directory);
    request->demo = 1;
    request->model_path = model;
    request->inputs[0] = samples;
    request->input_count = 1;
    request->labels_path = labels_path;
    if (!request->heatmap) request->heatmap = "illume-demo";
    for (int m = 0; m < ILLUME_METHOD_COUNT; m++) request->methods[m] = (illume_method)m;
    request->method_count = ILLUME_METHOD_COUNT;
    request->options.upsample = 1;
    request->options.window[0] = request->options.window[1] = 8;
    request->options.stride[0] = request->options.stride[1] = 4;
    request->options.steps = 32;
    request->options.samples = 16;
}
