# Installation (cmake --install BUILD [--prefix P], or make install), the
# man pages and the systemd unit.  Layout, under the prefix:
#   bin/icx
#   share/icx/schemas/*.xsd           (found by icx beside itself)
#   share/icx/mappings/*.yaml         (--profile NAME, after config/mappings)
#   share/doc/icx/examples/           (gateway.yaml, groups.yaml, partners/:
#                                      examples to copy to /etc/icx, never
#                                      installed over an operator's files)
#   share/man/man1/icx.1, icx-FAMILY.1 (help2man, from the --help texts)
#   share/bash-completion/completions/icx
#   ICX_SYSTEMD_UNITDIR/icx.service   (lib/systemd/system)
# adapters/example is an example of an external adapter, not shipped; no
# external adapter module is installed.

install(TARGETS icx RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/schemas/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icx/schemas
        FILES_MATCHING PATTERN "*.xsd" PATTERN "examples" EXCLUDE)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/mappings/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icx/mappings
        FILES_MATCHING PATTERN "*.yaml")
install(FILES ${CMAKE_SOURCE_DIR}/config/gateway.yaml
        ${CMAKE_SOURCE_DIR}/config/groups.yaml ${CMAKE_SOURCE_DIR}/config/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/partners
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        FILES_MATCHING PATTERN "*.yaml")
install(FILES ${CMAKE_SOURCE_DIR}/packaging/bash-completion/icx
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# The unit names the installed program: written at install time, so that
# `cmake --install --prefix P` names P/bin/icx.  Debian keeps units in
# /lib/systemd/system (debian/rules sets it); elsewhere PREFIX/lib/...
set(ICX_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where icx.service is installed (relative: under the prefix)")
install(CODE "
  set(ICX_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(unitdir \"${ICX_SYSTEMD_UNITDIR}\")
  if(NOT IS_ABSOLUTE \"\${unitdir}\")
    set(unitdir \"\${CMAKE_INSTALL_PREFIX}/\${unitdir}\")
  endif()
  message(STATUS \"Installing: \$ENV{DESTDIR}\${unitdir}/icx.service\")
  configure_file(\"${CMAKE_SOURCE_DIR}/packaging/systemd/icx.service.in\"
                 \"\$ENV{DESTDIR}\${unitdir}/icx.service\" @ONLY)
")

# Man pages: help2man runs the built icx (`icx --help`, `icx FAMILY
# --help`), so the pages say what the program says.  Without help2man
# (not a build dependency of a plain build) there are no pages.
set(ICX_MAN_FAMILIES config keys envelope translate serve audit store survey
    submit lists pull)
string(REPLACE ";" "," ICX_MAN_FAMILIES_CSV "${ICX_MAN_FAMILIES}")
find_program(HELP2MAN help2man)
option(ICX_MANPAGES "Build the man pages with help2man" ON)
if(ICX_MANPAGES AND HELP2MAN)
  set(man_dir ${CMAKE_BINARY_DIR}/man)
  set(man_pages ${man_dir}/icx.1)
  add_custom_command(OUTPUT ${man_dir}/icx.1
    COMMAND ${CMAKE_COMMAND} -E make_directory ${man_dir}/bin
    COMMAND ${CMAKE_COMMAND} -DICX=$<TARGET_FILE:icx> -DHELP2MAN=${HELP2MAN}
            -DFAMILIES=${ICX_MAN_FAMILIES_CSV}
            -DVERSION=${PROJECT_VERSION} -DOUT=${man_dir}/icx.1
            -P ${CMAKE_SOURCE_DIR}/packaging/man.cmake
    DEPENDS icx ${CMAKE_SOURCE_DIR}/packaging/man.cmake VERBATIM)
  foreach(family ${ICX_MAN_FAMILIES})
    add_custom_command(OUTPUT ${man_dir}/icx-${family}.1
      COMMAND ${CMAKE_COMMAND} -E make_directory ${man_dir}/bin
      COMMAND ${CMAKE_COMMAND} -DICX=$<TARGET_FILE:icx> -DFAMILY=${family}
              -DHELP2MAN=${HELP2MAN} -DVERSION=${PROJECT_VERSION}
              -DFAMILIES=${ICX_MAN_FAMILIES_CSV}
              -DOUT=${man_dir}/icx-${family}.1
              -P ${CMAKE_SOURCE_DIR}/packaging/man.cmake
      DEPENDS icx ${CMAKE_SOURCE_DIR}/packaging/man.cmake VERBATIM)
    list(APPEND man_pages ${man_dir}/icx-${family}.1)
  endforeach()
  add_custom_target(man ALL DEPENDS ${man_pages})
  install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
