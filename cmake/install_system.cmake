# Run by `cmake --install` (cmake/install.cmake): the files that live outside the prefix,
# and those rewritten for where they are installed (rules, units).
#
#   prefix /usr:   /etc/failover/, /lib/systemd/system/, /usr/lib/sysusers.d/
#                  (Debian 12's places: `pkg-config --variable=systemdsystemunitdir systemd`)
#   other prefix:  <prefix>/etc/failover/, <prefix>/lib/systemd/system/,
#                  <prefix>/lib/sysusers.d/
#
# The units name the binaries by absolute path: /usr/local/bin/ in deploy/ becomes
# <prefix>/bin/ here. file(INSTALL) honours DESTDIR and records every file in
# install_manifest.txt.
set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")
if(prefix STREQUAL "/usr")
  set(etc /etc)
  set(unitdir /lib/systemd/system)
  set(sysusersdir /usr/lib/sysusers.d)
else()
  set(etc ${prefix}/etc)
  set(unitdir ${prefix}/lib/systemd/system)
  set(sysusersdir ${prefix}/lib/sysusers.d)
endif()
set(deploy "${FAILOVER_SOURCE_DIR}/deploy")

# Configuration: readable by the group `failover` only (the package's postinst sets the
# group); the secrets are placeholders (FAKE-...-replace-me) to be replaced.
set(conf_perms OWNER_READ OWNER_WRITE GROUP_READ)
set(dir_perms OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)
file(INSTALL "${deploy}/exporter.yml" "${deploy}/actuator.yml" "${deploy}/web-config.yml"
     DESTINATION "${etc}/failover" FILE_PERMISSIONS ${conf_perms}
     DIRECTORY_PERMISSIONS ${dir_perms})
file(GLOB secrets "${deploy}/secrets/*")
list(FILTER secrets EXCLUDE REGEX "/README.md$")
file(INSTALL ${secrets} DESTINATION "${etc}/failover/secrets" FILE_PERMISSIONS ${conf_perms}
     DIRECTORY_PERMISSIONS ${dir_perms})

# Units, with ExecStart pointing at the installed binaries.
# Staged in the build tree (`cmake --install` runs this from any directory).
set(stage "${FAILOVER_BINARY_DIR}/install-units")
file(MAKE_DIRECTORY "${stage}")
foreach(unit failover-exporter.service failover-actuator.service)
  file(READ "${deploy}/${unit}" text)
  string(REPLACE "/usr/local/bin/" "${prefix}/bin/" text "${text}")
  file(WRITE "${stage}/${unit}" "${text}")
  file(INSTALL "${stage}/${unit}" DESTINATION "${unitdir}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()
file(INSTALL "${deploy}/failover.sysusers.conf" DESTINATION "${sysusersdir}" RENAME failover.conf
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# Rules, with absolute runbook URLs.
set(base "${FAILOVER_RUNBOOK_BASE_URL}")
if(NOT base)
  set(base "file://${prefix}/${FAILOVER_DOCDIR}/docs")
endif()
string(REGEX REPLACE "/+$" "" base "${base}")
file(GLOB_RECURSE rules RELATIVE "${FAILOVER_SOURCE_DIR}/rules" "${FAILOVER_SOURCE_DIR}/rules/*.yml")
foreach(rel ${rules})
  file(READ "${FAILOVER_SOURCE_DIR}/rules/${rel}" text)
  string(REPLACE "runbook_url: \"docs/" "runbook_url: \"${base}/" text "${text}")
  get_filename_component(dir "${rel}" DIRECTORY)
  get_filename_component(name "${rel}" NAME)
  file(MAKE_DIRECTORY "${stage}/rules/${dir}")
  file(WRITE "${stage}/rules/${rel}" "${text}")
  file(INSTALL "${stage}/rules/${rel}" DESTINATION "${prefix}/${FAILOVER_DATADIR}/failover/rules/${dir}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()
