# CPACK_PRE_BUILD_SCRIPTS hook (cmake/CafMcpPackage.cmake): strip the debug
# information from the static libraries in CPack's staging tree, as Debian's
# dh_strip does for lib*.a. CMake's own stripping (CPACK_STRIP_FILES) leaves
# static libraries alone; their symbol table stays, so they still link.
find_program(_caf_mcp_strip NAMES strip)
if(NOT _caf_mcp_strip)
  message(FATAL_ERROR "strip not found (binutils)")
endif()
file(GLOB_RECURSE _caf_mcp_archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(_a IN LISTS _caf_mcp_archives)
  execute_process(COMMAND ${_caf_mcp_strip} --strip-debug "${_a}"
                  RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "strip --strip-debug ${_a} failed (${_rc})")
  endif()
endforeach()
