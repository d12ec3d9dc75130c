#include "cli/run_command.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/version.h"
#include "jobmanager/rest/local_job_view.h"
#include "runtime/graph/job_graph.h"
#include "runtime/local/local_job.h"
#include "runtime/plugin/plugin_loader.h"

namespace cdcflow::cli {

namespace {

volatile sig_atomic_t g_interrupted = 0;
void OnSignal(int) { g_interrupted = 1; }

// Installs SIGINT/SIGTERM handlers for its lifetime, restoring the previous ones.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string Count(uint64_t n) {
  if (n >= 10'000'000) return absl::StrFormat("%.1fM", n / 1e6);
  if (n >= 10'000) return absl::StrFormat("%.1fk", n / 1e3);
  return absl::StrCat(n);
}

std::string ProgressLine(const local::LocalJob& job, absl::Duration elapsed) {
  std::string line = absl::StrFormat("[%6.1fs]", absl::ToDoubleSeconds(elapsed));
  for (const local::VertexProgress& v : job.Progress()) {
    absl::StrAppend(&line, " | ", v.name, " in ", Count(v.records_in), " out ",
                    Count(v.records_out));
  }
  return line;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseFlagDuration(const std::string& flag, const std::string& value) {
  absl::Duration d;
  double seconds = 0;
  if (absl::ParseDuration(value, &d) && d >= absl::ZeroDuration()) return d;
  if (absl::SimpleAtod(value, &seconds) && seconds >= 0) return absl::Seconds(seconds);
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": '", value, "' is not a duration (e.g. 10s, 500ms, 2m)"));
}

int RunLocal(const RunOptions& options) {
  auto args = JobArgs::Parse(options.job_args);
  if (!args.ok()) {
    std::cerr << "error: " << args.status().message() << "\n";
    return 2;
  }
  auto plugin = plugin::JobPlugin::Open(options.plugin);
  if (!plugin.ok()) {
    std::cerr << "error: " << plugin.status().message() << "\n";
    return 1;
  }
  auto graph = (*plugin)->Build(*args, options.parallelism);
  if (!graph.ok()) {
    std::cerr << "error: " << graph.status().message() << "\n";
    return 1;
  }
  graph::JobGraphSpec spec = graph->Spec();
  if (options.print_plan) {
    std::cout << spec.ToString();
    graph::ExecutionPlan plan = graph::BuildExecutionPlan(spec);
    for (const graph::ChainSpec& c : plan.chains) {
      std::cout << "  task " << c.id << " '" << c.name << "' x" << c.parallelism << "\n";
    }
    return 0;
  }
  int code = 0;
  {
    InterruptGuard guard;
    const absl::Time start = absl::Now();
    metrics::MetricRegistry registry;
    local::LocalJobOptions job_options;
    job_options.metrics = &registry;
    job_options.task.state_dir = options.state_dir;
    job_options.checkpoint_dir = options.checkpoint_dir;
    job_options.retained_checkpoints = options.retained_checkpoints;
    job_options.from_savepoint = options.from_savepoint;
    job_options.restart.max_restarts = options.restart_attempts;
    job_options.restart.multiplier = options.restart_backoff;
    for (auto [flag, value, out] :
         {std::tuple{"--checkpoint-interval", &options.checkpoint_interval,
                     &job_options.checkpoint_interval},
          std::tuple{"--checkpoint-timeout", &options.checkpoint_timeout,
                     &job_options.checkpoint_timeout},
          std::tuple{"--restart-delay", &options.restart_delay, &job_options.restart.delay}}) {
      absl::StatusOr<absl::Duration> d = ParseFlagDuration(flag, *value);
      if (!d.ok()) {
        std::cerr << "error: " << d.status().message() << "\n";
        return 2;
      }
      *out = *d;
    }
    if (job_options.checkpoint_dir.empty() && !options.savepoint_on_cancel.empty()) {
      std::cerr << "error: --savepoint-on-cancel needs --checkpoint-dir\n";
      return 2;
    }
    auto job = local::LocalJob::Start(&*graph, &*args, job_options);
    if (!job.ok()) {
      std::cerr << "error: " << job.status().message() << "\n";
      return 1;
    }
    std::unique_ptr<rest::LocalJobHttp> http;
    if (options.rest_port >= 0) {
      rest::RestConfig rest_config;
      rest_config.bind_address = options.rest_bind;
      rest_config.port = options.rest_port;
      rest_config.auth_token = options.rest_token;
      rest_config.version = CDCFLOW_VERSION;
      auto served = rest::ServeLocalJob(
          job->get(), &registry,
          {job_options.job_id, options.plugin, options.job_args, CDCFLOW_VERSION}, rest_config);
      if (!served.ok()) {
        std::cerr << "error: " << served.status().message() << "\n";
        return 1;
      }
      http = *std::move(served);
      std::cerr << "dashboard on http://" << options.rest_bind << ":" << http->server->port()
                << "/" << std::endl;
    }
    if (!options.quiet) {
      std::cerr << "running " << (spec.job_name.empty() ? options.plugin : spec.job_name)
                << " locally (" << (*job)->plan().TotalTasks() << " tasks); Ctrl-C cancels\n";
    }
    absl::Time next_report = start + absl::Seconds(options.progress_interval_s);
    bool cancelled = false;
    while (!(*job)->Done()) {
      absl::SleepFor(absl::Milliseconds(20));
      if (g_interrupted && !cancelled) {
        cancelled = true;
        if (!options.savepoint_on_cancel.empty()) {
          std::cerr << "\ntaking a savepoint into " << options.savepoint_on_cancel << "...\n";
          auto sp = (*job)->TriggerSavepoint(options.savepoint_on_cancel);
          if (sp.ok()) {
            std::cerr << "savepoint " << sp->id() << " written to " << sp->dir << "\n";
          } else {
            std::cerr << "error: savepoint failed: " << sp.status().message() << "\n";
          }
        }
        std::cerr << "\ncancelling...\n";
        (*job)->Cancel();
      }
      if (!options.quiet && absl::Now() >= next_report) {
        std::cerr << ProgressLine(**job, absl::Now() - start) << "\n";
        next_report += absl::Seconds(options.progress_interval_s);
      }
    }
    absl::Status status = (*job)->Wait();
    if (http != nullptr) {
      http->view->SetFinished(status);
      absl::Time linger_end = absl::Now() + absl::Seconds(options.rest_linger_s);
      while (!g_interrupted && absl::Now() < linger_end) absl::SleepFor(absl::Milliseconds(50));
      http.reset();  // before the job it reads
    }
    if (!options.quiet) std::cerr << ProgressLine(**job, absl::Now() - start) << "\n";
    if (status.ok()) {
      if (!options.quiet) std::cerr << "job finished\n";
    } else if (status.code() == absl::StatusCode::kCancelled) {
      std::cerr << "job cancelled\n";
      code = 130;
    } else {
      std::cerr << "error: job failed: " << status.message() << "\n";
      code = 1;
    }
    job->reset();  // tasks before the graph, the graph before the plugin
  }
  return code;
}

void RegisterRunCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* run = app.add_subcommand(
      "run", "Run a job plugin: in a local mini-cluster, or on a job manager (--jobmanager)");
  run->add_option("plugin", options->plugin, "The job's shared object (built with cdcflow_job)")
      ->required();
  run->add_option("job_args", options->job_args,
                  "Job arguments key=value, after `--` (e.g. -- records=1000 keys=10)");
  run->add_option("-p,--parallelism", options->parallelism,
                  "Default parallelism of the job's operators")
      ->check(CLI::Range(1, 32768))
      ->envname("CDCFLOW_PARALLELISM");
  run->add_option("--jobmanager", options->jobmanager,
                  "HOST:PORT of a job manager; without it the job runs locally")
      ->envname("CDCFLOW_JOBMANAGER");
  run->add_option("--state-dir", options->state_dir,
                  "Keep keyed state in RocksDB under this directory (default: in memory)")
      ->envname("CDCFLOW_STATE_DIR");
  run->add_flag("-d,--detach", options->detach,
                "With --jobmanager: return once the job is submitted instead of waiting");
  run->add_flag("--print-plan", options->print_plan,
                "Print the job graph and its tasks, then exit");
  run->add_flag("-q,--quiet", options->quiet, "No progress lines on stderr");
  run->add_option("--progress-interval", options->progress_interval_s,
                  "Seconds between progress lines")
      ->check(CLI::PositiveNumber);
  run->add_option("--rest-port", options->rest_port,
                  "Local runs: serve the dashboard and REST API on this port (0: any free)")
      ->envname("CDCFLOW_REST_PORT");
  run->add_option("--rest-bind", options->rest_bind, "Address the dashboard listens on")
      ->envname("CDCFLOW_REST_BIND")
      ->capture_default_str();
  run->add_option("--rest-token", options->rest_token,
                  "Bearer token the REST API requires for cancel")
      ->envname("CDCFLOW_REST_TOKEN");
  run->add_option("--rest-linger", options->rest_linger_s,
                  "Seconds the dashboard stays up after the job ended")
      ->capture_default_str();
  run->add_option("--checkpoint-dir", options->checkpoint_dir,
                  "Checkpoint into this directory (a shared volume for a cluster); enables "
                  "recovery from the latest checkpoint")
      ->envname("CDCFLOW_CHECKPOINT_DIR");
  run->add_option("--checkpoint-interval", options->checkpoint_interval,
                  "Time between checkpoints (e.g. 10s, 500ms; 0: on demand only)")
      ->capture_default_str();
  run->add_option("--checkpoint-timeout", options->checkpoint_timeout,
                  "A checkpoint not complete by then is aborted (the job continues)")
      ->capture_default_str();
  run->add_option("--retained-checkpoints", options->retained_checkpoints,
                  "Completed checkpoints kept")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  run->add_option("--restart-attempts", options->restart_attempts,
                  "Restarts from the latest checkpoint after a failure before giving up")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  run->add_option("--restart-delay", options->restart_delay, "Delay before the first restart")
      ->capture_default_str();
  run->add_option("--restart-backoff", options->restart_backoff,
                  "Factor the restart delay grows by per restart (1: fixed delay)")
      ->check(CLI::Range(1.0, 100.0))
      ->capture_default_str();
  run->add_option("--from-savepoint", options->from_savepoint,
                  "Start from this savepoint (or chk-<id> checkpoint) directory; the "
                  "parallelism may differ");
  run->add_option("--savepoint-on-cancel", options->savepoint_on_cancel,
                  "Local runs: on Ctrl-C, take a savepoint into this directory before cancelling");
  run->callback([options, &context] {
    context.exit_code =
        options->jobmanager.empty() ? RunLocal(*options) : RunOnCluster(*options);
  });
}

}  // namespace cdcflow::cli
