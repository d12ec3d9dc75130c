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

  // Replay protection (off by default). A side with a position column (`*_position`
  // >= 0, e.g. the column the Debezium decoder appends with
  // DecoderOptions::append_source_position) drops every change whose position is not
  // greater than the last one applied for the same row, counted as a stale change:
  // Debezium re-sends events with their original positions after a connector
  // restart. The position column is removed from the row before anything else (it is
  // not part of the row's identity, nor of the output; the arities above count the
  // fields without it). Positions are Int64 or Bytes/String (compared bytewise) values;
  // a null or mixed type is an error naming the column. Key positions refer to the
  // input row (with the position column).
  int left_position = -1;
  int right_position = -1;
  // Which fields identify a row of a side (its primary key) for the position check:
  // positions of one source are ordered per row, not per join key (Debezium's
  // snapshot rows all share one position). Empty: the join key identifies the row.
  // The last position of every row ever seen is kept (also after its deletion, so a
  // replayed insert of a deleted row is refused).
  std::vector<int> left_row_key;
  std::vector<int> right_row_key;

  // Unique keys (optional; Flink's "input side has a unique key"): the fields that
  // identify a row of a side at any time, e.g. its table's primary key (positions in
  // the input row, never the position column). With one, the side's state maps that
  // key to the row instead of the whole row to its multiplicity: state keys of a few
  // bytes instead of the whole row, an insert is a blind write and an update rewrites
  // one entry. The side's changelog must then retract a key's row before adding its
  // next one (as every Debezium changelog does: -U before +U); an addition for a key
  // already held replaces its row without retracting the old one downstream.
  // The output of a join of two unique-keyed sides is unique on both keys together
  // (a left join's padded rows have nulls for the right key).
  std::vector<int> left_unique_key;
  std::vector<int> right_unique_key;

  // Exact retractions (optional, for a side with a unique key and no position column):
  // the side's changelog never retracts a row it did not add, e.g. it is the output of
  // another changelog join (consistent by construction), not a Debezium topic (whose
  // replays can). The side then removes a retracted row blindly instead of reading the
  // state first to check that it holds one (Flink's join never checks): one state read
  // less per retraction. A retraction of a row not held is then joined and emitted like
  // any other (a downstream upsert materializer counts and ignores it). A side with
  // positions held with its rows reads them anyway; a side without a unique key is
  // refused (its removals read the row's count).
  bool left_exact_retractions = false;
  bool right_exact_retractions = false;
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
// has no row left. A retraction directly followed (in one batch) by an addition for the
// same key, as an update's -U/+U or a left join's -D/+I when a padded row gets its first
// match, comes out as one +U: no delete or stale row in between. Run it keyed by
// `key_fields` (KeyBy on the same fields).
CDCFLOW_API OperatorFactory UpsertMaterializer(std::vector<int> key_fields);

struct UpsertMaterializerSpec {
  std::vector<int> key_fields;
  // Replay protection as in JoinSpec: the column holding the source position (-1:
  // off); the key identifies the row. The column is removed from the rows.
  int position_field = -1;
  // Appends an Int64 column to every output row (+U and -D): a version that only
  // grows per key, for sinks with external versioning (the Elasticsearch sink's
  // `version.field`). A joined document has several sources whose positions do not
  // compare, so the version is the materializer's own: max(last version of the key
  // + 1, the wall clock in microseconds when the operator was opened), kept in keyed
  // state (checkpointed with it). Re-sent or retried writes carry the version they
  // had, so they never overwrite a newer document; after a restore the wall-clock
  // floor makes the new attempt's writes supersede what the failed attempt wrote
  // after the checkpoint (assuming clocks do not go back by more than that gap).
  bool append_version = false;
};
CDCFLOW_API OperatorFactory UpsertMaterializer(UpsertMaterializerSpec spec);

}  // namespace cdcflow
