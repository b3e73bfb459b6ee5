# Run by ctest with cmake -P (see CMakeLists.txt). MODE selects the check
# (MESSAGE, below, is the text every refused static link must print):
#   refuse    -static links with -l<each leakwatch library> fail with MESSAGE (LINKER)
#   dynamic   the same links without -static succeed and the program runs
#   consumer  an installed leakwatch used through find_package: a dynamic build
#             runs, a -static build fails with MESSAGE; and through pkg-config
#   preload   PROGRAM (static) prints and exits the same with LD_PRELOAD=PRELOAD

cmake_policy(VERSION 3.20)

# The message of agent/install.cmake, word for word (it holds a ';': never let
# it pass through a list).
set(MESSAGE "leakwatch: static linking is not supported (prometheus-cpp and civetweb are shared-only); link dynamically or use LD_PRELOAD=libleakwatch_preload.so")

function(fail text)
  message(FATAL_ERROR "${text}")
endfunction()

function(expect_refused what output result)
  if(result EQUAL 0)
    fail("${what}: the static link succeeded; it must fail with:\n  ${MESSAGE}")
  endif()
  string(FIND "${output}" "${MESSAGE}" at)
  if(at EQUAL -1)
    fail("${what}: the link failed, but its output lacks the message\n  ${MESSAGE}\noutput:\n${output}")
  endif()
  message(STATUS "${what}: refused with the message")
endfunction()

# Runs `program`; its output is left in `out` (in the caller's scope). Fails
# naming `what` when it exits with other than 0.
macro(run_consumer program what)
  execute_process(COMMAND ${program} RESULT_VARIABLE result OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  if(NOT result EQUAL 0)
    fail("${what} exited with ${result}:\n${out}")
  endif()
endmacro()

file(MAKE_DIRECTORY ${WORK_DIR})
set(libs "leakwatch;${LEAKWATCH_DIR}" "leakwatch_intercept;${INTERCEPT_DIR}"
         "leakwatch_preload;${INTERCEPT_DIR}")

if(MODE STREQUAL "refuse")
  foreach(i RANGE 0 4 2)
    list(GET libs ${i} lib)
    math(EXPR j "${i} + 1")
    list(GET libs ${j} dir)
    execute_process(
      COMMAND ${CC} -static -fuse-ld=${LINKER} ${SOURCE_DIR}/tiny_main.c -L${dir} -l${lib}
              -o ${WORK_DIR}/tiny_static_${LINKER}
      RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
    expect_refused("ld.${LINKER} -static -l${lib}" "${out}" "${result}")
  endforeach()

elseif(MODE STREQUAL "dynamic")
  foreach(i RANGE 0 4 2)
    list(GET libs ${i} lib)
    math(EXPR j "${i} + 1")
    list(GET libs ${j} dir)
    set(exe ${WORK_DIR}/tiny_dynamic_${lib})
    execute_process(
      COMMAND ${CC} ${SOURCE_DIR}/tiny_main.c -L${dir} -l${lib} -Wl,--no-as-needed
              -Wl,-rpath,${LEAKWATCH_DIR}:${INTERCEPT_DIR} -o ${exe}
      RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT result EQUAL 0)
      fail("dynamic link with -l${lib} failed:\n${out}")
    endif()
    execute_process(COMMAND ${exe} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT result EQUAL 0)
      fail("${exe} (linked with -l${lib}) exited with ${result}:\n${out}")
    endif()
    message(STATUS "dynamic link with -l${lib}: links and runs")
  endforeach()

elseif(MODE STREQUAL "consumer")
  # Installs only the agent directory's rules (the library package), not the tools.
  set(prefix ${WORK_DIR}/prefix)
  file(REMOVE_RECURSE ${prefix})
  execute_process(
    COMMAND ${CMAKE_EXE} -DCMAKE_INSTALL_PREFIX=${prefix} -DCMAKE_INSTALL_LOCAL_ONLY=ON
            -P ${AGENT_BINARY_DIR}/cmake_install.cmake
    RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL 0)
    fail("installing leakwatch into ${prefix} failed:\n${out}")
  endif()
  foreach(kind dynamic static)
    set(build ${WORK_DIR}/consumer-${kind})
    file(REMOVE_RECURSE ${build})
    set(static OFF)
    if(kind STREQUAL "static")
      set(static ON)
    endif()
    execute_process(
      COMMAND ${CMAKE_EXE} -S ${SOURCE_DIR}/consumer -B ${build} -DCMAKE_PREFIX_PATH=${prefix}
              -DCMAKE_CXX_COMPILER=${CXX} -DCONSUMER_STATIC=${static}
              -DEXPECT_TESTING=${EXPECT_TESTING} -DEXPECT_GRPC=${EXPECT_GRPC}
      RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT result EQUAL 0)
      fail("configuring the ${kind} consumer failed:\n${out}")
    endif()
    execute_process(COMMAND ${CMAKE_EXE} --build ${build}
                    RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(kind STREQUAL "dynamic")
      if(NOT result EQUAL 0)
        fail("building the dynamic consumer failed:\n${out}")
      endif()
      run_consumer(${build}/consumer "the dynamic consumer")
      message(STATUS "dynamic consumer: builds and runs (${out})")
      if(EXPECT_TESTING)
        run_consumer(${build}/consumer_leak_check "the consumer's leak-checked test")
        message(STATUS "leakwatch::testing_main from the package: the test passes its leak check")
      endif()
      if(EXPECT_GRPC)
        run_consumer(${build}/consumer_grpc "the consumer linking leakwatch::grpc")
        message(STATUS "leakwatch::grpc from the package: ${out}")
      endif()
    else()
      expect_refused("CMake consumer with -static" "${out}" "${result}")
    endif()
  endforeach()

  # A pkg-config consumer of the same prefix: leakwatch.pc finds the prefix
  # from its own place, so it names the prefix's directories wherever it is.
  set(ENV{PKG_CONFIG_PATH} ${prefix}/${LIBDIR}/pkgconfig)
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs leakwatch
                  RESULT_VARIABLE result OUTPUT_VARIABLE flags ERROR_VARIABLE err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT result EQUAL 0)
    fail("pkg-config --cflags --libs leakwatch (PKG_CONFIG_PATH=$ENV{PKG_CONFIG_PATH}) failed:\n${err}")
  endif()
  string(REGEX MATCH "-L([^ ]+)" libdir_flag "${flags}")
  get_filename_component(named_libdir "${CMAKE_MATCH_1}" REALPATH)
  get_filename_component(prefix_libdir "${prefix}/${LIBDIR}" REALPATH)
  if(NOT named_libdir STREQUAL prefix_libdir)
    fail("pkg-config's -L is not ${prefix_libdir}: ${flags}")
  endif()
  separate_arguments(flag_list UNIX_COMMAND "${flags}")
  set(exe ${WORK_DIR}/consumer-pkg-config)
  execute_process(COMMAND ${CXX} ${SOURCE_DIR}/consumer/main.cc ${flag_list}
                          -Wl,-rpath,${prefix}/${LIBDIR} -o ${exe}
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL 0)
    fail("building with pkg-config's flags (${flags}) failed:\n${out}")
  endif()
  execute_process(COMMAND ${CMAKE_EXE} -E env --unset=LD_LIBRARY_PATH ${exe}
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL 0)
    fail("the pkg-config consumer exited with ${result}:\n${out}")
  endif()
  message(STATUS "pkg-config consumer: builds and runs (${out})")

elseif(MODE STREQUAL "preload")
  execute_process(COMMAND ${PROGRAM} RESULT_VARIABLE plain_result OUTPUT_VARIABLE plain_out
                  ERROR_VARIABLE plain_err)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_PRELOAD=${PRELOAD} ${PROGRAM}
                  RESULT_VARIABLE preload_result OUTPUT_VARIABLE preload_out
                  ERROR_VARIABLE preload_err)
  string(FIND "${plain_out}" "linked statically: yes" at)
  if(at EQUAL -1)
    fail("${PROGRAM} is not a static program (output: ${plain_out}): the test proves nothing")
  endif()
  if(NOT plain_result EQUAL 3)
    fail("${PROGRAM} exited with ${plain_result} without the preload library, want 3")
  endif()
  if(NOT "${preload_result}" STREQUAL "${plain_result}" OR NOT "${preload_out}" STREQUAL "${plain_out}"
     OR NOT "${preload_err}" STREQUAL "${plain_err}")
    fail("under LD_PRELOAD=${PRELOAD} the static program changed: exit ${plain_result} -> ${preload_result}\nstdout:\n${plain_out}->\n${preload_out}stderr:\n${plain_err}->\n${preload_err}")
  endif()
  message(STATUS "same exit code (${plain_result}), stdout and stderr under the preload library")

else()
  fail("unknown MODE '${MODE}'")
endif()
