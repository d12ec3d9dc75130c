#include "connectors/elasticsearch/elasticsearch_client.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/str_cat.h"

namespace cdcflow::elasticsearch {
namespace {

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::string_view Truncated(std::string_view body) {
  return Av(body.size() > 2000 ? body.substr(0, 2000) : body);
}

}  // namespace

absl::Status HttpStatusToStatus(long http_status, std::string_view method,  // NOLINT
                                std::string_view path, std::string_view body) {
  if (http_status >= 200 && http_status < 300) return absl::OkStatus();
  std::string msg = absl::StrCat("elasticsearch: ", Av(method), " ", Av(path), " answered HTTP ",
                                 http_status, ": ", Truncated(body));
  if (IsRetryableHttpStatus(http_status)) return absl::UnavailableError(msg);
  switch (http_status) {
    case 401:
      return absl::UnauthenticatedError(msg);
    case 403:
      return absl::PermissionDeniedError(msg);
    case 404:
      return absl::NotFoundError(msg);
    case 409:
      return absl::AlreadyExistsError(msg);
    case 413:
      return absl::ResourceExhaustedError(
          absl::StrCat(msg, " (lower sink.bulk-flush.max-size)"));
    default:
      return absl::InvalidArgumentError(msg);
  }
}

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(HttpClientOptions options) {
  static std::once_flag once;
  static CURLcode init_code = CURLE_OK;
  std::call_once(once, [] { init_code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_code != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("elasticsearch: curl_global_init failed: ", curl_easy_strerror(init_code)));
  }
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("elasticsearch: curl_easy_init failed");
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(options), curl));
}

HttpClient::~HttpClient() { curl_easy_cleanup(curl_); }

absl::StatusOr<HttpResponse> HttpClient::Send(std::string_view method, std::string_view path,
                                              std::string_view body,
                                              std::string_view content_type) {
  curl_easy_reset(curl_);  // keeps the connection cache
  std::string url = absl::StrCat(options_.base_url, Av(path));
  HttpResponse response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
  std::string method_str(method);
  if (method == "HEAD") {
    curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method_str.c_str());
  }
  if (!body.empty()) {
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  struct curl_slist* headers = nullptr;
  std::string ct = absl::StrCat("Content-Type: ", Av(content_type));
  if (!body.empty()) headers = curl_slist_append(headers, ct.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
  if (!options_.username.empty()) {
    curl_easy_setopt(curl_, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl_, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(curl_, CURLOPT_PASSWORD, options_.password.c_str());
  }
  if (!options_.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (options_.insecure) {
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  CURLcode rc = curl_easy_perform(curl_);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    std::string reason = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    std::string msg = absl::StrCat("elasticsearch: ", Av(method), " ", url, " failed: ", reason);
    // Bad options are not worth retrying; everything on the wire is.
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
        rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM) {
      return absl::InvalidArgumentError(msg);
    }
    return absl::UnavailableError(msg);
  }
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

absl::StatusOr<HttpResponse> HttpClient::SendOk(std::string_view method, std::string_view path,
                                                std::string_view body,
                                                std::string_view content_type) {
  auto r = Send(method, path, body, content_type);
  if (!r.ok()) return r.status();
  if (absl::Status st = HttpStatusToStatus(r->status, method, path, r->body); !st.ok()) return st;
  return r;
}

}  // namespace cdcflow::elasticsearch
