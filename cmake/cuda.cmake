# The CUDA backend (runtime/cuda/): ILLUME_CUDA=AUTO builds it when nvcc, the
# CUDA runtime and cuDNN are found, ON fails without them, OFF leaves it
# out. Targets sm_80 and sm_90; warnings are errors under ILLUME_WERROR.
set(ILLUME_CUDA AUTO CACHE STRING "Build the CUDA backend: AUTO (when nvcc and cuDNN are found), ON, OFF")
set_property(CACHE ILLUME_CUDA PROPERTY STRINGS AUTO ON OFF)
set(ILLUME_HAVE_CUDA OFF)
# The fuzzing build (clang, libFuzzer) is for the model loader: no CUDA there.
if(NOT ILLUME_CUDA STREQUAL "OFF" AND NOT ILLUME_FUZZ)
  include(CheckLanguage)
  check_language(CUDA)
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND)
    find_library(CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR})
    find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  endif()
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND AND CUDNN_LIBRARY AND CUDNN_INCLUDE_DIR)
    set(ILLUME_HAVE_CUDA ON)
  elseif(ILLUME_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ILLUME_CUDA=ON needs nvcc (the CUDA toolkit) and cuDNN 9; found: nvcc '${CMAKE_CUDA_COMPILER}', "
                        "toolkit ${CUDAToolkit_FOUND}, cuDNN '${CUDNN_LIBRARY}'. Configure with -DILLUME_CUDA=OFF "
                        "to build without the CUDA backend.")
  endif()
endif()
message(STATUS "illume: CUDA backend ${ILLUME_HAVE_CUDA} (ILLUME_CUDA=${ILLUME_CUDA})")

if(ILLUME_HAVE_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 90)
  endif()
  enable_language(CUDA)
  set(ILLUME_CUDA_SOURCES runtime/cuda/cuda_backend.c runtime/cuda/convolution.c runtime/cuda/matmul.c
                          runtime/cuda/memory.c runtime/cuda/convolution_geometry.c runtime/cuda/matmul_plan.c
                          runtime/cuda/elementwise.cu
                          runtime/cuda/batchnorm.cu runtime/cuda/lrn.cu
                          runtime/cuda/pad.cu runtime/cuda/resize.cu
                          runtime/cuda/pooling.cu runtime/cuda/reduce.cu runtime/cuda/noise.cu
                          runtime/cuda/class_activation.cu)
  add_library(illume_cuda_objects OBJECT ${ILLUME_CUDA_SOURCES})
  set_target_properties(illume_cuda_objects PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(illume_cuda_objects PRIVATE ${ILLUME_INTERNAL_INCLUDES} ${CMAKE_CURRENT_SOURCE_DIR}/runtime/cuda
                                                         ${CUDAToolkit_INCLUDE_DIRS} ${CUDNN_INCLUDE_DIR})
  set(ILLUME_CUDA_WARNINGS $<$<COMPILE_LANGUAGE:C>:${ILLUME_WARNINGS}>
                           $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
  if(ILLUME_WERROR)
    list(APPEND ILLUME_CUDA_WARNINGS $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Werror>)
  endif()
  target_compile_options(illume_cuda_objects PRIVATE ${ILLUME_CUDA_WARNINGS})
  set(ILLUME_CUDA_LINK_LIBRARIES CUDA::cudart CUDA::cublas ${CUDNN_LIBRARY})
endif()
