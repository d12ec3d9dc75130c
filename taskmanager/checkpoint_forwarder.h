#pragma once
// The task manager's CheckpointListener: forwards its tasks' checkpoint acks and
// declines to the job manager's coordinator (JobManagerService.AcknowledgeCheckpoint /
// DeclineCheckpoint). Tasks and uploader threads must not block on the network, so
// calls are queued and sent, in order, by one thread per task manager.
//
// A report that cannot be delivered is logged and dropped: the coordinator then times
// the checkpoint out (or the attempt fails anyway), which never fails the job.
//
// TaskFinished is not forwarded: the job manager learns it from the task's FINISHED
// state report, which arrives after every ack the task queued before it.
//
// Thread-safe.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "runtime/checkpoint/checkpoint_listener.h"
#include "taskmanager/job_manager_client.h"

namespace cdcflow::taskmanager {

class CheckpointForwarder {
 public:
  CheckpointForwarder(JobManagerClient* job_manager, std::string task_manager_id);
  // Sends what is queued, then stops.
  ~CheckpointForwarder();
  CheckpointForwarder(const CheckpointForwarder&) = delete;
  CheckpointForwarder& operator=(const CheckpointForwarder&) = delete;

  // The listener for the tasks of one job attempt; lives as long as the forwarder.
  checkpoint::CheckpointListener* ListenerFor(const std::string& job_id, int attempt);

  // Blocks until everything queued so far was sent (tests).
  void Flush();

 private:
  class Listener;
  void Enqueue(std::function<void()> send);
  void Loop();

  JobManagerClient* const job_manager_;
  const std::string task_manager_id_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool sending_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::pair<std::string, int>, std::unique_ptr<Listener>> listeners_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace cdcflow::taskmanager
