#include "image.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

/* Images larger than this many pixels are refused rather than decoded. */
#define IMAGE_PIXEL_LIMIT (1 << 28)

typedef enum { FORMAT_UNKNOWN, FORMAT_PNG, FORMAT_JPEG } image_format;

static image_format sniff(FILE *file) {
    unsigned char signature[8];
    size_t got = fread(signature, 1, sizeof signature, file);
    rewind(file);
    if (got >= 8 && png_sig_cmp(signature, 0, 8) == 0) return FORMAT_PNG;
    if (got >= 3 && signature[0] == 0xff && signature[1] == 0xd8 && signature[2] == 0xff) return FORMAT_JPEG;
    return FORMAT_UNKNOWN;
}

int image_is_image(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) return 0;
    image_format format = sniff(file);
    fclose(file);
    return format != FORMAT_UNKNOWN;
}

/* libpng's own handlers print to stderr; these keep the reason for the message instead. */
static void png_fail(png_structp png, png_const_charp message) {
    char *reason = png_get_error_ptr(png);
    snprintf(reason, 128, "%s", message);
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static int load_png(FILE *file, const char *path, image *result, char *error, size_t size) {
    char reason[128] = "unknown error";
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, reason, png_fail, png_quiet);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        snprintf(error, size, "%s: out of memory", path);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        snprintf(error, size, "%s: corrupt or truncated PNG (%s)", path, reason);
        return -1;
    }
    png_set_user_limits(png, 1 << 16, 1 << 16);
    png_init_io(png, file);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int color = png_get_color_type(png, info);
    if ((uint64_t)width * height > IMAGE_PIXEL_LIMIT) png_error(png, "too large");
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_packing(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_read_update_info(png, info);
    size_t stride = png_get_rowbytes(png, info);
    if (stride != (size_t)width * 3) png_error(png, "unexpected pixel layout");
    pixels = malloc(stride * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    result->width = (int)width;
    result->height = (int)height;
    result->channels = 3;
    result->pixels = pixels;
    return 0;
}

typedef struct jpeg_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int lost_data; /* a warning said pixels were lost and filled in by the decoder */
} jpeg_error;

static void jpeg_fail(j_common_ptr cinfo) {
    jpeg_error *error = (jpeg_error *)cinfo->err;
    error->base.format_message(cinfo, error->message);
    longjmp(error->jump, 1);
}

/* Warnings that mean the decoder made up pixels (a truncated or damaged scan)
 * make the image corrupt; the rest are harmless and stay quiet. */
static void jpeg_quiet(j_common_ptr cinfo, int level) {
    jpeg_error *error = (jpeg_error *)cinfo->err;
    int code = error->base.msg_code;
    if (level < 0 && !error->lost_data &&
        (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
         code == JWRN_ARITH_BAD_CODE || code == JWRN_MUST_RESYNC)) {
        error->base.format_message(cinfo, error->message);
        error->lost_data = 1;
    }
}

static int load_jpeg(FILE *file, const char *path, image *result, char *error, size_t size) {
    struct jpeg_decompress_struct cinfo;
    jpeg_error jerr;
    unsigned char *volatile pixels = NULL;
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = jpeg_fail;
    jerr.base.emit_message = jpeg_quiet;
    jerr.lost_data = 0;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        snprintf(error, size, "%s: corrupt JPEG (%s)", path, jerr.message);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, file);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if ((uint64_t)cinfo.output_width * cinfo.output_height > IMAGE_PIXEL_LIMIT || cinfo.output_components != 3) {
        snprintf(jerr.message, sizeof jerr.message, "unsupported size or colour layout");
        longjmp(jerr.jump, 1);
    }
    size_t stride = (size_t)cinfo.output_width * 3;
    pixels = malloc(stride * cinfo.output_height);
    if (!pixels) {
        snprintf(jerr.message, sizeof jerr.message, "out of memory");
        longjmp(jerr.jump, 1);
    }
    /* Stops at the first row the decoder made up: a header alone can claim 2^28 pixels to decode. */
    while (cinfo.output_scanline < cinfo.output_height && !jerr.lost_data) {
        JSAMPROW row = pixels + cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    if (jerr.lost_data) longjmp(jerr.jump, 1);
    result->width = (int)cinfo.output_width;
    result->height = (int)cinfo.output_height;
    result->channels = 3;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    result->pixels = pixels;
    return 0;
}

int image_load(const char *path, image *result, char *error, size_t size) {
    memset(result, 0, sizeof *result);
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(error, size, "cannot open '%s': %s", path, strerror(errno));
        return IMAGE_UNREADABLE;
    }
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        snprintf(error, size, "'%s' is not a regular file", path);
        return IMAGE_UNREADABLE;
    }
    int status;
    switch (sniff(file)) {
    case FORMAT_PNG: status = load_png(file, path, result, error, size); break;
    case FORMAT_JPEG: status = load_jpeg(file, path, result, error, size); break;
    default:
        snprintf(error, size, "%s: not a PNG or JPEG image", path);
        status = -1;
    }
    fclose(file);
    if (status == 0 && (result->width <= 0 || result->height <= 0)) {
        image_free(result);
        snprintf(error, size, "%s: empty image", path);
        status = -1;
    }
    return status ? IMAGE_CORRUPT : 0;
}

void image_free(image *img) {
    free(img->pixels);
    img->pixels = NULL;
}

/* Bilinear sample of channel c at (x, y) in source pixel coordinates, clamped at the borders. */
static float sample(const image *img, float x, float y, int c) {
    if (x < 0.0f) x = 0.0f;
    if (y < 0.0f) y = 0.0f;
    if (x > (float)(img->width - 1)) x = (float)(img->width - 1);
    if (y > (float)(img->height - 1)) y = (float)(img->height - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < img->width ? x0 + 1 : x0, y1 = y0 + 1 < img->height ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const unsigned char *p = img->pixels;
    int w = img->width, n = img->channels;
    float top = (1 - fx) * p[(y0 * w + x0) * n + c] + fx * p[(y0 * w + x1) * n + c];
    float bottom = (1 - fx) * p[(y1 * w + x0) * n + c] + fx * p[(y1 * w + x1) * n + c];
    return (1 - fy) * top + fy * bottom;
}

void image_to_tensor(const image *img, const preprocess *options, float *out) {
    int width = options->width, height = options->height, channels = options->channels;
    float scale_x = (float)img->width / (float)width, scale_y = (float)img->height / (float)height;
    for (int y = 0; y < height; y++) {
        float source_y = ((float)y + 0.5f) * scale_y - 0.5f;
        for (int x = 0; x < width; x++) {
            float source_x = ((float)x + 0.5f) * scale_x - 0.5f;
            float rgb[3];
            for (int c = 0; c < 3; c++) rgb[c] = sample(img, source_x, source_y, c) / 255.0f;
            for (int c = 0; c < channels; c++) {
                float value = channels == 1 ? 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2] : rgb[c];
                value = (value - options->mean[c]) / options->std[c];
                size_t index = options->channels_last ? ((size_t)y * width + x) * channels + c
                                                      : ((size_t)c * height + y) * width + x;
                out[index] = value;
            }
        }
    }
}

int image_save_png(const char *path, int width, int height, const unsigned char *rgb, char *error, size_t size) {
    FILE *file = fopen(path, "wb");
    if (!file) {
        snprintf(error, size, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
        fclose(file);
        snprintf(error, size, "cannot write PNG '%s'", path);
        return -1;
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(file) != 0) {
        snprintf(error, size, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
