# The one helper every folder uses to declare its targets. Standard, warnings and
# sanitizer flags live here so that a folder's CMakeLists.txt is a few lines.
#
#   cdcflow_cc_library(NAME foo SRCS a.cc b.cc DEPS cdcflow::bar absl::status [PUBLIC_INCLUDE dir])
#       -> target cdcflow_foo, alias cdcflow::foo
#   cdcflow_cc_test(NAME foo_test SRCS foo_test.cc DEPS cdcflow::foo [LABELS unit])
#       -> gtest binary, tests discovered into ctest with the given labels (default: unit)
#   cdcflow_cc_binary(NAME cdcflow SRCS main.cc DEPS ...)

set(CDCFLOW_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

if(CDCFLOW_SANITIZE STREQUAL "address")
  set(CDCFLOW_SAN_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
elseif(CDCFLOW_SANITIZE STREQUAL "thread")
  set(CDCFLOW_SAN_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
else()
  set(CDCFLOW_SAN_FLAGS "")
endif()
if(CDCFLOW_SAN_FLAGS)
  add_compile_options(${CDCFLOW_SAN_FLAGS})
  add_link_options(${CDCFLOW_SAN_FLAGS})
endif()

function(_cdcflow_common target)
  target_compile_options(${target} PRIVATE ${CDCFLOW_WARNINGS})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
endfunction()

function(cdcflow_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PUBLIC_INCLUDE" ${ARGN})
  set(target cdcflow_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS})
    _cdcflow_common(${target})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR} ${ARG_PUBLIC_INCLUDE})
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR} ${ARG_PUBLIC_INCLUDE})
  endif()
  add_library(cdcflow::${ARG_NAME} ALIAS ${target})
endfunction()

function(cdcflow_cc_binary)
  cmake_parse_arguments(ARG "" "NAME;OUTPUT_NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  _cdcflow_common(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  if(ARG_OUTPUT_NAME)
    set_target_properties(${ARG_NAME} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
  endif()
endfunction()

function(cdcflow_cc_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  _cdcflow_common(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  # One variable only: gtest_discover_tests flattens PROPERTIES, so a list-valued
  # ENVIRONMENT loses all but its first entry. Tests find the build tree from their own
  # path (bin/ of the build directory).
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
               ENVIRONMENT "CDCFLOW_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# A job plugin: a shared object with hidden visibility that compiles against the SDK only.
function(cdcflow_job)
  cmake_parse_arguments(ARG "" "NAME" "SRCS" ${ARGN})
  add_library(${ARG_NAME} MODULE ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE cdcflow::sdk)
  target_compile_options(${ARG_NAME} PRIVATE ${CDCFLOW_WARNINGS})
  set_target_properties(${ARG_NAME} PROPERTIES
    PREFIX "" CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/jobs)
endfunction()

# A process that loads job plugins (the cdcflow binary, tests): exports its symbols and
# links the whole host-side SDK implementation, so a plugin's references to the SDK
# (JobBuilder, KeyHash, Row::ToString, ...) resolve against the host.
function(cdcflow_host target)
  set_target_properties(${target} PROPERTIES ENABLE_EXPORTS ON)
  add_dependencies(${target} cdcflow_api cdcflow_graph cdcflow_record cdcflow_operators)
  target_link_options(${target} PRIVATE "LINKER:--whole-archive"
    $<TARGET_FILE:cdcflow_graph> $<TARGET_FILE:cdcflow_api> $<TARGET_FILE:cdcflow_record>
    $<TARGET_FILE:cdcflow_operators> "LINKER:--no-whole-archive")
  target_link_libraries(${target} PRIVATE cdcflow::graph cdcflow::api cdcflow::operators)
endfunction()

# A test against the real local servers (PostgreSQL, Kafka, Kafka Connect + Debezium, OpenSearch)
# that the `local_services` fixture of tests/integration starts once per ctest run, on ports it
# picks. COMMAND runs with the fixture's settings in its environment: CDCFLOW_KAFKA_BROKERS,
# CDCFLOW_KAFKA_PORT, CDCFLOW_PG_PORT, CDCFLOW_CONNECT_URL, CDCFLOW_OPENSEARCH_URL, ...
# (see tests/integration/services_fixture.sh). LABELS default to integration.
set(CDCFLOW_TEST_LOCAL_DIR ${PROJECT_BINARY_DIR}/integration-services CACHE PATH
  "Data, logs and settings of the integration tests' local services")
function(cdcflow_services_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS integration)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME ${ARG_NAME}
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/integration/with_services_env.sh ${ARG_COMMAND})
  set_tests_properties(${ARG_NAME} PROPERTIES FIXTURES_REQUIRED local_services
    LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "CDCFLOW_TEST_LOCAL_DIR=${CDCFLOW_TEST_LOCAL_DIR};CDCFLOW_SOURCE_DIR=${PROJECT_SOURCE_DIR};CDCFLOW_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# A host that also serves the SDK's connectors (cdcflow/connectors.h) to job plugins: the
# Kafka and Elasticsearch connectors are linked whole, so a plugin's references resolve.
function(cdcflow_connectors_host target)
  add_dependencies(${target} cdcflow_connectors_api)
  # One SHELL: group: CMake de-duplicates repeated options, and cdcflow_host's
  # --whole-archive/--no-whole-archive pair would swallow a second one.
  target_link_options(${target} PRIVATE
    "SHELL:-Wl,--whole-archive $<TARGET_FILE:cdcflow_connectors_api> -Wl,--no-whole-archive")
  target_link_libraries(${target} PRIVATE cdcflow::connectors_api)
endfunction()
