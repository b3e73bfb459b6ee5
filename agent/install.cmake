# Installs the library with a CMake package (find_package(leakwatch CONFIG) gives
# leakwatch::leakwatch) and a pkg-config file (leakwatch.pc).
include(CMakePackageConfigHelpers)

install(TARGETS leakwatch EXPORT leakwatchTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${LEAKWATCH_INCLUDE_DIR}/leakwatch DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
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

configure_file(${CMAKE_CURRENT_SOURCE_DIR}/leakwatch.pc.in ${CMAKE_CURRENT_BINARY_DIR}/leakwatch.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/leakwatch.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
