// libFuzzer entry point for the Debezium decoder. Input layout:
//   byte 0: mode (0: no schema, 1: job-supplied schema of many logical types,
//           2: a schemas-on message first teaches the topic), then
//   key <TAB> value (no TAB: the whole rest is the value).
// Every decoded row is printed to a string to exercise the record model as well.
// The decoder must return a Status for any input: no crash, leak or UB.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/debezium/decoder.h"

namespace {

constexpr char kSchema[] =
    R"({"type":"struct","fields":[)"
    R"({"type":"int32","optional":false,"field":"id"},)"
    R"({"type":"string","optional":true,"field":"name"},)"
    R"({"type":"bytes","optional":true,"field":"raw"},)"
    R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"3"},"field":"weight"},)"
    R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"-2"},"field":"neg"},)"
    R"({"type":"string","name":"org.apache.kafka.connect.data.Decimal","field":"dstr"},)"
    R"({"type":"struct","name":"io.debezium.data.VariableScaleDecimal","field":"num"},)"
    R"({"type":"boolean","field":"flag"},{"type":"float64","field":"dbl"},{"type":"int64","field":"big"},)"
    R"({"type":"int32","name":"io.debezium.time.Date","field":"d"},)"
    R"({"type":"int32","name":"io.debezium.time.Time","field":"t"},)"
    R"({"type":"int64","name":"io.debezium.time.MicroTime","field":"tu"},)"
    R"({"type":"int64","name":"io.debezium.time.NanoTime","field":"tn"},)"
    R"({"type":"int64","name":"io.debezium.time.Timestamp","field":"ts"},)"
    R"({"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"tsu"},)"
    R"({"type":"int64","name":"io.debezium.time.NanoTimestamp","field":"tsn"},)"
    R"({"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"zts"},)"
    R"({"type":"string","name":"io.debezium.time.ZonedTime","field":"zt"},)"
    R"({"type":"string","name":"io.debezium.data.Uuid","field":"u"},)"
    R"({"type":"string","name":"io.debezium.data.Json","field":"j"},)"
    R"({"type":"array","field":"arr"},{"type":"struct","name":"io.debezium.data.geometry.Point","field":"pt"})"
    R"(],"name":"fuzz.Value"})";

constexpr char kTeach[] =
    R"({"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[)"
    R"({"type":"int32","optional":false,"field":"id"},)"
    R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"price"},)"
    R"({"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"ts"}]}]},)"
    R"("payload":{"op":"c","after":{"id":1,"price":"AQ==","ts":5}}})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 3;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string_view key, value = rest;
  if (size_t tab = rest.find('\t'); tab != std::string_view::npos) {
    key = rest.substr(0, tab);
    value = rest.substr(tab + 1);
  }
  cdcflow::debezium::Decoder decoder;
  cdcflow::debezium::Event event;
  if (mode == 1 && !decoder.SetValueSchema("t", kSchema).ok()) __builtin_trap();
  if (mode == 2 && !decoder.Decode("t", "", kTeach, &event).ok()) __builtin_trap();
  // Twice: the second pass runs on cached schemas and recycled row storage.
  for (int pass = 0; pass < 2; ++pass) {
    if (!decoder.Decode("t", key, value, &event).ok()) return 0;
    size_t total = 0;
    for (const cdcflow::Row& row : event.rows) total += row.ToString().size();
    for (const cdcflow::Value& v : event.key) total += v.ToString().size();
    if (total == static_cast<size_t>(-1)) __builtin_trap();
  }
  return 0;
}
