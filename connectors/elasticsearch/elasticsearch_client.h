#pragma once
// A small HTTP client for Elasticsearch/OpenSearch over libcurl: one easy handle
// (RAII, connection kept alive between requests), basic auth, TLS options.
//
// Error mapping (HttpStatusToStatus / the curl error path): a connection or
// transport failure, HTTP 429 and every 5xx are kUnavailable (the caller retries
// them with backoff); 401/403 kPermissionDenied / kUnauthenticated; 404 kNotFound;
// 409 kAlreadyExists; 413 kResourceExhausted; other 4xx kInvalidArgument. The
// message names the method, the path and the server's reason (truncated body).
// Thread-compatible: one client per sink subtask.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

typedef void CURL;  // NOLINT: curl's own typedef

namespace cdcflow::elasticsearch {

struct HttpClientOptions {
  std::string base_url;  // http(s)://host:port, no trailing '/'
  std::string username;  // basic auth when non-empty
  std::string password;
  std::string ca_file;
  bool insecure = false;
  int64_t connect_timeout_ms = 10000;
  int64_t request_timeout_ms = 60000;
};

struct HttpResponse {
  long status = 0;  // NOLINT(runtime/int): curl's type
  std::string body;
};

// The status for an HTTP answer: OK for 2xx, else as described above.
absl::Status HttpStatusToStatus(long http_status, std::string_view method,  // NOLINT
                                std::string_view path, std::string_view body);
// True for the statuses a retry can fix: HTTP 429 and 5xx (also per bulk item).
inline bool IsRetryableHttpStatus(long status) {  // NOLINT
  return status == 429 || (status >= 500 && status < 600);
}

class HttpClient {
 public:
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request; any HTTP answer is returned (non-2xx included). A transport
  // failure (refused, reset, timeout, TLS) is kUnavailable naming the URL and curl's
  // reason. `content_type` applies when `body` is non-empty.
  absl::StatusOr<HttpResponse> Send(std::string_view method, std::string_view path,
                                    std::string_view body = {},
                                    std::string_view content_type = "application/json");
  // Send, then HttpStatusToStatus on non-2xx answers.
  absl::StatusOr<HttpResponse> SendOk(std::string_view method, std::string_view path,
                                      std::string_view body = {},
                                      std::string_view content_type = "application/json");

  const std::string& base_url() const { return options_.base_url; }

 private:
  HttpClient(HttpClientOptions options, CURL* curl) : options_(std::move(options)), curl_(curl) {}
  HttpClientOptions options_;
  CURL* curl_;
};

}  // namespace cdcflow::elasticsearch
