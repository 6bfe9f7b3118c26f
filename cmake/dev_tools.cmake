# Developer tools, off by default (included by the top-level CMakeLists.txt).
#
#   -DCONVSIM_SANITIZE=ON  AddressSanitizer + UndefinedBehaviorSanitizer on convsim_core,
#                          convsim and convsim_tests (tools/test-sanitize, build-asan/).
#   -DCONVSIM_FUZZ=ON      clang only: the libFuzzer target convsim_fuzz_loader, which
#                          feeds arbitrary bytes to the scenario loader, then runs
#                          what it accepts, bounded, in a child (tools/fuzz,
#                          build-fuzz/). convsim_core is then instrumented for coverage
#                          and built with ASan + UBSan too.

option(CONVSIM_SANITIZE "Build convsim_core, convsim and convsim_tests with ASan and UBSan" OFF)
option(CONVSIM_FUZZ "Build the libFuzzer target convsim_fuzz_loader (clang only)" OFF)

if(CONVSIM_SANITIZE)
  # float-cast-overflow: a double outside an integer's range converted to it (not in
  # GCC's -fsanitize=undefined); signed integer overflow is.
  set(convsim_sanitize_flags -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer)
  foreach(target convsim_core convsim convsim_tests)
    target_compile_options(${target} PRIVATE ${convsim_sanitize_flags})
    target_link_options(${target} PRIVATE ${convsim_sanitize_flags})
  endforeach()
endif()

if(CONVSIM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CONVSIM_FUZZ needs clang (libFuzzer): configure with CXX=clang++ "
                        "(found ${CMAKE_CXX_COMPILER_ID}); tools/fuzz does it")
  endif()
  # The library gets coverage instrumentation without libFuzzer's main; whatever links
  # it (the fuzzer, and convsim and convsim_tests if built here) needs the sanitizer
  # runtimes, hence the INTERFACE link options.
  target_compile_options(convsim_core PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(convsim_core INTERFACE -fsanitize=address,undefined)

  add_executable(convsim_fuzz_loader fuzz/scenario_loader_fuzzer.cpp)
  target_compile_options(convsim_fuzz_loader PRIVATE ${CONVSIM_WARNINGS}
                         -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  target_link_options(convsim_fuzz_loader PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(convsim_fuzz_loader PRIVATE convsim_core)
endif()
