/* Times oneDNN's convolution on the same geometry in two activation layouts:
 * channels last (nhwc, what illume's CPU backend keeps between
 * convolutions) and blocked by 16 channels (nChw16c, what ONNX Runtime's
 * NCHWc kernels and oneDNN's own "any" choice use on AVX-512), each plain
 * and with the output added onto a residual in place (a sum post-op, as
 * illume fuses a ResNet block's Add). It answers one question for the
 * layout pass: what a layout costs each kind of convolution, without the
 * rest of a model around it. With --winograd it times, instead, the direct
 * kernel channels last against Winograd's in the blocked layout (what
 * runtime/cpu/convolution.c's winograd_pays chooses between), plain only,
 * and the reorders of x and y between the two layouts.
 *
 * usage: bench_convolution_layouts [--batch N] [--iterations K] [--winograd] IN,OUT,SIZE,KERNEL...
 * Threads: OMP_NUM_THREADS. Prints the median and minimum time per call and
 * the implementation oneDNN picked. */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct geometry {
    int in_channels, out_channels, size, kernel;
} geometry;

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static void check(dnnl_status_t status, const char *what) {
    if (status == dnnl_success) return;
    fprintf(stderr, "bench_convolution_layouts: %s failed (oneDNN status %d)\n", what, (int)status);
    exit(1);
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A memory of the descriptor's size, filled with small values so that no
 * denormals or infinities slow a run down. */
static dnnl_memory_t filled_memory(const dnnl_memory_desc_t *desc) {
    dnnl_memory_t memory;
    check(dnnl_memory_create(&memory, desc, engine, DNNL_MEMORY_ALLOCATE), "dnnl_memory_create");
    float *data;
    check(dnnl_memory_get_data_handle(memory, (void **)&data), "dnnl_memory_get_data_handle");
    size_t count = dnnl_memory_desc_get_size(desc) / sizeof(float);
    for (size_t i = 0; i < count; i++) data[i] = (float)(i % 7) * 0.01f;
    return memory;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs the primitive twice untimed, then `iterations` times; prints one row
 * with the median and minimum milliseconds per call. */
static void time_primitive(dnnl_primitive_t primitive, int count, const dnnl_exec_arg_t *arguments, int iterations,
                           const geometry *g, const char *layout_name, const char *detail,
                           const char *implementation) {
    double *times = malloc(sizeof(double) * (size_t)iterations);
    if (!times) {
        fprintf(stderr, "bench_convolution_layouts: out of memory\n");
        exit(1);
    }
    for (int i = -2; i < iterations; i++) {
        double start = seconds();
        check(dnnl_primitive_execute(primitive, stream, count, arguments), "dnnl_primitive_execute");
        check(dnnl_stream_wait(stream), "dnnl_stream_wait");
        if (i >= 0) times[i] = seconds() - start;
    }
    qsort(times, (size_t)iterations, sizeof(double), compare_doubles);
    printf("%5d %5d %4d %2d  %-8s %-8s %9.3f %9.3f  %s\n", g->in_channels, g->out_channels, g->size, g->kernel,
           layout_name, detail, times[iterations / 2] * 1e3, times[0] * 1e3, implementation);
    free(times);
}

/* The reorder of a (batch, channels, size, size) activation between two layouts. */
static void time_reorder(int batch, int iterations, const geometry *g, int64_t channels, dnnl_format_tag_t from,
                         dnnl_format_tag_t to, const char *detail) {
    dnnl_dims_t dims = {batch, channels, g->size, g->size};
    dnnl_memory_desc_t source, destination;
    check(dnnl_memory_desc_init_by_tag(&source, 4, dims, dnnl_f32, from), "reorder source descriptor");
    check(dnnl_memory_desc_init_by_tag(&destination, 4, dims, dnnl_f32, to), "reorder destination descriptor");
    dnnl_primitive_desc_t pd;
    check(dnnl_reorder_primitive_desc_create(&pd, &source, engine, &destination, engine, NULL), "reorder descriptor");
    const char *implementation = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &implementation);
    dnnl_primitive_t reorder;
    check(dnnl_primitive_create(&reorder, pd), "dnnl_primitive_create");
    dnnl_memory_t source_memory = filled_memory(&source), destination_memory = filled_memory(&destination);
    dnnl_exec_arg_t arguments[2] = {{DNNL_ARG_FROM, source_memory}, {DNNL_ARG_TO, destination_memory}};
    time_primitive(reorder, 2, arguments, iterations, g, "reorder", detail, implementation);
    dnnl_memory_destroy(source_memory);
    dnnl_memory_destroy(destination_memory);
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(pd);
}

static void time_convolution(int batch, int iterations, const geometry *g, dnnl_format_tag_t layout,
                             const char *layout_name, int residual, dnnl_alg_kind_t algorithm) {
    int pad = g->kernel / 2;
    dnnl_dims_t x_dims = {batch, g->in_channels, g->size, g->size};
    dnnl_dims_t y_dims = {batch, g->out_channels, g->size, g->size};
    dnnl_dims_t w_dims = {g->out_channels, g->in_channels, g->kernel, g->kernel};
    dnnl_dims_t b_dims = {g->out_channels};
    dnnl_dims_t strides = {1, 1}, dilations = {0, 0}, pads = {pad, pad};
    dnnl_memory_desc_t x, y, w_any, bias;
    check(dnnl_memory_desc_init_by_tag(&x, 4, x_dims, dnnl_f32, layout), "x descriptor");
    check(dnnl_memory_desc_init_by_tag(&y, 4, y_dims, dnnl_f32, layout), "y descriptor");
    check(dnnl_memory_desc_init_by_tag(&w_any, 4, w_dims, dnnl_f32, dnnl_format_tag_any), "weights descriptor");
    check(dnnl_memory_desc_init_by_tag(&bias, 1, b_dims, dnnl_f32, dnnl_a), "bias descriptor");

    dnnl_primitive_attr_t attributes;
    dnnl_post_ops_t post_ops;
    check(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create");
    check(dnnl_post_ops_create(&post_ops), "dnnl_post_ops_create");
    if (residual) check(dnnl_post_ops_append_sum(post_ops, 1.0f), "sum post-op");
    check(dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), "relu post-op");
    check(dnnl_primitive_attr_set_post_ops(attributes, post_ops), "dnnl_primitive_attr_set_post_ops");
    dnnl_convolution_desc_t operation;
    check(dnnl_dilated_convolution_forward_desc_init(&operation, dnnl_forward_inference, algorithm, &x, &w_any,
                                                     &bias, &y, strides, dilations, pads, pads),
          "convolution descriptor");
    dnnl_primitive_desc_t pd;
    if (algorithm == dnnl_convolution_winograd &&
        dnnl_primitive_desc_create(&pd, &operation, attributes, engine, NULL) != dnnl_success) {
        printf("%5d %5d %4d %2d  %-8s %-8s  no Winograd kernel here\n", g->in_channels, g->out_channels, g->size,
               g->kernel, layout_name, "no");
        dnnl_post_ops_destroy(post_ops);
        dnnl_primitive_attr_destroy(attributes);
        return;
    }
    if (algorithm != dnnl_convolution_winograd)
        check(dnnl_primitive_desc_create(&pd, &operation, attributes, engine, NULL), "dnnl_primitive_desc_create");
    const char *implementation = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &implementation);
    dnnl_primitive_t convolution;
    check(dnnl_primitive_create(&convolution, pd), "dnnl_primitive_create");

    dnnl_memory_t x_memory = filled_memory(&x), y_memory = filled_memory(&y), bias_memory = filled_memory(&bias);
    dnnl_memory_t w_memory = filled_memory(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
    dnnl_exec_arg_t arguments[4] = {{DNNL_ARG_SRC, x_memory},
                                    {DNNL_ARG_WEIGHTS, w_memory},
                                    {DNNL_ARG_BIAS, bias_memory},
                                    {DNNL_ARG_DST, y_memory}};
    time_primitive(convolution, 4, arguments, iterations, g, layout_name, residual ? "yes" : "no", implementation);
    dnnl_memory_destroy(x_memory);
    dnnl_memory_destroy(y_memory);
    dnnl_memory_destroy(w_memory);
    dnnl_memory_destroy(bias_memory);
    dnnl_primitive_destroy(convolution);
    dnnl_primitive_desc_destroy(pd);
    dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_attr_destroy(attributes);
}

static void print_usage(FILE *out) {
    fprintf(out, "usage: bench_convolution_layouts [--batch N] [--iterations K] [--winograd] IN,OUT,SIZE,KERNEL...\n"
                 "  times oneDNN's convolution of each geometry (e.g. 64,256,56,1: 64 to 256 channels on 56x56,\n"
                 "  a 1x1 kernel, stride 1) in the nhwc and nChw16c layouts, plain and adding onto a residual;\n"
                 "  with --winograd, direct nhwc against Winograd nChw16c and the reorders of x and y between\n"
                 "  them; batch 16 and 10 calls by default, threads from OMP_NUM_THREADS\n");
}

static int usage(const char *problem) {
    fprintf(stderr, "bench_convolution_layouts: %s\n", problem);
    print_usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    int batch = 16, iterations = 10, count = 0, winograd = 0;
    geometry geometries[64];
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--batch") == 0 || strcmp(argv[i], "--iterations") == 0) && i + 1 < argc) {
            int value = atoi(argv[i + 1]);
            if (value < 1) return usage("--batch and --iterations take a positive number");
            if (strcmp(argv[i], "--batch") == 0)
                batch = value;
            else
                iterations = value;
            i++;
        } else if (strcmp(argv[i], "--winograd") == 0) {
            winograd = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            print_usage(stdout);
            return 0;
        } else {
            geometry *g = &geometries[count];
            char end;
            if (count == 64) return usage("at most 64 geometries");
            if (sscanf(argv[i], "%d,%d,%d,%d%c", &g->in_channels, &g->out_channels, &g->size, &g->kernel, &end) != 4 ||
                g->in_channels < 1 || g->out_channels < 1 || g->size < 1 || g->kernel < 1 || g->kernel % 2 == 0)
                return usage("a geometry is IN,OUT,SIZE,KERNEL: positive numbers, an odd kernel");
            count++;
        }
    }
    if (count == 0) return usage("no geometry given");
    check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create");
    check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "dnnl_stream_create");
    printf("batch %d, %d calls each; ms per call\n", batch, iterations);
    printf("   in   out size  k  layout   residual    median   minimum  implementation\n");
    for (int i = 0; i < count; i++) {
        const geometry *g = &geometries[i];
        if (winograd) {
            time_convolution(batch, iterations, g, dnnl_nhwc, "nhwc", 0, dnnl_convolution_direct);
            time_convolution(batch, iterations, g, dnnl_nChw16c, "winograd", 0, dnnl_convolution_winograd);
            time_reorder(batch, iterations, g, g->in_channels, dnnl_nhwc, dnnl_nChw16c, "x in");
            time_reorder(batch, iterations, g, g->out_channels, dnnl_nChw16c, dnnl_nhwc, "y out");
            continue;
        }
        for (int residual = 0; residual < 2; residual++) {
            time_convolution(batch, iterations, g, dnnl_nhwc, "nhwc", residual, dnnl_convolution_direct);
            time_convolution(batch, iterations, g, dnnl_nChw16c, "nChw16c", residual, dnnl_convolution_direct);
        }
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
