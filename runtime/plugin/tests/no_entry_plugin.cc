// A shared object without cdcflow_job_entry.
extern "C" __attribute__((visibility("default"))) int some_other_function() { return 42; }
