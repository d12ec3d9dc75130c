#include "cdcflow/row.h"

namespace cdcflow {

std::string_view RowKindShortString(RowKind kind) {
  switch (kind) {
    case RowKind::kInsert:
      return "+I";
    case RowKind::kUpdateBefore:
      return "-U";
    case RowKind::kUpdateAfter:
      return "+U";
    case RowKind::kDelete:
      return "-D";
  }
  return "??";
}

std::string Row::ToString() const {
  std::string out(RowKindShortString(kind));
  out.push_back('[');
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(fields[i].ToString());
  }
  out.push_back(']');
  return out;
}

int Schema::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace cdcflow
