// A test job for checkpoints, failover and rescaling in the cluster, built so that a
// lost or duplicated row shows in its output:
//
//   splits source --hash by key--> per-key running sum --> committing file sink
//
// - The source generates rows i = 0 .. records-1 (key "k<i % keys>", value i) from a
//   fixed number of splits (split j: i = j, j+splits, ...); each subtask owns the splits
//   j with j % parallelism == subtask, and its position is (split, next i) per owned
//   split, so positions survive a change of parallelism (every new subtask restores
//   every old position and keeps the splits it owns). `rate`: rows per second per
//   subtask (0: unthrottled); the source reports kIdle rather than sleeping.
// - The sum emits [key, sum, count] for every row: per key, count runs 1, 2, 3, ...
// - The sink writes rows into an in-progress file, turns it into a pending file at each
//   checkpoint (its state lists every pending file), renames pending files to
//   committed-* when the checkpoint completes, and commits the pending files a restored
//   checkpoint lists. Only committed-* files are output.
//
// So, with exactly-once recovery, the committed output holds, per key, every count
// 1..n exactly once and the row with count n carries the key's total.
//
// Arguments: records (-1: endless), keys, splits, rate, output (a directory).
#include <algorithm>
#include <filesystem>
#include <limits>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cdcflow/job.h"
#include "cdcflow/plugin.h"

namespace {

namespace fs = std::filesystem;
using cdcflow::Collector;
using cdcflow::KeyedContext;
using cdcflow::KeyedProcessFunction;
using cdcflow::KeyedRuntimeContext;
using cdcflow::KeyedValueState;
using cdcflow::PollResult;
using cdcflow::PollStatus;
using cdcflow::Row;
using cdcflow::RowBatch;
using cdcflow::RuntimeContext;
using cdcflow::Value;

class SplitsSource final : public cdcflow::SourceFunction {
 public:
  SplitsSource(int64_t records, int64_t keys, int64_t splits, int64_t rate)
      : records_(records), keys_(keys), splits_(splits), rate_(rate) {}

  absl::Status Open(RuntimeContext& ctx) override {
    for (int64_t j = ctx.subtask_index(); j < splits_; j += ctx.parallelism()) next_[j] = j;
    start_ = absl::Now();
    return absl::OkStatus();
  }

  absl::StatusOr<PollResult> PollBatch(RowBatch& out, size_t max_rows) override {
    PollResult result;
    size_t budget = max_rows;
    if (rate_ > 0) {
      const int64_t allowed =
          static_cast<int64_t>(absl::ToDoubleSeconds(absl::Now() - start_) * rate_) + 1;
      if (produced_ >= allowed) {
        result.status = PollStatus::kIdle;
        return result;
      }
      budget = std::min<size_t>(budget, static_cast<size_t>(allowed - produced_));
    }
    bool more = false;
    while (out.size() < budget) {
      bool any = false;
      for (auto& [split, next] : next_) {
        if (records_ >= 0 && next >= records_) continue;
        Row row;
        row.fields = {Value::Str(absl::StrCat("k", next % keys_)), Value::Int64(next)};
        out.Append(std::move(row));
        next += splits_;
        any = true;
        if (out.size() >= budget) break;
      }
      if (!any) break;
    }
    produced_ += static_cast<int64_t>(out.size());
    for (auto& [split, next] : next_) more = more || records_ < 0 || next < records_;
    if (!more) result.status = PollStatus::kEndOfInput;
    return result;
  }

  absl::StatusOr<std::string> SnapshotPosition(int64_t) override {
    std::string s;
    for (const auto& [split, next] : next_) absl::StrAppend(&s, split, "=", next, ";");
    return s;
  }

  // Called once per old subtask's position; keeps the splits this subtask owns.
  absl::Status RestorePosition(std::string_view view) override {
    const std::string position(view);  // Debian's absl has its own string_view
    for (absl::string_view part : absl::StrSplit(position, ';', absl::SkipEmpty())) {
      std::vector<absl::string_view> kv = absl::StrSplit(part, '=');
      int64_t split = 0, next = 0;
      if (kv.size() != 2 || !absl::SimpleAtoi(kv[0], &split) || !absl::SimpleAtoi(kv[1], &next)) {
        return absl::DataLossError(absl::StrCat("splits source: bad position '", position, "'"));
      }
      auto it = next_.find(split);
      if (it != next_.end()) it->second = next;
    }
    return absl::OkStatus();
  }

 private:
  int64_t records_, keys_, splits_, rate_;
  std::map<int64_t, int64_t> next_;  // owned split -> next index
  absl::Time start_;
  int64_t produced_ = 0;
};

class RunningSum final : public KeyedProcessFunction {
 public:
  absl::Status Open(KeyedRuntimeContext& ctx) override {
    auto sum = ctx.GetValueState("sum");
    if (!sum.ok()) return sum.status();
    sum_ = *sum;
    auto count = ctx.GetValueState("count");
    if (!count.ok()) return count.status();
    count_ = *count;
    return absl::OkStatus();
  }
  absl::Status ProcessElement(Row& row, KeyedContext& ctx, Collector& out) override {
    const Value* sum = sum_->Get();
    int64_t s = row.fields[1].as_int64() + (sum == nullptr ? 0 : sum->as_int64());
    int64_t c = 1 + (sum == nullptr ? 0 : count_->Get()->as_int64());
    sum_->Put(Value::Int64(s));
    count_->Put(Value::Int64(c));
    Row result;
    result.fields = {ctx.current_key().fields[0], Value::Int64(s), Value::Int64(c)};
    out.Emit(std::move(result));
    return absl::OkStatus();
  }

 private:
  KeyedValueState* sum_ = nullptr;
  KeyedValueState* count_ = nullptr;
};

class CommittingFileSink final : public cdcflow::SinkFunction {
 public:
  explicit CommittingFileSink(std::string dir) : dir_(std::move(dir)) {}

  absl::Status Open(RuntimeContext& ctx) override {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir_, ": ", ec.message()));
    std::random_device rd;
    token_ = absl::StrCat(rd(), rd());  // names this instance's files
    subtask_ = ctx.subtask_index();
    return absl::OkStatus();
  }

  absl::Status WriteBatch(RowBatch& batch) override {
    if (!out_.is_open()) {
      in_progress_ = absl::StrCat(dir_, "/.inprogress-", token_, "-", subtask_, "-", seq_++);
      out_.open(in_progress_, std::ios::out | std::ios::trunc);
      if (!out_) return absl::UnavailableError("cannot open " + in_progress_);
    }
    for (const Row& row : batch.rows()) out_ << row.ToString() << "\n";
    if (!out_) return absl::UnavailableError("cannot write " + in_progress_);
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> PrepareCommit(int64_t id) override {
    if (out_.is_open()) {
      out_.close();
      if (!out_) return absl::UnavailableError("cannot close " + in_progress_);
      const std::string name = absl::StrCat(token_, "-", subtask_, "-", id);
      std::error_code ec;
      fs::rename(in_progress_, dir_ + "/.pending-" + name, ec);
      if (ec) return absl::UnavailableError(absl::StrCat("cannot stage ", name, ": ", ec.message()));
      pending_.emplace_back(id, name);
    }
    std::string state;
    for (const auto& [pid, name] : pending_) absl::StrAppend(&state, name, "\n");
    return state;
  }

  absl::Status Commit(int64_t id) override {
    while (!pending_.empty() && pending_.front().first <= id) {
      absl::Status s = CommitFile(pending_.front().second);
      if (!s.ok()) return s;
      pending_.erase(pending_.begin());
    }
    return absl::OkStatus();
  }

  absl::Status RestoreState(std::string_view view) override {
    const std::string state(view);
    for (absl::string_view name : absl::StrSplit(state, '\n', absl::SkipEmpty())) {
      absl::Status s = CommitFile(std::string(name));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Finish() override {
    absl::StatusOr<std::string> staged = PrepareCommit(std::numeric_limits<int64_t>::max());
    if (!staged.ok()) return staged.status();
    return Commit(std::numeric_limits<int64_t>::max());
  }

  absl::Status Close() override {
    if (out_.is_open()) out_.close();
    return absl::OkStatus();
  }

 private:
  absl::Status CommitFile(const std::string& name) {
    const std::string pending = dir_ + "/.pending-" + name;
    const std::string committed = dir_ + "/committed-" + name;
    std::error_code ec;
    if (fs::exists(committed)) return absl::OkStatus();  // committed before the restart
    fs::rename(pending, committed, ec);
    if (ec) {
      return absl::DataLossError(
          absl::StrCat("committing sink: cannot commit ", pending, ": ", ec.message()));
    }
    return absl::OkStatus();
  }

  std::string dir_;
  std::string token_;
  int subtask_ = 0;
  int seq_ = 0;
  std::string in_progress_;
  std::ofstream out_;
  std::vector<std::pair<int64_t, std::string>> pending_;  // ascending checkpoint ids
};

absl::Status Build(cdcflow::JobBuilder& job) {
  auto records = job.args().GetInt("records", 10000);
  if (!records.ok()) return records.status();
  auto keys = job.args().GetInt("keys", 100);
  if (!keys.ok()) return keys.status();
  auto splits = job.args().GetInt("splits", 8);
  if (!splits.ok()) return splits.status();
  auto rate = job.args().GetInt("rate", 0);
  if (!rate.ok()) return rate.status();
  if (*keys < 1 || *splits < 1 || *rate < 0) {
    return absl::InvalidArgumentError("checkpointed_sum: keys >= 1, splits >= 1, rate >= 0");
  }
  const std::string output = job.args().Get("output");
  if (output.empty()) return absl::InvalidArgumentError("checkpointed_sum: output=DIR is required");
  const int64_t r = *records, k = *keys, sp = *splits, rt = *rate;
  job.SetJobName("checkpointed_sum");
  job.Source("splits", [r, k, sp, rt]() -> std::unique_ptr<cdcflow::SourceFunction> {
       return std::make_unique<SplitsSource>(r, k, sp, rt);
     })
      .KeyBy({0})
      .Process("sum", [] { return std::make_unique<RunningSum>(); })
      .SinkTo("out", [output]() -> std::unique_ptr<cdcflow::SinkFunction> {
        return std::make_unique<CommittingFileSink>(output);
      });
  return absl::OkStatus();
}

}  // namespace

CDCFLOW_JOB(Build)
