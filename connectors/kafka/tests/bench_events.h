#pragma once
// Synthetic Debezium order events (PostgreSQL connector, schemas.enable=false,
// ~560 bytes) for benchmarks and load tests.

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace cdcflow::kafka::testing {

inline void OrderEvent(int64_t i, std::string* key, std::string* value) {
  key->clear();
  absl::StrAppend(key, "{\"id\":", i, "}");
  value->clear();
  int64_t ts = 1732500000000 + i;
  absl::StrAppend(
      value, "{\"before\":null,\"after\":{\"id\":", i, ",\"customer_id\":", i % 10007,
      ",\"product_id\":", i % 503, ",\"quantity\":", 1 + i % 9,
      ",\"price\":\"", (i % 2 ? "AeJA" : "ATCi"), "\",\"status\":\"",
      (i % 3 == 0 ? "NEW" : i % 3 == 1 ? "PAID" : "SHIPPED"),
      "\",\"note\":\"order note for benchmark row number ", i,
      "\",\"created_at\":\"2024-11-25T10:15:30.123456Z\",\"updated_at\":", ts * 1000,
      "},\"source\":{\"version\":\"2.7.3.Final\",\"connector\":\"postgresql\",\"name\":"
      "\"dbserver1\",\"ts_ms\":", ts,
      ",\"snapshot\":\"false\",\"db\":\"shop\",\"sequence\":\"[\\\"24023928\\\",\\\"24023984\\\"]\","
      "\"schema\":\"public\",\"table\":\"orders\",\"txId\":", 700 + i,
      ",\"lsn\":", 24023984 + i * 64,
      ",\"xmin\":null},\"op\":\"c\",\"ts_ms\":", ts + 5, ",\"transaction\":null}");
}

}  // namespace cdcflow::kafka::testing
