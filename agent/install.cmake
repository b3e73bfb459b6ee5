# Installs the library with a CMake package (find_package(leakwatch CONFIG) gives
# leakwatch::leakwatch and leakwatch::intercept), a pkg-config file
# (leakwatch.pc) and libleakwatch_preload.so, and makes static links fail with a
# clear message (below).
include(CMakePackageConfigHelpers)

# Static linking is refused ---------------------------------------------------
# leakwatch needs prometheus-cpp and civetweb, which Debian ships as shared
# libraries only, so no static leakwatch can exist. Under -static the linker
# looks for lib<name>.a only: for each of our libraries that name is a GNU ld
# implicit linker script (bfd, gold and lld all read it) whose INPUT is a file
# named by the message. The linker fails at once on that input, before any other
# error of the link, printing "cannot find <message>". A dynamic link finds
# lib<name>.so first and never reads the script.
set(LEAKWATCH_STATIC_LINK_MESSAGE
  "leakwatch: static linking is not supported (prometheus-cpp and civetweb are shared-only); link dynamically or use LD_PRELOAD=libleakwatch_preload.so")
set(_leakwatch_static_script
  "/* leakwatch is available as shared libraries only: a static link stops here. */\nINPUT(\"${LEAKWATCH_STATIC_LINK_MESSAGE}\")\n")
set(_leakwatch_static_dir ${CMAKE_CURRENT_BINARY_DIR}/static-link-refusal)
foreach(_lib leakwatch leakwatch_intercept leakwatch_preload)
  if(NOT TARGET ${_lib})
    continue()
  endif()
  # Build tree: beside the shared library, for -L<build dir> -l${_lib}.
  file(GENERATE OUTPUT $<TARGET_LINKER_FILE_DIR:${_lib}>/lib${_lib}.a
       CONTENT "${_leakwatch_static_script}")
  file(WRITE ${_leakwatch_static_dir}/lib${_lib}.a "${_leakwatch_static_script}")
  install(FILES ${_leakwatch_static_dir}/lib${_lib}.a DESTINATION ${CMAKE_INSTALL_LIBDIR})
endforeach()
# CMake consumers link the installed library by its full path, and a static
# link would then fail on "attempted static link of dynamic object" first. The
# imported target also passes -lleakwatch as a link option, which comes before
# the objects: it names the shared library again in a dynamic link (harmless)
# and the script above in a static one.
target_link_options(leakwatch INTERFACE $<INSTALL_INTERFACE:-lleakwatch>)
target_link_directories(leakwatch INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_LIBDIR}>)

# Libraries, headers, package ---------------------------------------------------
install(TARGETS leakwatch EXPORT leakwatchTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET leakwatch_intercept)
  install(TARGETS leakwatch_intercept EXPORT leakwatchTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
if(TARGET leakwatch_preload)
  install(TARGETS leakwatch_preload leakwatch_preload_agent
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
install(DIRECTORY ${LEAKWATCH_INCLUDE_DIR}/leakwatch DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# leakwatch::testing and leakwatch::testing_main (leakwatch/testing.h): static
# libraries in an export set of their own, so that the package needs GoogleTest
# only to offer them (see leakwatch-config.cmake.in).
if(TARGET leakwatch_testing)
  install(TARGETS leakwatch_testing leakwatch_testing_main EXPORT leakwatchTestingTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT leakwatchTestingTargets NAMESPACE leakwatch::
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/leakwatch)
endif()
# leakwatch::grpc (leakwatch/grpc.h): in an export set of its own, so that the
# package needs gRPC only to offer it; the proto for clients of the
# introspection API beside it.
if(TARGET leakwatch_grpc)
  install(TARGETS leakwatch_grpc EXPORT leakwatchGrpcTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT leakwatchGrpcTargets NAMESPACE leakwatch::
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/leakwatch)
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/rpc/leakwatch.proto
    DESTINATION ${CMAKE_INSTALL_DATADIR}/leakwatch)
endif()
install(EXPORT leakwatchTargets NAMESPACE leakwatch::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/leakwatch)

configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/leakwatch-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/leakwatch-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/leakwatch)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/leakwatch-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/leakwatch-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/leakwatch-config-version.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/leakwatch)

# leakwatch.pc finds the prefix from its own place (relocatable like the CMake package).
file(RELATIVE_PATH LEAKWATCH_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/leakwatch.pc.in ${CMAKE_CURRENT_BINARY_DIR}/leakwatch.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/leakwatch.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
