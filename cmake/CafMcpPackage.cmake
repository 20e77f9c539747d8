# caf-mcp as a package (docs/package.md): install rules, the CMake package
# `find_package(caf_mcp)` and the CPack settings for `cpack -G DEB`.
# Included by the top-level CMakeLists.txt after every layer is defined.
#
# Install components:
#   runtime      bin/caf-mcp                                  -> caf-mcp.deb
#   development  static libraries, public headers, the CMake
#                package, the examples                        -> caf-mcp-dev.deb
#
# A new library layer that caf_mcp::actors (or another exported library)
# links must be added to CAF_MCP_PACKAGE_LIBRARIES, or generating the export
# fails ("requires target ... that is not in any export set").

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The exported libraries: target caf_mcp_<name> becomes caf_mcp::<name>.
set(CAF_MCP_PACKAGE_LIBRARIES messages transport actors cluster)
set(CAF_MCP_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/caf_mcp"
    CACHE STRING "Where the caf_mcp CMake package is installed (relative to the prefix)")

set(_caf_mcp_lib_targets "")
foreach(_lib IN LISTS CAF_MCP_PACKAGE_LIBRARIES)
  list(APPEND _caf_mcp_lib_targets caf_mcp_${_lib})
  set_target_properties(caf_mcp_${_lib} PROPERTIES EXPORT_NAME ${_lib})
  # The public headers: the whole include/caf_mcp/<layer>/ tree of the layer.
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${_lib}/include/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          COMPONENT development
          FILES_MATCHING PATTERN "*.hpp")
endforeach()

install(TARGETS ${_caf_mcp_lib_targets}
  EXPORT caf_mcp_targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(TARGETS caf-mcp
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# What the package config must find for the user: every CAF component and
# Boost library the exported libraries link (PUBLIC or PRIVATE: a static
# library passes both on), read from the targets so that a layer linking
# one more (e.g. CAF::openssl) needs no edit here.
set(_caf_mcp_caf_components "")
set(_caf_mcp_boost_components "")
foreach(_t IN LISTS _caf_mcp_lib_targets)
  get_target_property(_libs ${_t} LINK_LIBRARIES)
  foreach(_l IN LISTS _libs)
    if(_l MATCHES "^CAF::(.+)$")
      list(APPEND _caf_mcp_caf_components ${CMAKE_MATCH_1})
    elseif(_l MATCHES "^Boost::(.+)$" AND NOT _l STREQUAL "Boost::headers"
           AND NOT _l STREQUAL "Boost::boost")
      list(APPEND _caf_mcp_boost_components ${CMAKE_MATCH_1})
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES _caf_mcp_caf_components)
list(REMOVE_DUPLICATES _caf_mcp_boost_components)
list(JOIN _caf_mcp_caf_components " " CAF_MCP_CAF_COMPONENTS)
list(JOIN _caf_mcp_boost_components " " CAF_MCP_BOOST_COMPONENTS)
set(CAF_MCP_CAF_VERSION "${CAF_VERSION}")
set(CAF_MCP_BOOST_VERSION "${Boost_MAJOR_VERSION}.${Boost_MINOR_VERSION}")
string(REPLACE ";" " " CAF_MCP_PACKAGE_COMPONENTS "${CAF_MCP_PACKAGE_LIBRARIES}")

install(EXPORT caf_mcp_targets
  NAMESPACE caf_mcp::
  FILE caf_mcpTargets.cmake
  DESTINATION ${CAF_MCP_INSTALL_CMAKEDIR}
  COMPONENT development)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/caf_mcpConfig.cmake.in
  ${PROJECT_BINARY_DIR}/caf_mcpConfig.cmake
  INSTALL_DESTINATION ${CAF_MCP_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API, so only the same minor matches.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/caf_mcpConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
    ${PROJECT_BINARY_DIR}/caf_mcpConfig.cmake
    ${PROJECT_BINARY_DIR}/caf_mcpConfigVersion.cmake
    # Debian's libcaf-dev ships no CMake package: the config finds CAF with
    # the project's own Find module, installed beside it.
    ${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake
  DESTINATION ${CAF_MCP_INSTALL_CMAKEDIR}
  COMPONENT development)

# The example consumer (a CMake project of its own using find_package).
install(FILES
    ${PROJECT_SOURCE_DIR}/app/examples/CMakeLists.txt
    ${PROJECT_SOURCE_DIR}/app/examples/list_and_call.cpp
    ${PROJECT_SOURCE_DIR}/app/examples/remote_call.cpp
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/caf-mcp/examples
  COMPONENT development)

# ---- CPack: two Debian packages, caf-mcp (the program) and caf-mcp-dev ----
set(CPACK_PACKAGE_NAME caf-mcp)
set(CPACK_PACKAGE_VENDOR "caf-mcp")
set(CPACK_PACKAGE_CONTACT "caf-mcp maintainers <caf-mcp@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "MCP (Model Context Protocol) client and node on the C++ Actor Framework")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME caf-mcp)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "MCP client and node on the C++ Actor Framework\n The caf-mcp program: MCP client commands, the node (registry, HTTP API,\n dashboard, metrics) and the demo server.")
# The program's Depends come from dpkg-shlibdeps (the shared libraries it
# really links: libcaf-core0.17, libcaf-io0.17, libboost-json1.81.0, ...).
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
# Strip the program (debug info stays in the build tree).
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME caf-mcp-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
    "MCP client libraries on the C++ Actor Framework (development files)\n Static libraries caf_mcp::messages, caf_mcp::transport and\n caf_mcp::actors, their headers and the CMake package\n (find_package(caf_mcp)).")
# The static libraries are built against exactly these -dev packages, and
# the CMake package finds CAF, Boost and OpenSSL through them.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "libcaf-dev (>= ${CAF_VERSION}), libcaf-dev (<< 0.18), libboost${CAF_MCP_BOOST_VERSION}-dev, libboost-json${CAF_MCP_BOOST_VERSION}-dev, libboost-url${CAF_MCP_BOOST_VERSION}-dev, libssl-dev")
# cmake does not strip static libraries; drop their debug info in the
# staging tree as Debian's dh_strip does (400 MB -> a few MB).
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/CafMcpStripArchives.cmake)
include(CPack)
