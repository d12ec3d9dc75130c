#pragma once
// The job graph builder: what a job plugin's build function uses.
//
//   absl::Status Build(cdcflow::JobBuilder& job) {
//     absl::StatusOr<int64_t> n = job.args().GetInt("records", 1000);
//     if (!n.ok()) return n.status();
//     job.Source("numbers", cdcflow::Generator(*n, [](int64_t i) { return MakeRow(i); }))
//        .Map("double", [](cdcflow::Row row) { ...; return row; })
//        .KeyBy({0})
//        .Process("sum", [] { return std::make_unique<SumFunction>(); })
//        .SetParallelism(4)
//        .SinkTo("out", cdcflow::FileSink(job.args().Get("output")));
//     return absl::OkStatus();
//   }
//   CDCFLOW_JOB(Build)
//
// The build function runs in every process that runs the job (the CLI, the job
// manager, each task manager), with the same arguments, and must build the same graph
// each time: the graph's topology is what travels between processes, the operator
// instances are recreated locally from the factories given here. Factories are called
// once per subtask (never per row), possibly from several threads at once, and must
// return a fresh instance each time.
//
// Mistakes (a keyed Process without KeyBy, a bad parallelism, using a sink's stream as
// an input) are recorded in the builder and reported by the runtime after the build
// function returns, as absl::Status naming the vertex.

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "cdcflow/batch.h"
#include "cdcflow/export.h"
#include "cdcflow/job_args.h"
#include "cdcflow/operator.h"
#include "cdcflow/sink.h"
#include "cdcflow/source.h"

namespace cdcflow {

using SourceFactory = std::function<std::unique_ptr<SourceFunction>()>;
using OperatorFactory = std::function<std::unique_ptr<Operator>()>;
using KeyedProcessFactory = std::function<std::unique_ptr<KeyedProcessFunction>()>;
using SinkFactory = std::function<std::unique_ptr<SinkFunction>()>;

// How rows travel along an edge from the upstream subtasks to the downstream ones.
// The numeric values travel between processes: never renumber.
enum class Partitioning : uint8_t {
  kAuto = 0,       // kForward when both sides have the same parallelism, else kRebalance
  kForward = 1,    // subtask i -> subtask i (same parallelism required); may be chained
  kHash = 2,       // by key: key group = KeyHash(key) % max_parallelism
  kBroadcast = 3,  // every row to every downstream subtask
  kRebalance = 4,  // round-robin by batch
};

inline constexpr int kDefaultMaxParallelism = 128;

class JobBuilder;

// A handle to one vertex's output, plus how the next edge drawn from it partitions.
// A cheap value type; valid while its JobBuilder lives.
class CDCFLOW_API Stream {
 public:
  Stream() = default;

  // Partitioning of the next edge drawn from this stream.
  Stream KeyBy(std::vector<int> fields) const;
  template <typename F>  // Value f(const Row&) or Key f(const Row&)
    requires std::is_invocable_v<const F&, const Row&>
  Stream KeyBy(F f, std::string description = "lambda") const {
    return KeyBySelector(std::make_shared<LambdaKeySelector<F>>(std::move(f), std::move(description)));
  }
  Stream KeyBySelector(std::shared_ptr<const KeySelector> selector) const;
  Stream Forward() const { return WithPartitioning(Partitioning::kForward); }
  Stream Broadcast() const { return WithPartitioning(Partitioning::kBroadcast); }
  Stream Rebalance() const { return WithPartitioning(Partitioning::kRebalance); }

  // Row f(Row row): one row in, one row out.
  template <typename F>
  Stream Map(std::string name, F f) const;
  // bool f(const Row& row): keeps the rows for which f is true.
  template <typename F>
  Stream Filter(std::string name, F f) const;
  // void f(Row& row, Collector& out): emits zero or more rows per row.
  template <typename F>
  Stream FlatMap(std::string name, F f) const;
  // A keyed process function on a keyed stream (KeyBy first).
  Stream Process(std::string name, KeyedProcessFactory factory) const;
  // Any operator, for full control (batch-level processing, watermarks, timers).
  Stream Transform(std::string name, OperatorFactory factory) const;
  // Ends the stream in a sink; the returned handle only serves SetParallelism.
  Stream SinkTo(std::string name, SinkFactory factory) const;

  // Parallelism of this stream's vertex (default: the job's default parallelism).
  Stream& SetParallelism(int parallelism);
  // Number of key groups of a keyed vertex (default kDefaultMaxParallelism).
  Stream& SetMaxParallelism(int max_parallelism);

  int vertex_id() const { return vertex_; }
  Partitioning partitioning() const { return partitioning_; }
  const std::shared_ptr<const KeySelector>& key_selector() const { return key_; }
  JobBuilder* builder() const { return builder_; }

 private:
  friend class JobBuilder;
  Stream(JobBuilder* builder, int vertex) : builder_(builder), vertex_(vertex) {}
  Stream WithPartitioning(Partitioning p) const {
    Stream s = *this;
    s.partitioning_ = p;
    s.key_ = nullptr;
    return s;
  }

  JobBuilder* builder_ = nullptr;
  int vertex_ = -1;
  Partitioning partitioning_ = Partitioning::kAuto;
  std::shared_ptr<const KeySelector> key_;
};

// Collects the job graph. Created by the runtime and handed to the plugin's build
// function; not thread-safe (the build function runs on one thread).
class CDCFLOW_API JobBuilder {
 public:
  struct Impl;  // the runtime's graph (runtime/graph), opaque to jobs
  JobBuilder(JobArgs args, int default_parallelism);
  ~JobBuilder();
  JobBuilder(const JobBuilder&) = delete;
  JobBuilder& operator=(const JobBuilder&) = delete;

  const JobArgs& args() const;
  // The parallelism vertices get unless they set one (`cdcflow run --parallelism`).
  int default_parallelism() const;
  void SetJobName(std::string name);

  Stream Source(std::string name, SourceFactory factory);
  // An operator with several inputs: input i of the operator is inputs[i], each
  // partitioned as that stream says.
  Stream Transform(std::string name, const std::vector<Stream>& inputs, OperatorFactory factory);

  // The first mistake recorded while building, or OK.
  absl::Status status() const;
  void RecordError(absl::Status error);

  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  friend class Stream;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------
// Built-in operators (templates, so user functions inline into the batch loop).

namespace internal {

template <typename F>
class MapOperator final : public Operator {
 public:
  explicit MapOperator(F f) : f_(std::move(f)) {}
  absl::Status ProcessBatch(int, RowBatch& batch, Collector& out) override {
    for (Row& row : batch.mutable_rows()) row = f_(std::move(row));
    if (out.batch().empty()) {
      std::swap(out.batch(), batch);
    } else {
      for (size_t i = 0; i < batch.size(); ++i)
        out.Emit(std::move(batch.mutable_row(i)), batch.timestamp(i));
    }
    return absl::OkStatus();
  }

 private:
  F f_;
};

template <typename F>
class FilterOperator final : public Operator {
 public:
  explicit FilterOperator(F f) : f_(std::move(f)) {}
  absl::Status ProcessBatch(int, RowBatch& batch, Collector& out) override {
    for (size_t i = 0; i < batch.size(); ++i) {
      if (f_(static_cast<const Row&>(batch.row(i)))) {
        out.Emit(std::move(batch.mutable_row(i)), batch.timestamp(i));
      }
    }
    return absl::OkStatus();
  }

 private:
  F f_;
};

template <typename F>
class FlatMapOperator final : public Operator {
 public:
  explicit FlatMapOperator(F f) : f_(std::move(f)) {}
  absl::Status ProcessBatch(int, RowBatch& batch, Collector& out) override {
    for (size_t i = 0; i < batch.size(); ++i) f_(batch.mutable_row(i), out);
    return absl::OkStatus();
  }

 private:
  F f_;
};

}  // namespace internal

template <typename F>
Stream Stream::Map(std::string name, F f) const {
  return Transform(std::move(name), [f]() -> std::unique_ptr<Operator> {
    return std::make_unique<internal::MapOperator<F>>(f);
  });
}
template <typename F>
Stream Stream::Filter(std::string name, F f) const {
  return Transform(std::move(name), [f]() -> std::unique_ptr<Operator> {
    return std::make_unique<internal::FilterOperator<F>>(f);
  });
}
template <typename F>
Stream Stream::FlatMap(std::string name, F f) const {
  return Transform(std::move(name), [f]() -> std::unique_ptr<Operator> {
    return std::make_unique<internal::FlatMapOperator<F>>(f);
  });
}

// ---------------------------------------------------------------------------------
// Built-in sources and sinks.

// A bounded generator: rows f(0) .. f(count-1) (unbounded when count < 0). Subtask s
// of p generates the indices s, s+p, s+2p, ... `f` is `Row f(int64_t index)`, or
// `std::pair<Row, int64_t> f(int64_t index)` to give each row an event time, which
// must then not decrease with the index; the subtask's watermark follows it.
template <typename F>
class GeneratorSource final : public SourceFunction {
 public:
  GeneratorSource(int64_t count, F f) : count_(count), f_(std::move(f)) {}
  absl::Status Open(RuntimeContext& ctx) override {
    if (!restored_) next_ = ctx.subtask_index();
    step_ = ctx.parallelism();
    return absl::OkStatus();
  }
  absl::StatusOr<PollResult> PollBatch(RowBatch& out, size_t max_rows) override {
    PollResult result;
    while (out.size() < max_rows && (count_ < 0 || next_ < count_)) {
      if constexpr (std::is_same_v<std::invoke_result_t<F&, int64_t>, Row>) {
        out.Append(f_(next_));
      } else {
        auto [row, ts] = f_(next_);
        out.Append(std::move(row), ts);
        result.watermark = ts;
      }
      next_ += step_;
    }
    if (count_ >= 0 && next_ >= count_) result.status = PollStatus::kEndOfInput;
    return result;
  }
  absl::StatusOr<std::string> SnapshotPosition(int64_t) override {
    std::string bytes(sizeof(next_), '\0');
    std::memcpy(bytes.data(), &next_, sizeof(next_));
    return bytes;
  }
  absl::Status RestorePosition(std::string_view position) override {
    if (position.size() != sizeof(next_)) {
      return absl::DataLossError("generator source: position is not 8 bytes");
    }
    std::memcpy(&next_, position.data(), sizeof(next_));
    restored_ = true;
    return absl::OkStatus();
  }

 private:
  int64_t count_;
  F f_;
  int64_t next_ = 0;
  int64_t step_ = 1;
  bool restored_ = false;
};

template <typename F>
SourceFactory Generator(int64_t count, F f) {
  return [count, f]() -> std::unique_ptr<SourceFunction> {
    return std::make_unique<GeneratorSource<F>>(count, f);
  };
}

// Prints each row's Row::ToString() on stdout, one per line, prefixed "<subtask>> "
// when the sink's parallelism is above 1 (as Flink's print()). Lines from different
// subtasks never interleave within a line.
CDCFLOW_API SinkFactory StdoutSink();
// Writes each row's Row::ToString() as a line, creating the directory, exactly once
// across restarts (staged files, committed by checkpoint). A run that never
// checkpoints makes its rows visible at Finish in `<directory>/part-<subtask>`; with
// checkpoints every committed checkpoint adds `<directory>/part-<subtask>-<NNNNNN>`
// (a zero-padded sequence: read them in name order). Invisible staging files start
// with '.'. A fresh start (not a restore) deletes the subtask's files of an earlier run.
CDCFLOW_API SinkFactory FileSink(std::string directory);

}  // namespace cdcflow
