# Writes one man page: help2man on a wrapper named icx (FAMILY empty) or
# icx-FAMILY that runs `icx [FAMILY] "$@"`, with the help's "usage:"
# spelled "Usage:" as help2man wants it for the SYNOPSIS.  A family's NAME
# line is its line in `icx --help`.
# Usage: cmake -DICX=... [-DFAMILY=...] -DFAMILIES=a,b,... -DHELP2MAN=...
#              -DVERSION=... -DOUT=... -P man.cmake
get_filename_component(dir ${OUT} DIRECTORY)
if(FAMILY)
  set(wrapper ${dir}/bin/icx-${FAMILY})
else()
  set(wrapper ${dir}/bin/icx)
endif()
file(WRITE ${wrapper} "#!/bin/sh\n'${ICX}' ${FAMILY} \"$@\" | sed -e 's/^usage:/Usage:/' -e 's/^commands:/Commands:/' -e 's/^exit codes:/Exit codes:/'\n")
file(CHMOD ${wrapper} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
     GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
execute_process(COMMAND ${ICX} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${ICX} --help failed")
endif()
set(name "international cooperation data-exchange gateway")
if(FAMILY AND help MATCHES "\n  ${FAMILY} +([^\n]+)")
  set(name "${CMAKE_MATCH_1}")
endif()
string(REPLACE ";" "," name "${name}") # a CMake list separator otherwise
# SEE ALSO: the other pages (FAMILIES: the families, comma-separated).
string(REPLACE "," ";" families "${FAMILIES}")
set(see "")
if(FAMILY)
  set(see "icx(1)")
endif()
foreach(f ${families})
  if(NOT f STREQUAL FAMILY)
    if(see)
      string(APPEND see ", ")
    endif()
    string(APPEND see "icx-${f}(1)")
  endif()
endforeach()
set(include ${dir}/bin/see-also-${FAMILY}.h2m)
file(WRITE ${include} "[SEE ALSO]\n${see}\n.PP\nThe log format: docs/LOGS.md (in /usr/share/doc/icx with the package).\n")
execute_process(COMMAND ${HELP2MAN} --no-info --no-discard-stderr
                --version-string=${VERSION} --section=1 "--name=${name}"
                --include=${include} --output=${OUT} ${wrapper}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed for ${wrapper}")
endif()
