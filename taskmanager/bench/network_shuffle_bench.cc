// Records per second through a hash shuffle between two task-manager processes over
// loopback, plus the wire encoding's cost per record. Run on demand:
//   build/release/bin/network_shuffle_bench [records=20000000] [parallelism=2]
// Starts a job manager and two task managers (parallelism/2 slots each, rounded up) as
// separate `cdcflow` processes, runs jobs/shuffle_bench_job.so (generator --hash-->
// counting sink) and times it from every task RUNNING to the job FINISHED.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/cluster_flags.h"
#include "taskmanager/network_exchange.h"
#include "tests/testing/subprocess.h"

namespace {

using cdcflow::testing::Subprocess;

cdcflow::RowBatch SmallRows(int n) {
  cdcflow::RowBatch batch;
  for (int i = 0; i < n; ++i) {
    cdcflow::Row row;
    row.fields = {cdcflow::Value::Int64(i % 100000), cdcflow::Value::Int64(i * 7919LL)};
    batch.Append(std::move(row));
  }
  return batch;
}

// Encode into the ExchangeMessage, serialize, parse, decode: what one remote batch costs.
void CodecCost() {
  const int kRows = 1024, kRounds = 2000;
  cdcflow::RowBatch batch = SmallRows(kRows);
  cdcflow::v1::ExchangeMessage msg, parsed;
  std::string wire;
  cdcflow::RowBatch back;
  absl::Duration encode, decode;
  for (int r = 0; r < kRounds; ++r) {
    absl::Time t0 = absl::Now();
    cdcflow::taskmanager::EncodeBatchMessage(batch, msg.mutable_batch());
    msg.SerializeToString(&wire);
    absl::Time t1 = absl::Now();
    parsed.ParseFromString(wire);
    if (!cdcflow::taskmanager::DecodeBatchMessage(parsed.batch(), &back).ok()) std::abort();
    absl::Time t2 = absl::Now();
    encode += t1 - t0;
    decode += t2 - t1;
  }
  const double n = static_cast<double>(kRows) * kRounds;
  std::printf("wire codec, %d-row batches of (int64, int64): %zu bytes/record, encode %.1f ns/record, "
              "decode %.1f ns/record\n",
              kRows, wire.size() / kRows, absl::ToDoubleNanoseconds(encode) / n,
              absl::ToDoubleNanoseconds(decode) / n);
}

int Shuffle(int64_t records, int parallelism) {
  const std::string bin = CDCFLOW_BENCH_BINARY_DIR;
  const std::string cdcflow = bin + "/bin/cdcflow";
  const std::string dir = cdcflow::testing::MakeTempDir("cdcflow_shuffle_bench_");
  auto jm = Subprocess::Start({cdcflow, "jobmanager", "--port", "0", "--port-file",
                               dir + "/jm.port", "--restart-attempts", "0", "--rest-port", "-1"},
                              dir + "/jobmanager.log");
  if (!jm.ok()) return 1;
  auto port = cdcflow::testing::WaitForPortFile(dir + "/jm.port", absl::Seconds(20));
  if (!port.ok()) return 1;
  const std::string address = absl::StrCat("127.0.0.1:", *port);
  const int slots = (parallelism + 1) / 2;
  std::vector<Subprocess> tms;
  for (const char* name : {"tm1", "tm2"}) {
    auto tm = Subprocess::Start({cdcflow, "taskmanager", "--jobmanager", address, "--slots",
                                 std::to_string(slots), "--port", "0", "--id", name},
                                dir + "/" + name + ".log");
    if (!tm.ok()) return 1;
    tms.push_back(std::move(*tm));
  }
  auto stub = cdcflow::cli::NewJobManagerStub(address);
  for (int i = 0; i < 500; ++i) {
    cdcflow::v1::ListTaskManagersResponse r;
    if (stub->ListTaskManagers(cdcflow::cli::NewContext().get(), {}, &r).ok() &&
        r.task_managers_size() == 2) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  auto run = Subprocess::Start({cdcflow, "run", bin + "/jobs/shuffle_bench_job.so", "--jobmanager",
                                address, "--parallelism", std::to_string(parallelism), "--detach",
                                "--", absl::StrCat("records=", records)},
                               dir + "/run.log");
  if (!run.ok() || run->Wait(absl::Seconds(60)).value_or(1) != 0) {
    std::fprintf(stderr, "submission failed, see %s/run.log\n", dir.c_str());
    return 1;
  }
  absl::Time running_at = absl::InfinitePast();
  cdcflow::v1::GetJobStatusResponse s;
  while (true) {
    cdcflow::v1::ListJobsResponse list;
    if (!stub->ListJobs(cdcflow::cli::NewContext().get(), {}, &list).ok() || list.jobs_size() != 1)
      return 1;
    cdcflow::v1::GetJobStatusRequest get;
    get.set_job_id(list.jobs(0).job_id());
    if (!stub->GetJobStatus(cdcflow::cli::NewContext().get(), get, &s).ok()) return 1;
    bool all_running = s.tasks_size() > 0;
    for (const auto& t : s.tasks()) {
      all_running &= t.state() == cdcflow::v1::TASK_STATE_RUNNING ||
                     t.state() == cdcflow::v1::TASK_STATE_FINISHED;
    }
    if (all_running && running_at == absl::InfinitePast()) running_at = absl::Now();
    if (s.job().state() == cdcflow::v1::JOB_STATE_FINISHED) break;
    if (s.job().state() == cdcflow::v1::JOB_STATE_FAILED) {
      std::fprintf(stderr, "job failed: %s\n", s.failure().c_str());
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - running_at);
  std::printf(
      "network shuffle: %lld records, parallelism %d over 2 task managers (%d slot(s) each): "
      "%.2f s, %.2f M records/s (half of the rows cross the network)\n",
      static_cast<long long>(records), parallelism, slots, seconds, records / seconds / 1e6);
  for (auto& tm : tms) tm.Stop();
  jm->Stop();
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t records = 20'000'000;
  int parallelism = 2;
  if (argc > 1 && !absl::SimpleAtoi(argv[1], &records)) return 2;
  if (argc > 2 && !absl::SimpleAtoi(argv[2], &parallelism)) return 2;
  CodecCost();
  return Shuffle(records, parallelism);
}
