#include "jobmanager/scheduler.h"

#include "absl/strings/str_cat.h"

namespace cdcflow::jobmanager {

absl::StatusOr<std::vector<std::string>> AssignSlices(int slices, std::vector<FreeSlots> free) {
  int total = 0;
  for (const FreeSlots& f : free) total += f.free > 0 ? f.free : 0;
  if (total < slices) {
    return absl::ResourceExhaustedError(absl::StrCat("the job needs ", slices, " slots, ", total,
                                                     " are free on ", free.size(),
                                                     " task manager(s)"));
  }
  std::vector<std::string> out;
  out.reserve(slices);
  std::vector<int> taken(free.size(), 0);
  for (int i = 0; i < slices; ++i) {
    int best = -1;
    for (size_t t = 0; t < free.size(); ++t) {
      if (free[t].free <= 0) continue;
      if (best < 0 || taken[t] < taken[best] ||
          (taken[t] == taken[best] && free[t].free > free[best].free)) {
        best = static_cast<int>(t);
      }
    }
    out.push_back(free[best].task_manager_id);
    --free[best].free;
    ++taken[best];
  }
  return out;
}

}  // namespace cdcflow::jobmanager
