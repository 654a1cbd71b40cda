# Compiler launcher, warnings, sanitizers and the helper that declares one library per module.

find_program(PARLEY_CCACHE ccache)
if(PARLEY_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER ${PARLEY_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${PARLEY_CCACHE})
endif()

# Warnings apply to our own targets only (third-party headers are included as SYSTEM).
add_library(parley_warnings INTERFACE)
target_compile_options(parley_warnings INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers)

if(PARLEY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# libFuzzer builds (scripts/fuzz, build-fuzz/): coverage instrumentation and ASan/UBSan on every
# target, so the fuzzer sees inside the libraries; only the fuzz targets link libFuzzer's main
# (-fsanitize=fuzzer, set in tests/fuzz/CMakeLists.txt).
if(PARLEY_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PARLEY_FUZZ=ON needs clang: configure with CC=clang-14 CXX=clang++-14 (see scripts/fuzz)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# parley_module(NAME name SOURCES ... DEPS ... [PRIVATE_DEPS ...])
# Declares the static library `parley_<name>` for src/<name>; headers are included as "<name>/x.h".
function(parley_module)
  cmake_parse_arguments(M "" "NAME" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(parley_${M_NAME} STATIC ${M_SOURCES})
  target_include_directories(parley_${M_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(parley_${M_NAME} PUBLIC ${M_DEPS} PRIVATE parley_warnings ${M_PRIVATE_DEPS})
endfunction()

# parley_test(NAME name SOURCES ... DEPS ...): a GoogleTest executable registered with CTest.
function(parley_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main parley_warnings)
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  gtest_discover_tests(${T_NAME}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES ENVIRONMENT "PARLEY_SHARED_DIR=${PARLEY_SHARED_DIR};PARLEY_BIN=${CMAKE_BINARY_DIR}/bin/parley"
               LABELS "${T_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
