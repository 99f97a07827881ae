/* Device memory the CUDA backend takes, counted: what this process holds
 * on CUDA devices through illume and the most it has held at once (the
 * device memory peak `illume bench` reports). cudaFree does not say how much
 * it frees, so the sizes stay in a table of the live allocations, shared by
 * every backend of the process under one lock. */
#include <pthread.h>
#include <stdlib.h>

#include "context.h"
#include "cuda_backend.h"
#include "cuda_private.h"

typedef struct allocation {
    void *memory;
    size_t bytes;
    int device; /* freed with it current */
} allocation;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static allocation *live;
static size_t live_count, live_capacity, held_bytes, peak_bytes;

/* Records memory in the table; 0 when the table cannot grow. */
static int record(void *memory, size_t bytes, int device) {
    if (live_count == live_capacity) {
        size_t capacity = live_capacity ? 2 * live_capacity : 64;
        allocation *grown = realloc(live, sizeof *grown * capacity);
        if (!grown) return 0;
        live = grown;
        live_capacity = capacity;
    }
    live[live_count++] = (allocation){memory, bytes, device};
    held_bytes += bytes;
    if (held_bytes > peak_bytes) peak_bytes = held_bytes;
    return 1;
}

illume_status cuda_memory_allocate(backend *self, size_t bytes, void **memory, const char *what) {
    *memory = NULL;
    void *taken = NULL;
    int device = ((cuda_backend *)self)->device;
    ILLUME_TRY(cuda_check(self, cudaSetDevice(device), "cudaSetDevice"));
    ILLUME_TRY(cuda_check(self, cudaMalloc(&taken, bytes ? bytes : 1), what));
    pthread_mutex_lock(&lock);
    int recorded = record(taken, bytes, device);
    pthread_mutex_unlock(&lock);
    if (!recorded) {
        cudaFree(taken);
        return illume_fail(self->context, ILLUME_ERROR_OUT_OF_MEMORY, "out of host memory in %s", what);
    }
    *memory = taken;
    return ILLUME_OK;
}

void cuda_memory_free(void *memory) {
    if (!memory) return;
    int device = -1;
    pthread_mutex_lock(&lock);
    for (size_t k = live_count; k-- > 0;)
        if (live[k].memory == memory) {
            held_bytes -= live[k].bytes;
            device = live[k].device;
            live[k] = live[--live_count];
            break;
        }
    if (!live_count) {
        free(live);
        live = NULL;
        live_capacity = 0;
    }
    pthread_mutex_unlock(&lock);
    if (device >= 0) cudaSetDevice(device);
    cudaFree(memory);
}

size_t cuda_memory_peak(void) {
    pthread_mutex_lock(&lock);
    size_t peak = peak_bytes;
    pthread_mutex_unlock(&lock);
    return peak;
}
