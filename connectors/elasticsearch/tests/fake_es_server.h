#pragma once
// A tiny in-process Elasticsearch stand-in for unit tests (cpp-httplib on a free
// loopback port): records every request, answers HEAD/PUT on the index and
// `_bulk`. Bulk answers come from a script (one entry per request, consumed in
// order); without a script every item succeeds, or, with set_enforce_versions, each
// item is applied to an in-memory index under Elasticsearch's external versioning
// rules (409 when the version is not newer). Thread-safe.

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cdcflow::elasticsearch::testing {

struct RecordedRequest {
  std::string method;
  std::string path;  // with the query string
  std::string body;
  std::string authorization;
  std::string content_type;
};

// An answer to one _bulk request: either a whole-request status with a body, or
// (status 200) per-item statuses, one per action, in order.
struct BulkAnswer {
  int http_status = 200;
  std::string body;                // used when http_status != 200
  std::vector<int> item_statuses;  // empty: every item 201 (index) / 200 (delete)
};

// Number of actions in an NDJSON bulk body (deletes have no source line).
inline int CountActions(const std::string& body) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    if (line.rfind("{\"index\":", 0) == 0 || line.rfind("{\"delete\":", 0) == 0) ++n;
  }
  return n;
}

class FakeEsServer {
 public:
  FakeEsServer() {
    server_.Get(R"(/([^/_][^/]*))", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      std::lock_guard lock(mu_);
      res.status = index_exists_ ? 200 : 404;
      res.set_content("{}", "application/json");
    });
    server_.Put(R"(/([^/_][^/]*))", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      std::lock_guard lock(mu_);
      index_exists_ = true;
      res.status = 200;
      res.set_content(R"({"acknowledged":true})", "application/json");
    });
    server_.Post(R"(/([^/]+)/_bulk)", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      BulkAnswer answer;
      bool enforce = false;
      {
        std::lock_guard lock(mu_);
        enforce = enforce_versions_;
        if (!script_.empty()) {
          answer = std::move(script_.front());
          script_.pop_front();
        }
      }
      if (answer.http_status != 200) {
        res.status = answer.http_status;
        res.set_content(answer.body, "application/json");
        return;
      }
      std::vector<std::string> actions;
      std::vector<int> applied;  // enforced versions: the status of each item
      std::vector<absl::string_view> lines = absl::StrSplit(req.body, '\n', absl::SkipEmpty());
      for (size_t l = 0; l < lines.size(); ++l) {
        absl::string_view line = lines[l];
        const bool index = line.rfind("{\"index\":", 0) == 0;
        if (index) actions.push_back("index");
        if (line.rfind("{\"delete\":", 0) == 0) actions.push_back("delete");
        if (!enforce || actions.size() == applied.size()) continue;
        const nlohmann::json meta = nlohmann::json::parse(line)[actions.back()];
        const std::string source = index && l + 1 < lines.size() ? std::string(lines[l + 1]) : "";
        applied.push_back(Apply(meta["_id"].get<std::string>(), meta["version"].get<int64_t>(),
                                meta["version_type"].get<std::string>() == "external_gte", index,
                                source));
      }
      if (enforce) answer.item_statuses = applied;
      bool errors = false;
      std::string items;
      for (size_t i = 0; i < actions.size(); ++i) {
        int status = actions[i] == "index" ? 201 : 200;
        if (i < answer.item_statuses.size()) status = answer.item_statuses[i];
        if (i > 0) items += ",";
        absl::StrAppend(&items, "{\"", actions[i], "\":{\"status\":", status);
        if (status >= 300) {
          errors = true;
          absl::StrAppend(&items, ",\"error\":{\"type\":\"",
                          status == 409 ? "version_conflict_engine_exception"
                          : status == 429 ? "es_rejected_execution_exception"
                                          : "mapper_parsing_exception",
                          "\",\"reason\":\"scripted failure ", status, "\"}");
        }
        items += "}}";
      }
      res.status = 200;
      res.set_content(absl::StrCat("{\"errors\":", errors ? "true" : "false", ",\"items\":[",
                                   items, "]}"),
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~FakeEsServer() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  void set_index_exists(bool exists) {
    std::lock_guard lock(mu_);
    index_exists_ = exists;
  }
  void set_enforce_versions(bool on) {
    std::lock_guard lock(mu_);
    enforce_versions_ = on;
  }
  struct Document {
    int64_t version = 0;
    std::string source;  // empty when deleted (the version is kept, like a tombstone)
  };
  std::map<std::string, Document> documents() const {
    std::lock_guard lock(mu_);
    return documents_;
  }
  void Script(BulkAnswer answer) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(answer));
  }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Bodies of the _bulk requests, in order.
  std::vector<std::string> bulk_bodies() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& r : requests_) {
      if (r.path.find("/_bulk") != std::string::npos) out.push_back(r.body);
    }
    return out;
  }

 private:
  int Apply(const std::string& id, int64_t version, bool gte, bool index, const std::string& source) {
    std::lock_guard lock(mu_);
    auto it = documents_.find(id);
    if (it != documents_.end() &&
        (gte ? version < it->second.version : version <= it->second.version)) {
      return 409;
    }
    if (!index && (it == documents_.end() || it->second.source.empty())) {
      documents_[id] = Document{version, ""};
      return 404;
    }
    documents_[id] = Document{version, index ? source : ""};
    return index ? 201 : 200;
  }

  void Record(const httplib::Request& req) {
    std::string path = req.path;
    if (!req.params.empty()) {
      path += "?";
      bool first = true;
      for (const auto& [k, v] : req.params) {
        if (!first) path += "&";
        first = false;
        path += k + "=" + v;
      }
    }
    std::lock_guard lock(mu_);
    requests_.push_back({req.method, path, req.body, req.get_header_value("Authorization"),
                         req.get_header_value("Content-Type")});
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  bool index_exists_ = false;
  bool enforce_versions_ = false;
  std::map<std::string, Document> documents_;
  std::deque<BulkAnswer> script_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace cdcflow::elasticsearch::testing
