# Run by ctest with cmake -P (see CMakeLists.txt): installs BUILD_DIR into a
# fresh prefix under WORK_DIR and runs what was installed there without
# LD_LIBRARY_PATH.

cmake_policy(VERSION 3.20)

function(fail text)
  message(FATAL_ERROR "${text}")
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${prefix})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT result EQUAL 0)
  fail("cmake --install ${BUILD_DIR} --prefix ${prefix} failed:\n${out}")
endif()

# The environment of every run: no LD_LIBRARY_PATH, no preload, no config.
set(clean_env -E env --unset=LD_LIBRARY_PATH --unset=LD_PRELOAD --unset=LEAKWATCH_CONFIG
    --unset=LEAKWATCH_START --unset=LEAKWATCH_PROCESSES)

# Every installed program answers --help: its flags on stdout or stderr, exit 0,
# never the loader's "cannot open shared object file" (exit 127).
file(GLOB programs ${prefix}/${BINDIR}/*)
set(names "")
foreach(program ${programs})
  get_filename_component(name ${program} NAME)
  list(APPEND names ${name})
  execute_process(COMMAND ${CMAKE_COMMAND} ${clean_env} ${program} --help
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0 OR "${out}${err}" MATCHES "error while loading shared libraries")
    fail("${name} --help from ${prefix} exited with ${result}:\n${out}${err}")
  endif()
  string(FIND "${out}${err}" "--" has_flags)
  if(has_flags EQUAL -1)
    fail("${name} --help printed no flags:\n${out}${err}")
  endif()
  message(STATUS "${name} --help: runs from the prefix")
endforeach()
foreach(expected leakwatch-trend leakwatch-demo)
  if(NOT expected IN_LIST names)
    fail("${expected} is not installed in ${prefix}/${BINDIR} (found: ${names})")
  endif()
endforeach()

# A preloaded true, its agent started at load from the installed
# libleakwatch_preload_agent.so: anything it could not load or start is said on
# stderr, which must stay empty.
set(preload ${prefix}/${LIBDIR}/libleakwatch_preload.so)
foreach(lib ${preload} ${prefix}/${LIBDIR}/libleakwatch_preload_agent.so)
  if(NOT EXISTS ${lib})
    fail("${lib} is not installed")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} ${clean_env} LD_PRELOAD=${preload} LEAKWATCH_START=load
                        LEAKWATCH_CONFIG=${CONFIG} true
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
  fail("LD_PRELOAD=${preload} true exited with ${result}:\n${out}${err}")
endif()
message(STATUS "LD_PRELOAD=${preload} true: the installed agent starts, exit 0, nothing printed")
