#include "runtime/operators/changelog_join.h"

#include <algorithm>
#include <optional>
#include <span>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/checkpoint/keyed_state_access.h"
#include "runtime/exchange/key_groups.h"
#include "runtime/record/row_codec.h"

namespace cdcflow::operators {
namespace {

// The task's keyed backend (checkpointed, restored, rescaled with the task), or a
// private in-memory one kept in `owned` when the context offers none (tests).
absl::StatusOr<state::KeyedStateBackend*> CreateState(
    RuntimeContext& ctx, std::unique_ptr<state::KeyedStateBackend>* owned) {
  if (checkpoint::KeyedStateAccess* access = checkpoint::GetKeyedStateAccess(ctx)) {
    return access->KeyedBackend();
  }
  state::KeyedStateOptions options;
  options.max_parallelism = ctx.max_parallelism();
  options.key_groups = exchange::KeyGroupRangeForSubtask(ctx.subtask_index(), ctx.parallelism(),
                                                         ctx.max_parallelism());
  auto backend = state::KeyedStateBackend::CreateInMemory(options);
  if (!backend.ok()) return backend.status();
  *owned = *std::move(backend);
  return owned->get();
}

Row CountRow(int64_t n) {
  Row r;
  r.fields.push_back(Value::Int64(n));
  return r;
}

}  // namespace

namespace {

// Replaces *out with the fields of `row` at `fields`; an error names the position
// outside the row.
absl::Status CopyFields(const Row& row, const std::vector<int>& fields, std::vector<Value>* out) {
  out->clear();
  out->reserve(fields.size());
  for (int f : fields) {
    if (f < 0 || static_cast<size_t>(f) >= row.fields.size()) {
      return absl::InvalidArgumentError(absl::StrCat("key field ", f, " is outside a row of ",
                                                     row.fields.size(), " fields: ",
                                                     row.ToString()));
    }
    out->push_back(row.fields[f]);
  }
  return absl::OkStatus();
}

// The keys (at `fields`) and key hashes of every row of `batch`, then one Prefetch of
// them; the loop over the batch then points the backend at row i with
// SetCurrentKey(keys[i], hashes[i]), each key hashed once.
absl::Status PrefetchBatchKeys(state::KeyedStateBackend& state, const RowBatch& batch,
                               const std::vector<int>& fields, BatchKeys* out) {
  out->keys.resize(batch.size());
  out->hashes.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (absl::Status s = CopyFields(batch.row(i), fields, &out->keys[i].fields); !s.ok()) {
      return s;
    }
    out->hashes[i] = KeyHash(out->keys[i]);
  }
  return state.Prefetch(out->keys, out->hashes);
}

// Moves the position column (field `position`) out of `row`, leaving the emptied field
// in place for the caller to erase; an error names `what` when the row is too short or
// the position is null.
absl::StatusOr<Value> MovePositionOut(Row& row, int position, std::string_view what) {
  auto error = [&](std::string_view problem) {  // built only on failure: a per-row path
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": position field ",
                                                   position, std::string(problem),
                                                   row.ToString()));
  };
  if (static_cast<size_t>(position) >= row.fields.size()) {
    return error(absl::StrCat(" is outside a row of ", row.fields.size(), " fields: "));
  }
  Value value = std::move(row.fields[position]);
  if (value.is_null()) return error(" is null in ");
  return value;
}

// True when every field of `inner` is one of `outer`'s: a key on `inner` is then a
// function of a key on `outer` (one value per `outer` key).
bool Within(const std::vector<int>& inner, const std::vector<int>& outer) {
  for (int f : inner) {
    if (std::find(outer.begin(), outer.end(), f) == outer.end()) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<int> ComparePositions(const Value& a, const Value& b, std::string_view what) {
  auto is_text = [](const Value& v) {
    return v.type() == ValueType::kBytes || v.type() == ValueType::kString;
  };
  if (a.type() == ValueType::kInt64 && b.type() == ValueType::kInt64) {
    return a.as_int64() < b.as_int64() ? -1 : (a.as_int64() > b.as_int64() ? 1 : 0);
  }
  if (is_text(a) && is_text(b)) {
    const std::string& x = a.type() == ValueType::kBytes ? a.as_bytes() : a.as_string();
    const std::string& y = b.type() == ValueType::kBytes ? b.as_bytes() : b.as_string();
    const int c = x.compare(y);  // char_traits<char>::compare is memcmp: unsigned bytes
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(what), ": source positions must be Int64 or Bytes/String values of one type, got ",
      a.ToString(), " and ", b.ToString()));
}

absl::Status PositionFilter::Open(state::KeyedStateBackend& state, std::string_view state_name,
                                  const std::vector<int>& partition_key) {
  if (!enabled()) return absl::OkStatus();
  if (Within(row_key_, partition_key)) {
    auto last = state.GetRowState(absl::StrCat(std::string(state_name), "_of_key"));
    if (!last.ok()) return last.status();
    last_of_key_ = *last;
    return absl::OkStatus();
  }
  auto last = state.GetMapState(state_name);
  if (!last.ok()) return last.status();
  last_ = *last;
  return absl::OkStatus();
}

absl::StatusOr<bool> PositionFilter::Accept(Row& row) {
  if (!enabled()) return true;
  absl::StatusOr<Value> taken = MovePositionOut(row, position_, what_);
  if (!taken.ok()) return taken.status();
  Value position = *std::move(taken);
  scratch_key_.clear();
  for (int f : row_key_) {
    if (f < 0 || static_cast<size_t>(f) >= row.fields.size() || f == position_) {
      return absl::InvalidArgumentError(absl::StrCat(what_, ": row key field ", f,
                                                     " is outside the row or the position: ",
                                                     row.ToString()));
    }
    scratch_key_.push_back(row.fields[f]);
  }
  row.fields.erase(row.fields.begin() + position_);
  const Row* last = last_of_key_ != nullptr ? last_of_key_->Get() : last_->Get(scratch_key_);
  if (last != nullptr) {
    absl::StatusOr<int> c = ComparePositions(position, last->fields[0], what_);
    if (!c.ok()) return c.status();
    if (*c <= 0) return false;
  }
  Row held;
  held.fields.push_back(std::move(position));
  if (last_of_key_ != nullptr) {
    last_of_key_->Put(std::move(held));
  } else {
    last_->Put(scratch_key_, std::move(held));
  }
  return true;
}

ChangelogJoinOperator::ChangelogJoinOperator(JoinSpec spec)
    : spec_(std::move(spec)),
      left_filter_(spec_.left_position, spec_.left_row_key, "join left input"),
      right_filter_(spec_.right_position, spec_.right_row_key, "join right input") {}

absl::Status ChangelogJoinOperator::Open(RuntimeContext& ctx) {
  if (spec_.left_keys.empty() || spec_.left_keys.size() != spec_.right_keys.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("join ", std::string(ctx.operator_name()), ": left and right key lists must be non-empty "
                     "and of equal length"));
  }
  auto state = CreateState(ctx, &owned_state_);
  if (!state.ok()) return state.status();
  state_ = *std::move(state);
  // A side with a unique key keeps its rows under another state name: the two layouts
  // never read each other's entries (a restore after changing the spec starts empty).
  auto open_side = [&](const std::string& name, std::vector<int> unique_key,
                       const std::vector<int>& join_key, int position,
                       const std::vector<int>& row_key, bool exact_retractions, Side* side,
                       PositionFilter* filter) -> absl::Status {
    if (exact_retractions && unique_key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "join ", std::string(ctx.operator_name()), ": ", name,
          " exact retractions need a unique key (rows without one are counted: a removal "
          "reads the count)"));
    }
    for (int f : unique_key) {
      if (f < 0 || f == position) {
        return absl::InvalidArgumentError(absl::StrCat(
            "join ", std::string(ctx.operator_name()), ": ", name, " unique key field ", f,
            " is negative or the position column"));
      }
    }
    // Rows identified by the unique key: their positions go with them (another state
    // name: the layouts never read each other's entries).
    const std::vector<int>& identity = row_key.empty() ? join_key : row_key;
    const bool positioned = position >= 0 && !unique_key.empty() &&
                            Within(identity, unique_key) && Within(unique_key, identity);
    const std::string layout = positioned ? absl::StrCat(name, "_with_positions") : name;
    if (!unique_key.empty() && Within(unique_key, join_key)) {
      auto row = state_->GetRowState(absl::StrCat(layout, "_by_join_key"));
      if (!row.ok()) return row.status();
      side->row = *row;
    } else {
      const std::string state_name =
          unique_key.empty() ? layout : absl::StrCat(layout, "_by_unique_key");
      auto rows = state_->GetMapState(state_name);
      if (!rows.ok()) return rows.status();
      side->rows = *rows;
    }
    side->unique_key = std::move(unique_key);
    side->exact_retractions = exact_retractions;
    side->what = name == "left" ? "join left input" : "join right input";
    if (positioned) {
      side->position = position;
      *filter = PositionFilter();  // disabled: the side checks positions itself
      return absl::OkStatus();
    }
    return filter->Open(*state_, absl::StrCat(name, "_positions"), join_key);
  };
  if (absl::Status s = open_side("left", spec_.left_unique_key, spec_.left_keys,
                                 spec_.left_position, spec_.left_row_key,
                                 spec_.left_exact_retractions, &left_, &left_filter_);
      !s.ok()) {
    return s;
  }
  return open_side("right", spec_.right_unique_key, spec_.right_keys, spec_.right_position,
                   spec_.right_row_key, spec_.right_exact_retractions, &right_, &right_filter_);
}

absl::StatusOr<bool> ChangelogJoinOperator::TakeFreshPosition(Side& side, Row& row,
                                                              std::span<const Value> unique_key,
                                                              Value* position, bool* held_live) {
  absl::StatusOr<Value> taken = MovePositionOut(row, side.position, side.what);
  if (!taken.ok()) return taken.status();
  *position = *std::move(taken);
  row.fields.erase(row.fields.begin() + side.position);
  const Row* held = side.row != nullptr ? side.row->Get() : side.rows->Get(unique_key);
  *held_live = held != nullptr && held->kind != RowKind::kDelete;
  if (held == nullptr) return true;
  absl::StatusOr<int> c = ComparePositions(*position, held->fields.back(), side.what);
  if (!c.ok()) return c.status();
  return *c > 0;
}

bool ChangelogJoinOperator::ApplyPositioned(Side& side, Row& row, Value position,
                                            std::span<const Value> unique_key, bool accumulate,
                                            bool held_live) {
  Row stored;
  if (accumulate) {
    stored = std::move(row);
  } else {
    stored.kind = RowKind::kDelete;  // a tombstone: the position alone
  }
  stored.fields.push_back(std::move(position));
  if (side.row != nullptr) {
    side.row->Put(std::move(stored));
  } else {
    side.rows->Put(unique_key, std::move(stored));
  }
  return accumulate || held_live;
}

bool ChangelogJoinOperator::Apply(Side& side, Row& row, std::span<const Value> unique_key,
                                  bool accumulate) {
  if (side.row != nullptr) {
    if (accumulate) {
      side.row->Put(std::move(row));  // blind: nothing is read
      return true;
    }
    if (!side.exact_retractions && side.row->Get() == nullptr) return false;
    side.row->Clear();
    return true;
  }
  if (!side.unique_key.empty()) {
    if (accumulate) {
      side.rows->Put(unique_key, std::move(row));  // blind: nothing is read
      return true;
    }
    if (!side.exact_retractions && side.rows->Get(unique_key) == nullptr) return false;
    side.rows->Remove(unique_key);
    return true;
  }
  std::span<const Value> map_key(row.fields);
  const Row* held = side.rows->Get(map_key);
  const int64_t before = held == nullptr ? 0 : held->fields[0].as_int64();
  if (!accumulate && before == 0) return false;
  const int64_t after = before + (accumulate ? 1 : -1);
  if (after == 0) {
    side.rows->Remove(map_key);
  } else {
    side.rows->Put(map_key, CountRow(after));
  }
  return true;
}

void ChangelogJoinOperator::Collect(Side& side, std::vector<Held>* rows) {
  rows->clear();
  // A positioned side's rows end with their position; tombstones hold nothing.
  const size_t strip = side.position >= 0 ? 1 : 0;
  auto held_row = [&](const Row& held) {
    if (held.kind == RowKind::kDelete) return;
    std::span<const Value> fields(held.fields);
    rows->push_back(Held{fields.first(fields.size() - strip), 1});
  };
  if (side.row != nullptr) {
    if (const Row* held = side.row->Get()) held_row(*held);
    return;
  }
  const bool counted = side.unique_key.empty();
  side.rows->ForEach([&](std::span<const Value> map_key, const Row& value) {
    if (counted) {
      rows->push_back(Held{map_key, value.fields[0].as_int64()});
    } else {
      held_row(value);
    }
  });
}

size_t ChangelogJoinOperator::Count(Side& side) {
  if (side.position >= 0) {
    Collect(side, &counted_);
    return counted_.size();
  }
  if (side.row != nullptr) return side.row->Get() != nullptr ? 1 : 0;
  return side.rows->Size();
}

Row ChangelogJoinOperator::Join(std::span<const Value> left, std::span<const Value> right) const {
  Row out;
  out.fields.reserve(left.size() + spec_.right_arity);
  out.fields.insert(out.fields.end(), left.begin(), left.end());
  if (!right.empty()) {
    out.fields.insert(out.fields.end(), right.begin(), right.end());
  } else {
    out.fields.resize(left.size() + spec_.right_arity);
  }
  return out;
}

Row ChangelogJoinOperator::JoinMovingLeft(Row& left, std::span<const Value> right) const {
  Row out;
  out.fields = std::move(left.fields);
  const size_t left_size = out.fields.size();
  out.fields.reserve(left_size + spec_.right_arity);
  if (!right.empty()) {
    out.fields.insert(out.fields.end(), right.begin(), right.end());
  } else {
    out.fields.resize(left_size + spec_.right_arity);
  }
  return out;
}

void ChangelogJoinOperator::Emit(Row row, RowKind kind, int64_t ts, Collector& out) {
  row.kind = kind;
  out.Emit(std::move(row), ts);
  ++stats_.rows_out;
}

absl::Status ChangelogJoinOperator::ProcessBatch(int input, RowBatch& batch, Collector& out) {
  const bool is_left = input == 0;
  const std::vector<int>& keys = is_left ? spec_.left_keys : spec_.right_keys;
  Side& mine = is_left ? left_ : right_;
  Side& other = is_left ? right_ : left_;
  PositionFilter& filter = is_left ? left_filter_ : right_filter_;
  const bool outer = spec_.type == JoinType::kLeft;
  if (absl::Status s = PrefetchBatchKeys(*state_, batch, keys, &keys_); !s.ok()) return s;
  for (size_t i = 0; i < batch.size(); ++i) {
    Row& row = batch.mutable_row(i);
    const int64_t ts = batch.timestamp(i);
    ++stats_.rows_in;
    state_->SetCurrentKey(keys_.keys[i], keys_.hashes[i]);
    absl::StatusOr<bool> fresh = filter.Accept(row);
    if (!fresh.ok()) return fresh.status();
    if (!*fresh) {
      ++stats_.stale_changes;
      continue;
    }
    if (!mine.unique_key.empty()) {
      if (absl::Status s = CopyFields(row, mine.unique_key, &unique_key_); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("join ", is_left ? "left" : "right",
                                                   " input: unique ", s.message()));
      }
    }
    // The right side of a left join is counted before and after each change; counting
    // first loads its map, so the position check below reads the row from memory.
    const size_t mine_before = (!is_left && outer) ? Count(mine) : 0;
    bool held_live = false;  // a positioned side: it held a row (not a tombstone)
    if (mine.position >= 0) {
      fresh = TakeFreshPosition(mine, row, unique_key_, &position_, &held_live);
      if (!fresh.ok()) return fresh.status();
      if (!*fresh) {
        ++stats_.stale_changes;
        continue;
      }
    }
    const RowKind kind = row.kind;
    const bool accumulate = IsAccumulate(kind);
    row.kind = RowKind::kInsert;  // state holds rows without their kind
    auto apply = [&](bool add) {
      return mine.position >= 0
                 ? ApplyPositioned(mine, row, std::move(position_), unique_key_, add, held_live)
                 : Apply(mine, row, unique_key_, add);
    };
    if (accumulate) {
      // An addition always applies: join it first, then move the row into the state
      // (one copy of it less). `others_` points into the state: emitted before Apply.
      Collect(other, &others_);
      EmitJoined(is_left, row, kind, mine_before, /*mine_after=*/1, ts, out, /*spent=*/false);
      apply(true);
      continue;
    }
    if (!apply(false)) {
      ++stats_.absent_retractions;
      continue;
    }
    const size_t mine_after = (!is_left && outer) ? Count(mine) : 1;
    Collect(other, &others_);
    EmitJoined(is_left, row, kind, mine_before, mine_after, ts, out, /*spent=*/true);
  }
  return state_->status();
}

void ChangelogJoinOperator::EmitJoined(bool is_left, Row& row, RowKind kind,
                                       size_t mine_before, size_t mine_after, int64_t ts,
                                       Collector& out, bool spent) {
  const bool outer = spec_.type == JoinType::kLeft;
  const bool accumulate = IsAccumulate(kind);
  const std::span<const Value> none;
  if (is_left) {
    if (others_.empty()) {
      if (outer) {
        Emit(spent ? JoinMovingLeft(row, none) : Join(row.fields, none),
             accumulate ? RowKind::kInsert : RowKind::kDelete, ts, out);
      }
      return;
    }
    // A spent row's fields move into its last joined row (most rows have one match).
    const Held* last = &others_.back();
    for (const Held& r : others_) {
      for (int64_t n = 0; n < r.count; ++n) {
        const bool final_copy = spent && &r == last && n + 1 == r.count;
        Emit(final_copy ? JoinMovingLeft(row, r.fields) : Join(row.fields, r.fields), kind, ts,
             out);
      }
    }
    return;
  }
  // A right row. In a left join, the first right row of a key replaces the
  // null-padded left rows, and removing the last one brings them back.
  const bool first_match = outer && accumulate && mine_before == 0;
  const bool last_match = outer && !accumulate && mine_after == 0;
  for (const Held& left : others_) {
    for (int64_t n = 0; n < left.count; ++n) {
      if (first_match) {
        Emit(Join(left.fields, none), RowKind::kDelete, ts, out);
        Emit(Join(left.fields, row.fields), RowKind::kInsert, ts, out);
      } else if (last_match) {
        Emit(Join(left.fields, row.fields), RowKind::kDelete, ts, out);
        Emit(Join(left.fields, none), RowKind::kInsert, ts, out);
      } else {
        Emit(Join(left.fields, row.fields), kind, ts, out);
      }
    }
  }
}

namespace {

// The materializer's held rows: entries of [u32 little-endian length][encoded row].
constexpr size_t kEntryHeader = 4;

void AppendEntry(std::string_view encoded_row, std::string* out) {
  const uint32_t n = static_cast<uint32_t>(encoded_row.size());
  for (int shift = 0; shift < 32; shift += 8) out->push_back(static_cast<char>((n >> shift) & 0xff));
  out->append(encoded_row);
}

// The encoded row of the entry at `at` (the caller walks whole entries only); a
// truncated entry yields the bytes that are there, which then fail to decode or match.
std::string_view EntryAt(std::string_view held, size_t at) {
  if (held.size() - at < kEntryHeader) return held.substr(held.size());
  uint32_t n = 0;
  for (int b = 3; b >= 0; --b) n = (n << 8) | static_cast<uint8_t>(held[at + b]);
  return held.substr(at + kEntryHeader, n);
}

}  // namespace

UpsertMaterializerOperator::UpsertMaterializerOperator(UpsertMaterializerSpec spec)
    : spec_(std::move(spec)),
      filter_(spec_.position_field, spec_.key_fields, "upsert materializer") {}

absl::Status UpsertMaterializerOperator::Open(RuntimeContext& ctx) {
  if (spec_.key_fields.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("upsert materializer ", std::string(ctx.operator_name()), ": no key fields"));
  }
  auto state = CreateState(ctx, &owned_state_);
  if (!state.ok()) return state.status();
  state_ = *std::move(state);
  auto rows = state_->GetValueState("rows_encoded");
  if (!rows.ok()) return rows.status();
  rows_ = *rows;
  if (state_->HoldsState("rows")) {
    auto legacy = state_->GetListState("rows");
    if (!legacy.ok()) return legacy.status();
    legacy_rows_ = *legacy;
  }
  if (absl::Status s = filter_.Open(*state_, "positions", spec_.key_fields); !s.ok()) return s;
  if (spec_.append_version) {
    auto version = state_->GetValueState("version");
    if (!version.ok()) return version.status();
    version_ = *version;
    version_floor_ = ctx.ProcessingTimeMs() * 1000;
  }
  return absl::OkStatus();
}

std::string_view UpsertMaterializerOperator::HeldRows() {
  if (const Value* held = rows_->Get()) return held->as_bytes();
  if (legacy_rows_ == nullptr) return {};
  const std::vector<Row>& legacy = legacy_rows_->Get();
  if (legacy.empty()) return {};
  held_.clear();
  std::string encoded;
  for (const Row& r : legacy) {
    encoded.clear();
    record::AppendRow(r, &encoded);
    AppendEntry(encoded, &held_);
  }
  legacy_rows_->Clear();
  rows_->Put(Value::Bin(held_));
  return rows_->Get()->as_bytes();
}

void UpsertMaterializerOperator::Emit(Row row, RowKind kind, int64_t ts, Collector& out) {
  row.kind = kind;
  if (version_ != nullptr) {
    const Value* last = version_->Get();
    int64_t v = version_floor_;
    if (last != nullptr && last->as_int64() + 1 > v) v = last->as_int64() + 1;
    version_->Put(Value::Int64(v));
    row.fields.push_back(Value::Int64(v));
  }
  out.Emit(std::move(row), ts);
  ++stats_.rows_out;
}

absl::Status UpsertMaterializerOperator::ProcessBatch(int, RowBatch& batch, Collector& out) {
  if (absl::Status s = PrefetchBatchKeys(*state_, batch, spec_.key_fields, &keys_); !s.ok()) {
    return s;
  }
  // The output a retraction causes (a delete, or the key's previous row) waits for the
  // next row: when that adds a row for the same key (an update's -U then +U, the order
  // every changelog has; a left join's padded row replaced by its first match, -D then
  // +I), the addition alone says it all for an upsert sink, and the change comes out as
  // one upsert instead of a delete (or a stale row) and an upsert. Anything else emits
  // it first.
  struct Deferred {
    size_t index = 0;  // of the retraction in the batch
    Row row;
    RowKind kind = RowKind::kDelete;
    int64_t ts = 0;
  };
  std::optional<Deferred> deferred;
  auto release = [&] {
    if (deferred.has_value()) Emit(std::move(deferred->row), deferred->kind, deferred->ts, out);
    deferred.reset();
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    Row& row = batch.mutable_row(i);
    const int64_t ts = batch.timestamp(i);
    ++stats_.rows_in;
    state_->SetCurrentKey(keys_.keys[i], keys_.hashes[i]);
    absl::StatusOr<bool> fresh = filter_.Accept(row);
    if (!fresh.ok()) return fresh.status();
    if (!*fresh) {
      ++stats_.stale_changes;
      continue;
    }
    const bool accumulate = IsAccumulate(row.kind);
    if (deferred.has_value()) {
      const size_t d = deferred->index;
      if (accumulate && keys_.hashes[i] == keys_.hashes[d] &&
          keys_.keys[i].fields == keys_.keys[d].fields) {
        ++stats_.folded_updates;
        deferred.reset();
      } else {
        release();
      }
    }
    row.kind = RowKind::kInsert;
    encoded_.clear();
    record::AppendRow(row, &encoded_);
    const std::string_view held = HeldRows();
    if (accumulate) {
      remaining_.assign(held);
      AppendEntry(encoded_, &remaining_);
      rows_->Put(Value::Bin(remaining_));
      Emit(std::move(row), RowKind::kUpdateAfter, ts, out);
      continue;
    }
    // A retraction removes the newest equal row. Only when it was the visible (last)
    // row does the output change: to the row before it, or a delete.
    size_t found = std::string_view::npos, found_end = 0, last_start = 0;
    for (size_t at = 0; at < held.size();) {
      const std::string_view entry = EntryAt(held, at);
      const size_t next = at + kEntryHeader + entry.size();
      if (entry == encoded_) {
        found = at;
        found_end = next;
      }
      last_start = at;
      at = next;
    }
    if (found == std::string_view::npos) {
      ++stats_.absent_retractions;
      continue;
    }
    const bool was_visible = found == last_start;
    remaining_.assign(held.substr(0, found));
    remaining_.append(held.substr(found_end));
    if (remaining_.empty()) {
      rows_->Clear();
    } else {
      rows_->Put(Value::Bin(remaining_));
    }
    if (!was_visible) continue;
    Deferred change{i, {}, RowKind::kDelete, ts};
    if (remaining_.empty()) {
      change.row = std::move(row);
    } else {
      size_t at = 0, last = 0;
      while (at < remaining_.size()) {
        last = at;
        at += kEntryHeader + EntryAt(remaining_, at).size();
      }
      absl::StatusOr<Row> previous = record::DecodeRow(EntryAt(remaining_, last));
      if (!previous.ok()) {
        std::string key;
        for (const Value& v : keys_.keys[i].fields) {
          absl::StrAppend(&key, key.empty() ? "" : ", ", v.ToString());
        }
        return absl::DataLossError(absl::StrCat("upsert materializer: a held row of key [", key,
                                                "]: ", previous.status().message()));
      }
      change.row = *std::move(previous);
      change.kind = RowKind::kUpdateAfter;
    }
    deferred = std::move(change);
  }
  release();
  return state_->status();
}

}  // namespace cdcflow::operators
