#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dataset.h"
#include "image.h"

int dataset_is_folder_or_glob(const char *input) { return is_directory(input) || strpbrk(input, "*?[") != NULL; }

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int dataset_list(const char *pattern, char ***files, int *count) {
    char buffer[4096];
    if (is_directory(pattern)) snprintf(buffer, sizeof buffer, "%s/*", pattern);
    else snprintf(buffer, sizeof buffer, "%s", pattern);
    glob_t found;
    if (glob(buffer, 0, NULL, &found) != 0) {
        *count = 0;
        *files = NULL;
        return 0;
    }
    *files = calloc(found.gl_pathc + 1, sizeof(char *));
    *count = 0;
    for (size_t k = 0; *files && k < found.gl_pathc; k++)
        if (!is_directory(found.gl_pathv[k]) && image_is_image(found.gl_pathv[k]))
            (*files)[(*count)++] = strdup(found.gl_pathv[k]);
    globfree(&found);
    if (!*files) return -1;
    qsort(*files, (size_t)*count, sizeof(char *), compare_strings);
    return 0;
}

void dataset_free(char **files, int count) {
    for (int f = 0; f < count; f++) free(files[f]);
    free(files);
}

static void *decode_chunk(void *argument) {
    dataset_chunk *c = argument;
    c->status = input_load(c->files, c->count, c->input_info, c->preprocessing, &c->inputs, c->error,
                           sizeof c->error);
    return NULL;
}

void dataset_chunk_start_decoding(dataset_chunk *c) {
    c->decoding = pthread_create(&c->thread, NULL, decode_chunk, c) == 0;
    if (!c->decoding) decode_chunk(c);
}

illume_status dataset_chunk_finish_decoding(dataset_chunk *c) {
    if (c->decoding) pthread_join(c->thread, NULL);
    c->decoding = 0;
    return c->status;
}
