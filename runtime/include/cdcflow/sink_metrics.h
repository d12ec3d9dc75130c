#pragma once
// The metrics every sink connector reports, named once for the connectors (which see
// only the SDK) and for the runtime's catalogue (runtime/metrics/standard_metrics.h;
// runtime/metrics/README.md documents them). A sink registers them on its
// RuntimeContext's metric group with the label sink=<connector> (kafka, elasticsearch,
// ...); the runtime adds job, vertex and subtask.
//
//     auto latency = ctx.metrics().Histogram(cdcflow::kSinkRequestLatency,
//                                            cdcflow::kSinkRequestLatencyHelp,
//                                            cdcflow::SinkLabels("kafka"));

#include <string>
#include <string_view>

#include "cdcflow/metrics.h"

namespace cdcflow {

inline constexpr std::string_view kLabelSink = "sink";

// Histogram: the latency of one sink request (an Elasticsearch _bulk round trip, a
// Kafka record from produce to acknowledgement).
inline constexpr std::string_view kSinkRequestLatency = "cdcflow_sink_request_seconds";
inline constexpr std::string_view kSinkRequestLatencyHelp =
    "Latency of one sink request (_bulk, produce).";
// Counter: sink calls that failed the sink.
inline constexpr std::string_view kSinkErrors = "cdcflow_sink_errors_total";
inline constexpr std::string_view kSinkErrorsHelp = "Sink calls that failed the sink.";

// The labels of a sink metric: sink=<sink>.
inline MetricLabels SinkLabels(std::string_view sink) {
  return {{std::string(kLabelSink), std::string(sink)}};
}

}  // namespace cdcflow
