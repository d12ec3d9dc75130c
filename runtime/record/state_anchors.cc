// Out-of-line destructors anchor the SDK state interfaces' vtables and type_info in
// the host (this library is linked whole-archive into every host).
#include "cdcflow/state.h"

namespace cdcflow {

RowState::~RowState() = default;
ListState::~ListState() = default;
MapState::~MapState() = default;

}  // namespace cdcflow
