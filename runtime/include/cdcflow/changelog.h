#pragma once
// Built-in changelog operators for CDC jobs: a join of two changelog streams and an
// upsert materializer. Both keep their rows in keyed state and handle every row kind
// (+I -U +U -D) with correct retractions, so a job needs no state code of its own.
//
//   auto orders = job.Source("orders", ...);      // changelog of orders
//   auto shipments = job.Source("shipments", ...);
//   cdcflow::JoinSpec spec{cdcflow::JoinType::kLeft, {0}, {1}, 6, 5};
//   auto joined = job.Transform("orders_shipments",
//                               {orders.KeyBy({0}), shipments.KeyBy({1})},
//                               cdcflow::ChangelogJoin(spec));
//   joined.KeyBy({0}).Transform("materialize", cdcflow::UpsertMaterializer({0}));
//
// Both inputs of a join must be partitioned by the join key (KeyBy on the key fields,
// whose values must have the same types on both sides, so that they hash alike).

#include <vector>

#include "cdcflow/export.h"
#include "cdcflow/job.h"

namespace cdcflow {

enum class JoinType : uint8_t { kInner = 0, kLeft = 1 };

struct JoinSpec {
  JoinType type = JoinType::kInner;
  std::vector<int> left_keys;   // join key positions in the left (input 0) rows
  std::vector<int> right_keys;  // join key positions in the right (input 1) rows
  int left_arity = 0;           // number of fields of a left row
  int right_arity = 0;          // number of fields of a right row (for null padding)
};

// An equi-join of input 0 (left) and input 1 (right). Output rows are the left fields
// followed by the right fields (nulls for a left join's unmatched rows).
//
// Row kinds out: a joined pair carries the kind of the row that produced it (+I, +U,
// -U, -D). In a left join, the first right row for a key retracts the null-padded
// rows (-D) before adding the joined ones (+I), and the last right row's removal
// restores them. A retraction of a row the state does not hold (Debezium replays
// after a connector restart) is counted and ignored, never a failure.
CDCFLOW_API OperatorFactory ChangelogJoin(JoinSpec spec);

// Turns a changelog into per-key upserts and deletes before an upsert sink (Kafka
// upsert topic, Elasticsearch index), like Flink's SinkUpsertMaterializer: it keeps
// every live row of each key (in arrival order) so that retractions arriving after
// the new row (as joins produce them) still leave the right row visible. Output: +U
// with the key's current row whenever it changes, -D with the last row when the key
// has no row left. Run it keyed by `key_fields` (KeyBy on the same fields).
CDCFLOW_API OperatorFactory UpsertMaterializer(std::vector<int> key_fields);

}  // namespace cdcflow
