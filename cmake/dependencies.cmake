# Finds the system packages illume builds on and fails early, naming the
# Debian package to install, when one is missing.

find_program(PROTOC_C NAMES protoc-c protoc-gen-c)
if(NOT PROTOC_C)
  message(FATAL_ERROR "protoc-c not found: install the Debian package protobuf-c-compiler")
endif()

find_path(PROTOBUF_C_INCLUDE_DIR protobuf-c/protobuf-c.h)
find_library(PROTOBUF_C_LIBRARY protobuf-c)
if(NOT PROTOBUF_C_INCLUDE_DIR OR NOT PROTOBUF_C_LIBRARY)
  message(FATAL_ERROR "protobuf-c not found: install the Debian package libprotobuf-c-dev")
endif()

set(ILLUME_ONNX_PROTO /usr/include/onnx/onnx.proto CACHE FILEPATH "The ONNX schema (onnx.proto)")
if(NOT EXISTS ${ILLUME_ONNX_PROTO})
  message(FATAL_ERROR "The ONNX schema ${ILLUME_ONNX_PROTO} is missing: install the Debian package libonnx-dev "
                      "or set ILLUME_ONNX_PROTO")
endif()

find_path(DNNL_INCLUDE_DIR dnnl.h PATH_SUFFIXES oneapi/dnnl)
find_library(DNNL_LIBRARY dnnl)
if(NOT DNNL_INCLUDE_DIR OR NOT DNNL_LIBRARY)
  message(FATAL_ERROR "oneDNN not found: install the Debian package libdnnl-dev")
endif()

find_package(OpenMP)
if(NOT OpenMP_C_FOUND)
  message(FATAL_ERROR "OpenMP not found: install gcc (libgomp) or, for clang, libomp-dev")
endif()

find_package(PNG)
if(NOT PNG_FOUND)
  message(FATAL_ERROR "libpng not found: install the Debian package libpng-dev")
endif()
find_package(JPEG)
if(NOT JPEG_FOUND)
  message(FATAL_ERROR "libjpeg not found: install the Debian package libjpeg-dev")
endif()
