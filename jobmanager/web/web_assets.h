#pragma once
// The dashboard's static files (and the OpenAPI document), compiled into the binary by
// embed_files.cmake so the job manager needs no asset directory at run time.

#include <cstddef>
#include <string_view>
#include <vector>

namespace cdcflow::web {

struct EmbeddedFile {
  std::string_view url_path;  // e.g. "/index.html", "/api/v1/openapi.yaml"
  std::string_view content_type;
  const unsigned char* data;
  size_t size;
};

const std::vector<EmbeddedFile>& EmbeddedFiles();

}  // namespace cdcflow::web
