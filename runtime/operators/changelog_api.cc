// The SDK entry points of cdcflow/changelog.h (host side: jobs resolve them from the
// process that loads them).
#include "cdcflow/changelog.h"
#include "runtime/operators/changelog_join.h"

namespace cdcflow {

OperatorFactory ChangelogJoin(JoinSpec spec) {
  return [spec]() -> std::unique_ptr<Operator> {
    return std::make_unique<operators::ChangelogJoinOperator>(spec);
  };
}

OperatorFactory UpsertMaterializer(std::vector<int> key_fields) {
  return [key_fields]() -> std::unique_ptr<Operator> {
    return std::make_unique<operators::UpsertMaterializerOperator>(key_fields);
  };
}

}  // namespace cdcflow
