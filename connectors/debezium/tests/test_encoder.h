#pragma once
// A test-only Debezium JSON encoder: the inverse of the decoder, written
// independently of it so that round trips can catch mistakes on either side.
// It writes what Kafka Connect's JsonConverter writes for Debezium events, with
// `schemas.enable` true or false.

#include <string>
#include <string_view>
#include <vector>

#include "cdcflow/row.h"
#include "cdcflow/value.h"

namespace cdcflow::debezium::testing {

struct Column {
  std::string name;
  std::string type;     // Connect type: int32, int64, string, bytes, struct, ...
  std::string logical;  // logical name or empty
  int scale = 0;        // for org.apache.kafka.connect.data.Decimal
  bool optional = true;
};

// JSON string literal with JsonConverter's (Jackson's) escaping.
std::string JsonQuote(std::string_view s);
// The Connect struct schema of `columns`.
std::string StructSchemaJson(const std::vector<Column>& columns, std::string_view name,
                             std::string_view field = "");
// One column value as its JSON wire form (null for a null Value).
std::string EncodeValue(const Column& column, const Value& value);
// A row as a JSON object.
std::string EncodeRow(const std::vector<Column>& columns, const std::vector<Value>& values);

struct EnvelopeSpec {
  char op = 'c';
  const std::vector<Value>* before = nullptr;
  const std::vector<Value>* after = nullptr;
  std::string source_json = R"({"version":"2.5.0.Final","connector":"postgresql","name":"pg","ts_ms":1700000000000,"snapshot":"false","db":"shop","sequence":"[\"100\",\"200\"]","schema":"public","table":"orders","txId":777,"lsn":123456789,"xmin":null})";
};

// The Kafka message value of a change event.
std::string EncodeEnvelope(const std::vector<Column>& columns, const EnvelopeSpec& spec,
                           bool schemas_enable);
// The Kafka message key.
std::string EncodeKey(const std::vector<Column>& key_columns, const std::vector<Value>& key,
                      bool schemas_enable);

// Formats helpers shared with tests.
std::string FormatZonedTimestamp(const TimestampTz& ts);
std::string FormatZonedTime(const TimeTz& t);
std::string FormatUuid(const Uuid& u);

}  // namespace cdcflow::debezium::testing
