#pragma once
// The REST API's view of one checkpoint (cluster_view.h's CheckpointInfo), from the
// coordinator's statistics; shared by the job manager's and the local job's views.

#include "jobmanager/rest/cluster_view.h"
#include "runtime/checkpoint/checkpoint_coordinator.h"

namespace cdcflow::rest {

CheckpointInfo ToCheckpointInfo(const checkpoint::CheckpointStats& stats);

}  // namespace cdcflow::rest
