// order_enrichment: the seed pipeline's job (Flink SQL equivalent below), one enriched
// document per order, kept up to date from three Debezium changelogs.
//
//   INSERT INTO enriched_orders
//   SELECT o.*, p.name, p.description, s.shipment_id, s.origin, s.destination, s.is_arrived
//   FROM orders AS o
//   LEFT JOIN shipments AS s ON o.order_id = s.order_id
//   LEFT JOIN products AS p ON o.product_id = p.id;
//
// Graph (every edge between keyed steps is a hash shuffle):
//   orders    --by order_id-->  join "orders_shipments" (left) <--by order_id--  shipments
//             --by product_id--> join "with_products" (left)   <--by id--        products
//             -> map "enriched" (projection) --by order_id--> UpsertMaterializer(order_id)
//             -> sink "kafka" (upsert-json, key {"order_id":..}, tombstone on delete)
//             -> sink "elasticsearch" (document _id = order_id, delete on delete)
// An order without a shipment (yet) or whose product is unknown gets nulls in those
// fields; a shipment without its order produces nothing.
//
// Job arguments (key=value after `--` on `cdcflow run`); defaults match the local pipeline
// (deploy/topics.env, deploy/local/services.sh ports):
//   orders_topic       pg.public.orders            Debezium topic of public.orders
//   shipments_topic    pg.public.shipments         Debezium topic of public.shipments
//   products_topic     inventory.public.products   Debezium topic of products (SQL Server
//                                                  in compose: mssql.inventory.dbo.products)
//   bootstrap_servers  127.0.0.1:9092              Kafka (sources and the Kafka sink)
//   group_id           cdcflow-order-enrichment    monitoring offset commits only
//   startup_mode       earliest-offset             earliest-offset | latest-offset
//   replay_protection  true                        drop Debezium's replays (see below)
//   sink               kafka,elasticsearch         kafka | elasticsearch | both (= the two)
//   output_topic       enriched_orders             upsert topic (give it cleanup.policy=compact)
//   es_url             http://127.0.0.1:9200       Elasticsearch 8 / OpenSearch 2
//   es_index           enriched_orders
//   source.<option>    any Kafka source option (connectors/kafka/kafka_config.h), e.g.
//                      source.properties.fetch.wait.max.ms=10
//   kafka.<option>     any Kafka sink option, e.g. kafka.sink.linger-ms=20
//   es.<option>        any Elasticsearch sink option (elasticsearch_config.h), e.g.
//                      es.sink.refresh=wait_for, es.username=..., es.password=...
// The job sets es.sink.bulk-flush.interval=0 unless given: each batch reaching the sink is
// one _bulk request (no row waits for more rows, so documents show up at once even at
// one order every 10 s).
// Parallelism: `cdcflow run --parallelism N` (every vertex).
//
// Replays. Debezium delivers at least once: after a connector restart it re-sends events
// it had already sent. With replay_protection=true (the default) the sources append each
// event's Debezium source position (source option debezium.source-position) and both joins
// drop a change whose position is not newer than the last one applied for the same source
// row (orders by order_id, shipments by shipment_id, products by id), so a replayed insert
// can never leave a second copy of a row behind (what makes Flink double-count or fail with
// "can not retract a non-existent record").
//
// Input columns (positions in the Debezium schema = table column order, deploy/sql/schema.sql):
//   orders    order_id, order_date, customer_name, price, product_id, order_status,
//             created_at, order_uuid, details
//   shipments shipment_id, order_id, origin, destination, is_arrived
//   products  id, name, description, weight
// Output columns: order_id, order_date, customer_name, price, product_id, order_status,
//   created_at, order_uuid, details, product_name, product_description, shipment_id,
//   origin, destination, is_arrived (values keep their exact types: decimals, timestamps).
#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cdcflow/changelog.h"
#include "cdcflow/connectors.h"
#include "cdcflow/job.h"
#include "cdcflow/plugin.h"

namespace {

using cdcflow::Field;
using cdcflow::Row;
using cdcflow::RowBatch;
using cdcflow::Schema;
using cdcflow::ValueType;

// Column counts and positions of the inputs.
constexpr int kOrderFields = 9;     // order_id .. details
constexpr int kShipmentFields = 5;  // shipment_id, order_id, origin, destination, is_arrived
constexpr int kProductFields = 4;   // id, name, description, weight
constexpr int kOrderId = 0;
constexpr int kOrderProductId = 4;
constexpr int kShipmentOrderId = 1;
constexpr int kProductId = 0;
// Positions in the joined row: orders 0..8, shipments 9..13, products 14..17.
constexpr int kShipmentBase = kOrderFields;
constexpr int kProductBase = kOrderFields + kShipmentFields;

// Fails the job with a clear error when a topic's rows do not have the columns the job
// was written for (a wrong topic argument, a changed table), instead of joining garbage.
class CheckColumns final : public cdcflow::Operator {
 public:
  CheckColumns(std::string topic, size_t arity, std::string columns)
      : topic_(std::move(topic)), arity_(arity), columns_(std::move(columns)) {}
  absl::Status ProcessBatch(int, RowBatch& batch, cdcflow::Collector& out) override {
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch.row(i).fields.size() != arity_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "order_enrichment: a row of topic '", topic_, "' has ", batch.row(i).fields.size(),
            " columns, the job expects ", arity_, " (", columns_, "): ",
            batch.row(i).ToString()));
      }
    }
    if (out.batch().empty()) {
      std::swap(out.batch(), batch);
    } else {
      for (size_t i = 0; i < batch.size(); ++i) {
        out.Emit(std::move(batch.mutable_row(i)), batch.timestamp(i));
      }
    }
    return absl::OkStatus();
  }

 private:
  std::string topic_;
  size_t arity_;
  std::string columns_;
};

Schema EnrichedSchema() {
  return Schema{{
      {"order_id", ValueType::kInt32, false},
      {"order_date", ValueType::kTimestamp, false},
      {"customer_name", ValueType::kString, false},
      {"price", ValueType::kDecimal, false},
      {"product_id", ValueType::kInt32, false},
      {"order_status", ValueType::kBool, false},
      {"created_at", ValueType::kTimestampTz, false},
      {"order_uuid", ValueType::kUuid, false},
      {"details", ValueType::kJson, true},
      {"product_name", ValueType::kString, true},
      {"product_description", ValueType::kString, true},
      {"shipment_id", ValueType::kInt32, true},
      {"origin", ValueType::kString, true},
      {"destination", ValueType::kString, true},
      {"is_arrived", ValueType::kBool, true},
  }};
}

// The joined row (orders, shipments, products) -> the enriched document's columns, in
// place: the order's columns stay, the six others move behind them, the rest is cut.
Row Project(Row row) {
  std::vector<cdcflow::Value>& f = row.fields;
  std::array<cdcflow::Value, 6> tail = {
      std::move(f[kProductBase + 1]),   // product_name
      std::move(f[kProductBase + 2]),   // product_description
      std::move(f[kShipmentBase + 0]),  // shipment_id
      std::move(f[kShipmentBase + 2]),  // origin
      std::move(f[kShipmentBase + 3]),  // destination
      std::move(f[kShipmentBase + 4]),  // is_arrived
  };
  for (size_t i = 0; i < tail.size(); ++i) f[kOrderFields + i] = std::move(tail[i]);
  f.resize(kOrderFields + tail.size());
  return row;
}

absl::Status Build(cdcflow::JobBuilder& job) {
  const cdcflow::JobArgs& args = job.args();
  job.SetJobName("order_enrichment");
  const std::string bootstrap = args.Get("bootstrap_servers", "127.0.0.1:9092");
  const std::string orders_topic = args.Get("orders_topic", "pg.public.orders");
  const std::string shipments_topic = args.Get("shipments_topic", "pg.public.shipments");
  const std::string products_topic = args.Get("products_topic", "inventory.public.products");
  const std::string output_topic = args.Get("output_topic", "enriched_orders");
  const std::string es_url = args.Get("es_url", "http://127.0.0.1:9200");
  const std::string es_index = args.Get("es_index", "enriched_orders");

  bool to_kafka = false, to_es = false;
  for (absl::string_view s : absl::StrSplit(args.Get("sink", "kafka,elasticsearch"), ',')) {
    if (s == "kafka") {
      to_kafka = true;
    } else if (s == "elasticsearch" || s == "es" || s == "opensearch") {
      to_es = true;
    } else if (s == "both") {
      to_kafka = to_es = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "order_enrichment: argument sink: '", s,
          "' is not one of kafka, elasticsearch, both (comma-separated)"));
    }
  }

  absl::StatusOr<bool> replay_protection = args.GetBool("replay_protection", true);
  if (!replay_protection.ok()) return replay_protection.status();
  // The position column the sources append (after the table's columns) when protecting.
  const size_t extra = *replay_protection ? 1 : 0;

  auto source = [&](const std::string& name, const std::string& topic, size_t arity,
                    std::string columns) -> absl::StatusOr<cdcflow::Stream> {
    cdcflow::KafkaSourceSpec spec;
    spec.bootstrap_servers = bootstrap;
    spec.topics = {topic};
    spec.group_id = args.Get("group_id", "cdcflow-order-enrichment");
    spec.startup_mode = args.Get("startup_mode", "earliest-offset");
    spec.options = cdcflow::OptionsFromArgs(args, "source.");
    if (*replay_protection) spec.options.emplace("debezium.source-position", "true");
    absl::StatusOr<cdcflow::SourceFactory> factory = cdcflow::KafkaDebeziumSource(spec);
    if (!factory.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("order_enrichment: source ", name, ": ", factory.status().message()));
    }
    return job.Source(name, *std::move(factory))
        .Transform(name + "_columns", [=] {
          return std::make_unique<CheckColumns>(topic, arity + extra,
                                                extra ? columns + ", source position" : columns);
        });
  };
  absl::StatusOr<cdcflow::Stream> orders =
      source("orders", orders_topic, kOrderFields,
             "order_id, order_date, customer_name, price, product_id, order_status, "
             "created_at, order_uuid, details");
  if (!orders.ok()) return orders.status();
  absl::StatusOr<cdcflow::Stream> shipments =
      source("shipments", shipments_topic, kShipmentFields,
             "shipment_id, order_id, origin, destination, is_arrived");
  if (!shipments.ok()) return shipments.status();
  absl::StatusOr<cdcflow::Stream> products =
      source("products", products_topic, kProductFields, "id, name, description, weight");
  if (!products.ok()) return products.status();

  cdcflow::JoinSpec orders_shipments{cdcflow::JoinType::kLeft, {kOrderId}, {kShipmentOrderId},
                                     kOrderFields, kShipmentFields};
  cdcflow::JoinSpec with_products{cdcflow::JoinType::kLeft, {kOrderProductId}, {kProductId},
                                  kOrderFields + kShipmentFields, kProductFields};
  // Every side's rows are unique on their table's primary key, and the first join's
  // output on (order_id, shipment_id): the joins keep each row under that key (small
  // state keys, blind inserts) instead of counting whole rows.
  orders_shipments.left_unique_key = {kOrderId};
  orders_shipments.right_unique_key = {0};  // shipment_id
  with_products.left_unique_key = {kOrderId, kShipmentBase};
  with_products.right_unique_key = {kProductId};
  // The second join's left input is the first join's output: it retracts only rows it
  // added (replays are dropped before it), so its retractions need no state read.
  with_products.left_exact_retractions = true;
  if (*replay_protection) {
    // Each side's rows are identified by their table's primary key; the joins drop the
    // position columns, so the second join's left side (the first join's output) has none.
    orders_shipments.left_position = kOrderFields;
    orders_shipments.left_row_key = {kOrderId};
    orders_shipments.right_position = kShipmentFields;
    orders_shipments.right_row_key = {0};  // shipment_id
    with_products.right_position = kProductFields;
    with_products.right_row_key = {kProductId};
  }
  cdcflow::Stream with_shipments = job.Transform(
      "orders_shipments",
      {orders->KeyBy({kOrderId}), shipments->KeyBy({kShipmentOrderId})},
      cdcflow::ChangelogJoin(orders_shipments));
  cdcflow::Stream joined = job.Transform(
      "with_products", {with_shipments.KeyBy({kOrderProductId}), products->KeyBy({kProductId})},
      cdcflow::ChangelogJoin(with_products));
  cdcflow::Stream enriched = joined.Map("enriched", Project)
                                 .KeyBy({0})
                                 .Transform("materialize", cdcflow::UpsertMaterializer({0}));

  const Schema schema = EnrichedSchema();
  if (to_kafka) {
    cdcflow::KafkaSinkSpec spec;
    spec.bootstrap_servers = bootstrap;
    spec.topic = output_topic;
    spec.format = "upsert-json";
    spec.key_fields = {"order_id"};
    spec.schema = schema;
    spec.options = cdcflow::OptionsFromArgs(args, "kafka.");
    absl::StatusOr<cdcflow::SinkFactory> sink = cdcflow::KafkaSink(spec);
    if (!sink.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("order_enrichment: kafka sink: ", sink.status().message()));
    }
    enriched.SinkTo("kafka", *std::move(sink));
  }
  if (to_es) {
    cdcflow::ElasticsearchSinkSpec spec;
    spec.url = es_url;
    spec.index = es_index;
    spec.key_fields = {"order_id"};
    spec.schema = schema;
    spec.options = {{"sink.bulk-flush.interval", "0"}};
    for (auto& [key, value] : cdcflow::OptionsFromArgs(args, "es.")) spec.options[key] = value;
    absl::StatusOr<cdcflow::SinkFactory> sink = cdcflow::ElasticsearchSink(spec);
    if (!sink.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("order_enrichment: elasticsearch sink: ", sink.status().message()));
    }
    enriched.SinkTo("elasticsearch", *std::move(sink));
  }
  return absl::OkStatus();
}

}  // namespace

CDCFLOW_JOB(Build)
