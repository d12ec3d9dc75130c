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
  UpsertMaterializerSpec spec;
  spec.key_fields = std::move(key_fields);
  return UpsertMaterializer(std::move(spec));
}

OperatorFactory UpsertMaterializer(UpsertMaterializerSpec spec) {
  return [spec]() -> std::unique_ptr<Operator> {
    return std::make_unique<operators::UpsertMaterializerOperator>(spec);
  };
}

}  // namespace cdcflow
