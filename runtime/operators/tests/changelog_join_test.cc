#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/checkpoint/keyed_state_access.h"
#include "runtime/operators/changelog_join.h"
#include "runtime/state/kv_store.h"
#include "tests/testing/scratch_dir.h"

namespace cdcflow::operators {
namespace {

class FakeContext : public RuntimeContext {
 public:
  std::string_view operator_name() const override { return "join"; }
  int subtask_index() const override { return 0; }
  int parallelism() const override { return 1; }
  int max_parallelism() const override { return 128; }
  const JobArgs& args() const override { return args_; }
  int64_t ProcessingTimeMs() const override { return now_ms_; }
  JobArgs args_;
  int64_t now_ms_ = 0;
};

Row R(RowKind kind, std::vector<Value> fields) { return Row{kind, std::move(fields)}; }
Value I(int64_t v) { return Value::Int64(v); }
Value S(std::string v) { return Value::Str(std::move(v)); }

// Feeds one row into `op` on `input` and returns the output rows as text.
std::vector<std::string> Feed(Operator& op, int input, Row row) {
  RowBatch in;
  in.Append(std::move(row));
  RowBatch out_batch;
  Collector out(&out_batch);
  absl::Status s = op.ProcessBatch(input, in, out);
  EXPECT_TRUE(s.ok()) << s;
  std::vector<std::string> lines;
  for (const Row& r : out_batch.rows()) lines.push_back(r.ToString());
  return lines;
}

using Lines = std::vector<std::string>;

// orders(order_id, product) ⋈ shipments(shipment_id, order_id, origin)
JoinSpec Spec(JoinType type) { return JoinSpec{type, {0}, {1}, 2, 3}; }

class ChangelogJoinTest : public ::testing::Test {
 protected:
  FakeContext ctx_;
};

TEST_F(ChangelogJoinTest, InnerJoinEmitsPairsWithTheInputKind) {
  ChangelogJoinOperator join(Spec(JoinType::kInner));
  ASSERT_TRUE(join.Open(ctx_).ok());
  EXPECT_EQ(Feed(join, 0, R(RowKind::kInsert, {I(1), S("bike")})), Lines{});
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin")})),
            (Lines{"+I[1, bike, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 0, R(RowKind::kUpdateBefore, {I(1), S("bike")})),
            (Lines{"-U[1, bike, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 0, R(RowKind::kUpdateAfter, {I(1), S("e-bike")})),
            (Lines{"+U[1, e-bike, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kDelete, {I(10), I(1), S("Berlin")})),
            (Lines{"-D[1, e-bike, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 0, R(RowKind::kDelete, {I(1), S("e-bike")})), Lines{});
}

TEST_F(ChangelogJoinTest, LeftJoinPadsThenRetractsThePaddedRow) {
  ChangelogJoinOperator join(Spec(JoinType::kLeft));
  ASSERT_TRUE(join.Open(ctx_).ok());
  EXPECT_EQ(Feed(join, 0, R(RowKind::kInsert, {I(1), S("bike")})),
            (Lines{"+I[1, bike, null, null, null]"}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin")})),
            (Lines{"-D[1, bike, null, null, null]", "+I[1, bike, 10, 1, Berlin]"}));
  // A second shipment of the same order joins without touching the padded row.
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(11), I(1), S("Paris")})),
            (Lines{"+I[1, bike, 11, 1, Paris]"}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kDelete, {I(11), I(1), S("Paris")})),
            (Lines{"-D[1, bike, 11, 1, Paris]"}));
  // Removing the last shipment brings the padded row back.
  EXPECT_EQ(Feed(join, 1, R(RowKind::kDelete, {I(10), I(1), S("Berlin")})),
            (Lines{"-D[1, bike, 10, 1, Berlin]", "+I[1, bike, null, null, null]"}));
  EXPECT_EQ(Feed(join, 0, R(RowKind::kDelete, {I(1), S("bike")})),
            (Lines{"-D[1, bike, null, null, null]"}));
}

TEST_F(ChangelogJoinTest, UpdateThatChangesTheJoinKeyMovesTheRow) {
  // Both orders live in one subtask here; in a job the -U and +U go to the subtasks
  // of their own keys and the same outputs come from two places.
  ChangelogJoinOperator join(Spec(JoinType::kLeft));
  ASSERT_TRUE(join.Open(ctx_).ok());
  Feed(join, 0, R(RowKind::kInsert, {I(1), S("bike")}));
  Feed(join, 0, R(RowKind::kInsert, {I(2), S("car")}));
  Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin")}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kUpdateBefore, {I(10), I(1), S("Berlin")})),
            (Lines{"-D[1, bike, 10, 1, Berlin]", "+I[1, bike, null, null, null]"}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kUpdateAfter, {I(10), I(2), S("Berlin")})),
            (Lines{"-D[2, car, null, null, null]", "+I[2, car, 10, 2, Berlin]"}));
}

TEST_F(ChangelogJoinTest, RetractionOfAnAbsentRowIsCountedNotFatal) {
  ChangelogJoinOperator join(Spec(JoinType::kLeft));
  ASSERT_TRUE(join.Open(ctx_).ok());
  EXPECT_EQ(Feed(join, 0, R(RowKind::kDelete, {I(7), S("ghost")})), Lines{});
  EXPECT_EQ(Feed(join, 1, R(RowKind::kUpdateBefore, {I(70), I(7), S("x")})), Lines{});
  EXPECT_EQ(join.stats().absent_retractions, 2u);
}

TEST_F(ChangelogJoinTest, KeyOutsideTheRowIsAnErrorNamingIt) {
  ChangelogJoinOperator join(JoinSpec{JoinType::kInner, {5}, {1}, 2, 3});
  ASSERT_TRUE(join.Open(ctx_).ok());
  RowBatch in;
  in.Append(R(RowKind::kInsert, {I(1), S("bike")}));
  RowBatch out_batch;
  Collector out(&out_batch);
  absl::Status s = join.ProcessBatch(0, in, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("key field 5"), std::string::npos) << s;
}

// Random changes to two tables, fed as Debezium-style changelogs into a left join;
// the multiset the join's output describes must equal the join of the final tables.
// With `positions`, every change carries a unique, growing source position (appended
// as the last column, rows identified by their first field) and, once converged, a
// random prefix of the changelog and then all of it is replayed (Debezium after a
// connector restart): nothing may come out and every replayed change is counted.
// With `unique_keys`, both sides keep their rows under their primary key (field 0).
void RunRandomChangelogs(RuntimeContext& ctx, bool positions, bool unique_keys = false) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    JoinSpec spec = Spec(JoinType::kLeft);
    if (positions) {
      spec.left_position = 2;
      spec.right_position = 3;
      spec.left_row_key = {0};
      spec.right_row_key = {0};
    }
    if (unique_keys) {
      spec.left_unique_key = {0};
      spec.right_unique_key = {0};
    }
    ChangelogJoinOperator join(spec);
    ASSERT_TRUE(join.Open(ctx).ok());
    int64_t next_position = 1;
    std::vector<std::pair<int, Row>> log;  // (input, row with position)
    auto feed = [&](int input, Row row) {
      if (positions) {
        row.fields.push_back(I(next_position++));
        log.emplace_back(input, row);
      }
      return Feed(join, input, std::move(row));
    };
    std::map<int64_t, Row> orders;     // order_id -> (order_id, product)
    std::map<int64_t, Row> shipments;  // shipment_id -> (shipment_id, order_id, origin)
    std::map<std::string, int> result;
    auto apply = [&](const Lines& lines) {
      for (const std::string& l : lines) {
        std::string body = l.substr(2);
        bool add = l[0] == '+';
        result[body] += add ? 1 : -1;
        if (result[body] == 0) result.erase(body);
      }
    };
    auto change = [&](int input, std::map<int64_t, Row>& table, int64_t id, Row after) {
      auto it = table.find(id);
      if (it == table.end()) {
        after.kind = RowKind::kInsert;
        table[id] = after;
        apply(feed(input, after));
        return;
      }
      Row before = it->second;
      before.kind = RowKind::kUpdateBefore;
      apply(feed(input, before));
      after.kind = RowKind::kUpdateAfter;
      it->second = after;
      apply(feed(input, after));
    };
    auto remove = [&](int input, std::map<int64_t, Row>& table, int64_t id) {
      auto it = table.find(id);
      if (it == table.end()) return;
      Row before = it->second;
      before.kind = RowKind::kDelete;
      table.erase(it);
      apply(feed(input, before));
    };
    for (int step = 0; step < 400; ++step) {
      int64_t order = rng() % 8;
      int64_t shipment = 100 + rng() % 12;
      switch (rng() % 5) {
        case 0:
        case 1:
          change(0, orders, order, R(RowKind::kInsert, {I(order), S("p" + std::to_string(rng() % 3))}));
          break;
        case 2:
          change(1, shipments, shipment,
                 R(RowKind::kInsert, {I(shipment), I(order), S("o" + std::to_string(rng() % 2))}));
          break;
        case 3:
          remove(0, orders, order);
          break;
        case 4:
          remove(1, shipments, shipment);
          break;
      }
    }
    std::map<std::string, int> expected;
    for (const auto& [id, o] : orders) {
      bool matched = false;
      for (const auto& [sid, s] : shipments) {
        if (s.fields[1] == o.fields[0]) {
          matched = true;
          Row j{RowKind::kInsert, {o.fields[0], o.fields[1], s.fields[0], s.fields[1], s.fields[2]}};
          expected[j.ToString().substr(2)] += 1;
        }
      }
      if (!matched) {
        Row j{RowKind::kInsert, {o.fields[0], o.fields[1], Value(), Value(), Value()}};
        expected[j.ToString().substr(2)] += 1;
      }
    }
    ASSERT_EQ(result, expected) << "seed " << seed;
    EXPECT_EQ(join.stats().absent_retractions, 0u);
    EXPECT_EQ(join.stats().stale_changes, 0u);
    if (!positions) continue;
    const size_t prefix = rng() % log.size();
    uint64_t replayed = 0;
    for (int round = 0; round < 2; ++round) {
      const size_t n = round == 0 ? prefix : log.size();
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(Feed(join, log[i].first, log[i].second), Lines{}) << "seed " << seed;
        ++replayed;
      }
    }
    EXPECT_EQ(join.stats().stale_changes, replayed) << "seed " << seed;
    EXPECT_EQ(join.stats().absent_retractions, 0u);
    // Fresh changes still apply after the replay.
    if (!orders.empty()) {
      Row gone = orders.begin()->second;
      gone.kind = RowKind::kDelete;
      EXPECT_FALSE(feed(0, gone).empty()) << "seed " << seed;
    }
  }
}

TEST_F(ChangelogJoinTest, RandomChangelogsConvergeToTheJoinOfTheFinalTables) {
  RunRandomChangelogs(ctx_, /*positions=*/false);
}

TEST_F(ChangelogJoinTest, ReplayedChangesWithOldPositionsAreDroppedAndCounted) {
  RunRandomChangelogs(ctx_, /*positions=*/true);
}

TEST_F(ChangelogJoinTest, RandomChangelogsConvergeWithUniqueKeys) {
  RunRandomChangelogs(ctx_, /*positions=*/false, /*unique_keys=*/true);
}

TEST_F(ChangelogJoinTest, ReplayedChangesAreDroppedWithUniqueKeys) {
  RunRandomChangelogs(ctx_, /*positions=*/true, /*unique_keys=*/true);
}

TEST_F(ChangelogJoinTest, UniqueKeySideReplacesByKeyAndCountsAbsentRetractions) {
  JoinSpec spec = Spec(JoinType::kLeft);
  spec.left_unique_key = {0};
  spec.right_unique_key = {0};
  ChangelogJoinOperator join(spec);
  ASSERT_TRUE(join.Open(ctx_).ok());
  EXPECT_EQ(Feed(join, 0, R(RowKind::kInsert, {I(1), S("bike")})), (Lines{"+I[1, bike, null, null, null]"}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin")})),
            (Lines{"-D[1, bike, null, null, null]", "+I[1, bike, 10, 1, Berlin]"}));
  // An update: the old row out, the new one in, one entry per key throughout.
  EXPECT_EQ(Feed(join, 0, R(RowKind::kUpdateBefore, {I(1), S("bike")})),
            (Lines{"-U[1, bike, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 0, R(RowKind::kUpdateAfter, {I(1), S("car")})),
            (Lines{"+U[1, car, 10, 1, Berlin]"}));
  // The shipment's key is held once: its deletion brings the padded order back.
  EXPECT_EQ(Feed(join, 1, R(RowKind::kDelete, {I(10), I(1), S("Berlin")})),
            (Lines{"-D[1, car, 10, 1, Berlin]", "+I[1, car, null, null, null]"}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kDelete, {I(10), I(1), S("Berlin")})), Lines{});
  EXPECT_EQ(join.stats().absent_retractions, 1u);
}

TEST_F(ChangelogJoinTest, UniqueKeyOutsideTheRowIsAnErrorNamingTheInput) {
  JoinSpec spec = Spec(JoinType::kInner);
  spec.right_unique_key = {7};
  ChangelogJoinOperator join(spec);
  ASSERT_TRUE(join.Open(ctx_).ok());
  RowBatch in;
  in.Append(R(RowKind::kInsert, {I(10), I(1), S("Berlin")}));
  RowBatch out_batch;
  Collector out(&out_batch);
  absl::Status s = join.ProcessBatch(1, in, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("join right input: unique key field 7 is outside a row of 3 fields"),
            std::string::npos)
      << s;
}

TEST_F(ChangelogJoinTest, UniqueKeyOnThePositionColumnIsAnError) {
  JoinSpec spec = Spec(JoinType::kInner);
  spec.left_position = 2;
  spec.left_unique_key = {2};
  ChangelogJoinOperator join(spec);
  absl::Status s = join.Open(ctx_);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("left unique key field 2"), std::string::npos) << s;
}

Value B(std::string v) { return Value::Bin(std::move(v)); }

TEST_F(ChangelogJoinTest, PositionsAreTrackedPerRowNotPerJoinKey) {
  JoinSpec spec = Spec(JoinType::kInner);
  spec.right_position = 3;
  spec.right_row_key = {0};
  ChangelogJoinOperator join(spec);
  ASSERT_TRUE(join.Open(ctx_).ok());
  Feed(join, 0, R(RowKind::kInsert, {I(1), S("bike")}));
  // Two snapshot rows of one order share a position: both join.
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin"), B("\x05")})),
            (Lines{"+I[1, bike, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(11), I(1), S("Paris"), B("\x05")})),
            (Lines{"+I[1, bike, 11, 1, Paris]"}));
  // Bytewise order: 0x05 0x01 > 0x05; 0x04 0xff < 0x05.
  EXPECT_EQ(Feed(join, 1, R(RowKind::kDelete, {I(10), I(1), S("Berlin"), B("\x04\xff")})),
            Lines{});
  EXPECT_EQ(join.stats().stale_changes, 1u);
  EXPECT_EQ(Feed(join, 1, R(RowKind::kDelete, {I(10), I(1), S("Berlin"), B("\x05\x01")})),
            (Lines{"-D[1, bike, 10, 1, Berlin]"}));
  // A replayed insert of the deleted row stays deleted.
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin"), B("\x05")})), Lines{});
  EXPECT_EQ(join.stats().stale_changes, 2u);
}

TEST_F(ChangelogJoinTest, NullOrMixedPositionsAreErrorsNamingTheInput) {
  JoinSpec spec = Spec(JoinType::kInner);
  spec.left_position = 2;
  ChangelogJoinOperator join(spec);
  ASSERT_TRUE(join.Open(ctx_).ok());
  auto run = [&](Row row) {
    RowBatch in;
    in.Append(std::move(row));
    RowBatch out_batch;
    Collector out(&out_batch);
    return join.ProcessBatch(0, in, out);
  };
  absl::Status s = run(R(RowKind::kInsert, {I(1), S("bike"), Value()}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("join left input"), std::string::npos) << s;
  ASSERT_TRUE(run(R(RowKind::kInsert, {I(1), S("bike"), I(5)})).ok());
  s = run(R(RowKind::kDelete, {I(1), S("bike"), S("x")}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("source positions"), std::string::npos) << s;
}

// A task-like context whose keyed state is a RocksDB backend without a cache: every
// state read goes to the store, so its stats show how the join reads its state.
class StoreContext : public FakeContext, public checkpoint::KeyedStateAccess {
 public:
  explicit StoreContext(const std::string& dir) {
    state::KeyedStateOptions options;
    options.cache_bytes = 0;
    auto backend = state::KeyedStateBackend::CreateRocksDb(options, dir);
    EXPECT_TRUE(backend.ok()) << backend.status();
    if (backend.ok()) backend_ = *std::move(backend);
  }
  absl::StatusOr<state::KeyedStateBackend*> KeyedBackend() override { return backend_.get(); }
  std::unique_ptr<state::KeyedStateBackend> backend_;
};

std::string FreshDir(const std::string& name) { return cdcflow::testing::NewScratchPath(name); }

// A side unique on the join key holds one row per key: read with a point lookup (and
// batched per input batch), never a prefix scan; so are positions of rows identified by
// the join key. A side unique on another key is a map, read with a point lookup too
// while it holds a few rows (inline: the keyed state backend's MapTable).
TEST(ChangelogJoinLayoutTest, SidesUniqueOnTheJoinKeyAreReadWithoutScans) {
  StoreContext ctx(FreshDir("join_layout"));
  ASSERT_NE(ctx.backend_, nullptr);
  JoinSpec spec = Spec(JoinType::kLeft);
  spec.left_unique_key = {0};   // order_id = the join key
  spec.right_unique_key = {0};  // shipment_id
  spec.left_position = 2;
  spec.left_row_key = {0};
  ChangelogJoinOperator join(spec);
  ASSERT_TRUE(join.Open(ctx).ok());
  EXPECT_EQ(Feed(join, 0, R(RowKind::kInsert, {I(1), S("bike"), I(1)})),
            (Lines{"+I[1, bike, null, null, null]"}));
  // The order's shipments: the key never held one, so nothing is read.
  EXPECT_EQ(ctx.backend_->stats().scans, 0u);
  EXPECT_EQ(ctx.backend_->stats().skipped_reads, 1u);
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin")})),
            (Lines{"-D[1, bike, null, null, null]", "+I[1, bike, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 0, R(RowKind::kUpdateBefore, {I(1), S("bike"), I(2)})),
            (Lines{"-U[1, bike, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 0, R(RowKind::kUpdateAfter, {I(1), S("car"), I(3)})),
            (Lines{"+U[1, car, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 0, R(RowKind::kUpdateAfter, {I(1), S("old"), I(2)})), Lines{});
  EXPECT_EQ(join.stats().stale_changes, 1u);
  EXPECT_EQ(Feed(join, 1, R(RowKind::kDelete, {I(10), I(1), S("Berlin")})),
            (Lines{"-D[1, car, 10, 1, Berlin]", "+I[1, car, null, null, null]"}));
  // No scans: the order and its position by point reads; the shipments map, small, is
  // stored inline (one entry under the order's key), read by a point read too (nothing
  // stays cached here): the order's two changes (1 each), the shipment's delete (before
  // and after, the emptied map's head included).
  const state::KeyedStateStats stats = ctx.backend_->stats();
  EXPECT_EQ(stats.scans, 0u);
  EXPECT_EQ(stats.skipped_reads, 3u) << "the order's insert, the shipment's count before "
                                        "and its write: the key had none yet";
  EXPECT_GT(stats.prefetched + stats.misses, 0u);
  // The orders' positions are held with their rows (rows identified by their unique
  // key): no state of their own. The shipments have none (no position column).
  const std::string snapshot = FreshDir("join_layout_snapshot");
  ASSERT_TRUE(ctx.backend_->Snapshot(snapshot).ok());
  auto store = state::OpenKvSnapshot(snapshot);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_THAT((*store)->SpaceNames(),
              ::testing::IsSupersetOf({"left_with_positions_by_join_key", "right_by_unique_key"}));
  for (const std::string& name : (*store)->SpaceNames()) {
    EXPECT_TRUE(name.find("positions") == std::string::npos ||
                name.find("with_positions") != std::string::npos)
        << name;
  }
}

// A side with exact retractions removes a retracted row without reading the state: one
// point read less per retraction; a retraction of a row it never held is then joined
// and emitted (the input promised not to send one), not counted as absent.
TEST(ChangelogJoinLayoutTest, ExactRetractionsAreRemovedWithoutAStateRead) {
  struct Run {
    Lines out;
    uint64_t misses = 0;
    uint64_t absent = 0;
  };
  auto run = [](bool exact) {
    StoreContext ctx(FreshDir(exact ? "join_exact" : "join_checked"));
    JoinSpec spec = Spec(JoinType::kInner);
    spec.left_unique_key = {0};
    spec.right_unique_key = {0};  // shipment_id: a map under the join key
    spec.right_exact_retractions = exact;
    ChangelogJoinOperator join(spec);
    EXPECT_TRUE(join.Open(ctx).ok());
    Run r;
    Feed(join, 0, R(RowKind::kInsert, {I(1), S("bike")}));
    Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin")}));
    Feed(join, 1, R(RowKind::kInsert, {I(12), I(1), S("Rome")}));
    const uint64_t before = ctx.backend_->stats().misses;
    for (const std::string& line : Feed(join, 1, R(RowKind::kDelete, {I(10), I(1), S("Berlin")}))) {
      r.out.push_back(line);
    }
    r.misses = ctx.backend_->stats().misses - before;
    for (const std::string& line : Feed(join, 1, R(RowKind::kDelete, {I(11), I(1), S("Paris")}))) {
      r.out.push_back(line);
    }
    r.absent = join.stats().absent_retractions;
    EXPECT_TRUE(ctx.backend_->status().ok()) << ctx.backend_->status();
    return r;
  };
  const Run checked = run(false);
  const Run exact = run(true);
  EXPECT_EQ(checked.out, (Lines{"-D[1, bike, 10, 1, Berlin]"}));
  EXPECT_EQ(checked.absent, 1u);
  EXPECT_EQ(exact.out, (Lines{"-D[1, bike, 10, 1, Berlin]", "-D[1, bike, 11, 1, Paris]"}));
  EXPECT_EQ(exact.absent, 0u);
  EXPECT_EQ(exact.misses + 1, checked.misses);
}

TEST(ChangelogJoinLayoutTest, ExactRetractionsNeedAUniqueKey) {
  FakeContext ctx;
  JoinSpec spec = Spec(JoinType::kInner);
  spec.left_exact_retractions = true;
  ChangelogJoinOperator join(spec);
  const absl::Status s = join.Open(ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("left exact retractions need a unique key"));
}

// With replay protection, a side whose rows are identified by its unique key keeps each
// row's position with the row, and a removed row's position in a tombstone: one state,
// one entry per row, and a replayed insert of a deleted row still stays deleted.
TEST(ChangelogJoinLayoutTest, PositionsOfUniqueRowsAreHeldWithTheRows) {
  StoreContext ctx(FreshDir("join_positions_layout"));
  ASSERT_NE(ctx.backend_, nullptr);
  JoinSpec spec = Spec(JoinType::kInner);
  spec.left_unique_key = {0};
  spec.right_unique_key = {0};
  spec.left_position = 2;
  spec.right_position = 3;
  spec.right_row_key = {0};  // shipment_id (the left's is the join key: empty)
  ChangelogJoinOperator join(spec);
  ASSERT_TRUE(join.Open(ctx).ok());
  Feed(join, 0, R(RowKind::kInsert, {I(1), S("bike"), I(1)}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin"), I(2)})),
            (Lines{"+I[1, bike, 10, 1, Berlin]"}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(11), I(1), S("Paris"), I(3)})),
            (Lines{"+I[1, bike, 11, 1, Paris]"}));
  EXPECT_EQ(Feed(join, 1, R(RowKind::kDelete, {I(10), I(1), S("Berlin"), I(4)})),
            (Lines{"-D[1, bike, 10, 1, Berlin]"}));
  // Replays: the deleted shipment's insert, the order's insert.
  EXPECT_EQ(Feed(join, 1, R(RowKind::kInsert, {I(10), I(1), S("Berlin"), I(2)})), Lines{});
  EXPECT_EQ(Feed(join, 0, R(RowKind::kInsert, {I(1), S("bike"), I(1)})), Lines{});
  EXPECT_EQ(join.stats().stale_changes, 2u);
  EXPECT_EQ(Feed(join, 0, R(RowKind::kDelete, {I(1), S("bike"), I(5)})),
            (Lines{"-D[1, bike, 11, 1, Paris]"}));
  const std::string snapshot = FreshDir("join_positions_layout_snapshot");
  ASSERT_TRUE(ctx.backend_->Snapshot(snapshot).ok());
  auto store = state::OpenKvSnapshot(snapshot);
  ASSERT_TRUE(store.ok()) << store.status();
  std::map<std::string, int> entries;
  const std::vector<std::string> names = (*store)->SpaceNames();
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE((*store)->Scan(static_cast<int>(i), "", "", [&](std::string_view, std::string_view) {
      ++entries[names[i]];
    }).ok());
  }
  // The order (a tombstone now) and its map of two shipments (one a tombstone), inline:
  // one entry each; nothing else.
  EXPECT_EQ(entries, (std::map<std::string, int>{{"left_with_positions_by_join_key", 1},
                                                 {"right_with_positions_by_unique_key", 1}}));
}

class UpsertMaterializerTest : public ::testing::Test {
 protected:
  FakeContext ctx_;
};

TEST_F(UpsertMaterializerTest, LateRetractionOfAnOlderRowKeepsTheNewOne) {
  UpsertMaterializerOperator m(UpsertMaterializerSpec{{0}});
  ASSERT_TRUE(m.Open(ctx_).ok());
  EXPECT_EQ(Feed(m, 0, R(RowKind::kInsert, {I(1), S("a")})), (Lines{"+U[1, a]"}));
  // A join emits the new row before retracting the old one.
  EXPECT_EQ(Feed(m, 0, R(RowKind::kUpdateAfter, {I(1), S("b")})), (Lines{"+U[1, b]"}));
  EXPECT_EQ(Feed(m, 0, R(RowKind::kUpdateBefore, {I(1), S("a")})), Lines{});
  // Retracting the visible row falls back to nothing left: a delete.
  EXPECT_EQ(Feed(m, 0, R(RowKind::kDelete, {I(1), S("b")})), (Lines{"-D[1, b]"}));
}

TEST_F(UpsertMaterializerTest, RetractingTheVisibleRowShowsThePreviousOne) {
  UpsertMaterializerOperator m(UpsertMaterializerSpec{{0}});
  ASSERT_TRUE(m.Open(ctx_).ok());
  Feed(m, 0, R(RowKind::kInsert, {I(1), S("a")}));
  Feed(m, 0, R(RowKind::kInsert, {I(1), S("b")}));
  EXPECT_EQ(Feed(m, 0, R(RowKind::kDelete, {I(1), S("b")})), (Lines{"+U[1, a]"}));
  EXPECT_EQ(Feed(m, 0, R(RowKind::kDelete, {I(1), S("zzz")})), Lines{});
  EXPECT_EQ(m.stats().absent_retractions, 1u);
}

TEST_F(UpsertMaterializerTest, ReplayedChangesAreDroppedAndVersionsOnlyGrow) {
  UpsertMaterializerSpec spec{{0}};
  spec.position_field = 2;
  spec.append_version = true;
  UpsertMaterializerOperator m(spec);
  ctx_.now_ms_ = 5;  // the version floor: 5000 us
  ASSERT_TRUE(m.Open(ctx_).ok());
  std::vector<Row> log = {R(RowKind::kInsert, {I(1), S("a"), I(10)}),
                          R(RowKind::kUpdateBefore, {I(1), S("a"), I(11)}),
                          R(RowKind::kUpdateAfter, {I(1), S("b"), I(12)}),
                          R(RowKind::kInsert, {I(2), S("x"), I(13)}),
                          R(RowKind::kDelete, {I(2), S("x"), I(14)})};
  Lines all;
  for (const Row& r : log) {
    for (std::string& l : Feed(m, 0, r)) all.push_back(std::move(l));
  }
  EXPECT_EQ(all, (Lines{"+U[1, a, 5000]", "-D[1, a, 5001]", "+U[1, b, 5002]", "+U[2, x, 5000]",
                        "-D[2, x, 5001]"}));
  for (const Row& r : log) EXPECT_EQ(Feed(m, 0, r), Lines{});
  EXPECT_EQ(m.stats().stale_changes, log.size());
  EXPECT_EQ(Feed(m, 0, R(RowKind::kUpdateBefore, {I(1), S("b"), I(20)})), (Lines{"-D[1, b, 5003]"}));
}

// The rows of `rows` as one batch into `op`; the output rows as text.
Lines FeedBatch(Operator& op, std::vector<Row> rows) {
  RowBatch in;
  for (Row& r : rows) in.Append(std::move(r));
  RowBatch out_batch;
  Collector out(&out_batch);
  absl::Status s = op.ProcessBatch(0, in, out);
  EXPECT_TRUE(s.ok()) << s;
  Lines lines;
  for (const Row& r : out_batch.rows()) lines.push_back(r.ToString());
  return lines;
}

// An update is -U then +U of the same key: its +U alone comes out, not a delete (or the
// key's previous row) before it; so does a left join's -D/+I of a padded row getting its
// match. A retraction not followed by an addition for its key still emits its change.
// Snapshots taken before the materializer held its rows encoded have them in a list
// state "rows": a restored key's rows are read from it (then moved), in arrival order.
TEST(UpsertMaterializerLayoutTest, RowsOfTheOlderListLayoutAreRead) {
  StoreContext ctx(FreshDir("materializer_legacy"));
  ASSERT_NE(ctx.backend_, nullptr);
  {
    ListState* legacy = *ctx.backend_->GetListState("rows");
    ctx.backend_->SetCurrentKey(Key{{I(1)}});
    legacy->Add(R(RowKind::kInsert, {I(1), S("a")}));
    legacy->Add(R(RowKind::kInsert, {I(1), S("b")}));
    ASSERT_TRUE(ctx.backend_->Flush().ok());
  }
  UpsertMaterializerOperator m(UpsertMaterializerSpec{{0}});
  ASSERT_TRUE(m.Open(ctx).ok());
  EXPECT_EQ(Feed(m, 0, R(RowKind::kDelete, {I(1), S("b")})), (Lines{"+U[1, a]"}));
  EXPECT_EQ(Feed(m, 0, R(RowKind::kDelete, {I(1), S("a")})), (Lines{"-D[1, a]"}));
  EXPECT_EQ(m.stats().absent_retractions, 0u);
  // Moved: the list is empty now, and a new row of the key stands alone.
  ctx.backend_->SetCurrentKey(Key{{I(1)}});
  EXPECT_TRUE((*ctx.backend_->GetListState("rows"))->Get().empty());
  EXPECT_EQ(Feed(m, 0, R(RowKind::kInsert, {I(1), S("c")})), (Lines{"+U[1, c]"}));
  EXPECT_EQ(Feed(m, 0, R(RowKind::kDelete, {I(1), S("c")})), (Lines{"-D[1, c]"}));
}

// Without that state nothing is opened for it.
TEST(UpsertMaterializerLayoutTest, AFreshStateHasNoListLayout) {
  StoreContext ctx(FreshDir("materializer_fresh"));
  ASSERT_NE(ctx.backend_, nullptr);
  UpsertMaterializerOperator m(UpsertMaterializerSpec{{0}});
  ASSERT_TRUE(m.Open(ctx).ok());
  EXPECT_EQ(Feed(m, 0, R(RowKind::kInsert, {I(1), S("a")})), (Lines{"+U[1, a]"}));
  EXPECT_TRUE(ctx.backend_->HoldsState("rows_encoded"));
  EXPECT_FALSE(ctx.backend_->HoldsState("rows"));
}

TEST_F(UpsertMaterializerTest, AnUpdateComesOutAsOneUpsert) {
  UpsertMaterializerOperator m(UpsertMaterializerSpec{{0}});
  ASSERT_TRUE(m.Open(ctx_).ok());
  EXPECT_EQ(FeedBatch(m, {R(RowKind::kInsert, {I(1), S("a")}), R(RowKind::kInsert, {I(2), S("x")})}),
            (Lines{"+U[1, a]", "+U[2, x]"}));
  EXPECT_EQ(FeedBatch(m, {R(RowKind::kUpdateBefore, {I(1), S("a")}),
                          R(RowKind::kUpdateAfter, {I(1), S("b")}),
                          R(RowKind::kUpdateBefore, {I(2), S("x")}),
                          R(RowKind::kUpdateAfter, {I(2), S("y")})}),
            (Lines{"+U[1, b]", "+U[2, y]"}));
  EXPECT_EQ(m.stats().folded_updates, 2u);
  // Two rows of key 1 (a join's transient duplicate): retracting the visible one
  // shows the older one, unless its update follows.
  FeedBatch(m, {R(RowKind::kInsert, {I(1), S("c")})});
  EXPECT_EQ(FeedBatch(m, {R(RowKind::kUpdateBefore, {I(1), S("c")}),
                          R(RowKind::kUpdateAfter, {I(1), S("d")})}),
            (Lines{"+U[1, d]"}));
  // A -U whose +U goes to another key, and one at the end of the batch: emitted.
  EXPECT_EQ(FeedBatch(m, {R(RowKind::kUpdateBefore, {I(2), S("y")}),
                          R(RowKind::kUpdateAfter, {I(3), S("y")}),
                          R(RowKind::kUpdateBefore, {I(1), S("d")})}),
            (Lines{"-D[2, y]", "+U[3, y]", "+U[1, b]"}));
  EXPECT_EQ(m.stats().folded_updates, 3u);
  EXPECT_EQ(FeedBatch(m, {R(RowKind::kDelete, {I(3), S("y")}), R(RowKind::kInsert, {I(3), S("z")}),
                          R(RowKind::kDelete, {I(3), S("z")})}),
            (Lines{"+U[3, z]", "-D[3, z]"}));
  EXPECT_EQ(m.stats().folded_updates, 4u);
}

}  // namespace
}  // namespace cdcflow::operators
