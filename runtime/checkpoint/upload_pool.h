#pragma once
// A small thread pool for the asynchronous part of checkpoints (copying snapshot files
// into the checkpoint storage, then acknowledging), shared by every task of a local job
// or of a task manager, so processing continues while snapshots upload.
//
// Thread-safe. The destructor runs every job already submitted, then joins.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cdcflow::checkpoint {

class UploadPool {
 public:
  explicit UploadPool(int threads = 2);
  ~UploadPool();
  UploadPool(const UploadPool&) = delete;
  UploadPool& operator=(const UploadPool&) = delete;

  void Submit(std::function<void()> job);
  // Blocks until every job submitted so far has run.
  void Drain();

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> jobs_;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cdcflow::checkpoint
