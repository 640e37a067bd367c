# install() rules (docs/deploy.md, "Installing"): `cmake --install build --prefix /usr`,
# with DESTDIR for staging (scripts/package builds the .deb from such a staging tree).
#
#   <prefix>/bin/                          failover_exporter, failover_actuator
#   <prefix>/share/failover/rules/         rules/ (profiles and promtool tests included), with
#                                          runbook_url made absolute (FAILOVER_RUNBOOK_BASE_URL)
#   <prefix>/share/failover/dashboards/    dashboards/
#   <prefix>/share/failover/examples/      deploy/'s configs for the other services (prometheus.yml
#                                          with its placeholder prometheus-secrets/, alertmanager.yml,
#                                          grafana-provisioning/) and the daemons' examples
#   <prefix>/share/doc/failover/           README.md, CHANGELOG.md, SECURITY.md, docs/
#   <sysconfdir>/failover/                 exporter.yml, actuator.yml, web-config.yml,
#                                          secrets/ (placeholders) — see cmake/install_system.cmake
#   <unitdir>/                             failover-exporter.service, failover-actuator.service
#   <sysusersdir>/failover.conf            the `failover` system user
#
# The binaries link only against shared libraries of the system (nothing is installed into
# a libdir of ours).
include(GNUInstallDirs)

install(TARGETS failover_exporter failover_actuator RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/dashboards/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/failover/dashboards)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/exporter.yml ${PROJECT_SOURCE_DIR}/deploy/actuator.yml
              ${PROJECT_SOURCE_DIR}/deploy/web-config.yml
              ${PROJECT_SOURCE_DIR}/deploy/region-agent-us-east.yml
              ${PROJECT_SOURCE_DIR}/deploy/region-agent-eu-west.yml
              ${PROJECT_SOURCE_DIR}/deploy/prometheus.yml
              ${PROJECT_SOURCE_DIR}/deploy/alertmanager.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/failover/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/grafana-provisioning
                  ${PROJECT_SOURCE_DIR}/deploy/prometheus-secrets
        DESTINATION ${CMAKE_INSTALL_DATADIR}/failover/examples)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
              ${PROJECT_SOURCE_DIR}/SECURITY.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# The rules' runbook_url is relative in the repository (docs/rules.md#regiondown); installed,
# it becomes ${FAILOVER_RUNBOOK_BASE_URL}/rules.md#regiondown. The default is the copy of
# the docs installed with the package; set it to where you publish them.
set(FAILOVER_RUNBOOK_BASE_URL "" CACHE STRING
    "Base URL of docs/ for the installed rules' runbook_url (default: file://<docdir>/docs)")

# /etc, the units and sysusers.d: where they go depends on the prefix given at install
# time (--prefix /usr puts the configuration in /etc), so it is decided then.
install(CODE "set(FAILOVER_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(FAILOVER_BINARY_DIR \"${PROJECT_BINARY_DIR}\")
set(FAILOVER_RUNBOOK_BASE_URL \"${FAILOVER_RUNBOOK_BASE_URL}\")
set(FAILOVER_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
set(FAILOVER_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")")
install(SCRIPT ${PROJECT_SOURCE_DIR}/cmake/install_system.cmake)
