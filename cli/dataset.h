/* A dataset for illume explain: the images a folder or a glob names, and
 * their decoding, a chunk at a time, on a thread of its own. */
#ifndef ILLUME_CLI_DATASET_H
#define ILLUME_CLI_DATASET_H

#include <pthread.h>

#include "illume.h"
#include "input.h"

/* True when input is a folder or a glob (it has *, ? or [): a dataset, not one file. */
int dataset_is_folder_or_glob(const char *input);

/* The images of a dataset: a folder's PNG and JPEG files, or a glob's
 * matches, sorted (files and each name malloc'd; none when nothing matches).
 * -1 when out of memory. */
int dataset_list(const char *pattern, char ***files, int *count);
void dataset_free(char **files, int count);

/* Images a dataset run explains at once: four of the explainer's largest
 * batches (32 rows), so that within a chunk each batch's rows upload and
 * its results download while another batch computes (explain/explainer.c). */
#define CHUNK_IMAGES 128

/* A chunk of the dataset, decoded on a thread of its own while the chunk
 * before it is explained, so that decoding (on the host) and explaining (on
 * the device, or the other cores) overlap. */
typedef struct dataset_chunk {
    char *files[CHUNK_IMAGES];
    int count;
    const illume_value_info *input_info;
    const input_options *preprocessing;
    illume_tensor inputs;
    illume_status status;
    char error[1024];
    pthread_t thread;
    int decoding; /* the thread runs and must be joined */
} dataset_chunk;

/* Starts decoding the chunk's files into c->inputs; decodes them here when
 * no thread can be made. */
void dataset_chunk_start_decoding(dataset_chunk *c);
/* Waits for the decoding; its status (the message in c->error). */
illume_status dataset_chunk_finish_decoding(dataset_chunk *c);

#endif
