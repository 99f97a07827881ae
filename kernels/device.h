/* Lets the per-element math headers compile as C, as host C++ and as CUDA. */
#ifndef ILLUME_KERNELS_DEVICE_H
#define ILLUME_KERNELS_DEVICE_H

#if defined(__CUDACC__)
#define ILLUME_INLINE static inline __host__ __device__
#else
#define ILLUME_INLINE static inline
#endif

#endif
