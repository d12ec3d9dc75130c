#pragma once
// Slot assignment. A job attempt needs one slot per "slice": slice i holds subtask i
// of every chain whose parallelism exceeds i (Flink's slot sharing), so a job needs
// as many slots as its largest parallelism. Slices are spread evenly over the task
// managers: each goes to the task manager holding the fewest of this job's slices,
// and among those to the one with the most free slots.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cdcflow::jobmanager {

struct FreeSlots {
  std::string task_manager_id;
  int free = 0;
};

// The task manager of each slice, or RESOURCE_EXHAUSTED when fewer than `slices`
// slots are free in total. Deterministic: ties go to the task manager listed first.
absl::StatusOr<std::vector<std::string>> AssignSlices(int slices, std::vector<FreeSlots> free);

}  // namespace cdcflow::jobmanager
