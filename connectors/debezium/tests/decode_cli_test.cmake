# Runs `cdcflow decode` on a fixture and compares its stdout with the expected
# text, line for line. Variables: CDCFLOW (binary), INPUT, EXPECTED, ARGS
# (;-list of extra arguments), EXPECT_FAIL (the run must exit non-zero and print
# ERROR_MATCH on stderr).
separate_arguments(extra UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${CDCFLOW} decode ${INPUT} ${extra}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(EXPECT_FAIL)
  if(rc EQUAL 0)
    message(FATAL_ERROR "cdcflow decode ${INPUT} succeeded but should fail\nstdout:\n${out}")
  endif()
  if(NOT err MATCHES "${ERROR_MATCH}")
    message(FATAL_ERROR "stderr does not match '${ERROR_MATCH}':\n${err}")
  endif()
else()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cdcflow decode ${INPUT} exited ${rc}:\n${err}")
  endif()
endif()
if(EXPECTED)
  file(READ ${EXPECTED} want)
  if(NOT out STREQUAL want)
    message(FATAL_ERROR "cdcflow decode ${INPUT} ${ARGS}: output differs\n--- got:\n${out}--- want:\n${want}")
  endif()
endif()
