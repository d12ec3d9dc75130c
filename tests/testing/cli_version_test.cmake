# `cdcflow --version` prints the project version; `--help` lists usage.
execute_process(COMMAND ${CDCFLOW} --version OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^cdcflow [0-9]+\\.[0-9]+\\.[0-9]+")
  message(FATAL_ERROR "cdcflow --version: rc=${rc} out='${out}'")
endif()
execute_process(COMMAND ${CDCFLOW} --help OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "Usage:")
  message(FATAL_ERROR "cdcflow --help: rc=${rc} out='${out}'")
endif()
