// JobBuilder and Stream (cdcflow/job.h): they only record the graph; Finalize checks it.
#include "absl/strings/str_cat.h"
#include "cdcflow/job.h"
#include "runtime/graph/logical_graph.h"

namespace cdcflow {

JobBuilder::JobBuilder(JobArgs args, int default_parallelism) : impl_(std::make_unique<Impl>()) {
  impl_->args = std::move(args);
  impl_->default_parallelism = default_parallelism < 1 ? 1 : default_parallelism;
}
JobBuilder::~JobBuilder() = default;

const JobArgs& JobBuilder::args() const { return impl_->args; }
int JobBuilder::default_parallelism() const { return impl_->default_parallelism; }
void JobBuilder::SetJobName(std::string name) { impl_->graph.job_name = std::move(name); }
absl::Status JobBuilder::status() const { return impl_->status; }
void JobBuilder::RecordError(absl::Status error) {
  if (impl_->status.ok() && !error.ok()) impl_->status = std::move(error);
}

namespace {

int AddVertex(JobBuilder::Impl& impl, std::string name, graph::VertexKind kind) {
  graph::LogicalVertex v;
  v.spec.id = static_cast<int32_t>(impl.graph.vertices.size());
  v.spec.name = std::move(name);
  v.spec.kind = kind;
  v.spec.parallelism = impl.default_parallelism;
  impl.graph.vertices.push_back(std::move(v));
  return impl.graph.vertices.back().spec.id;
}

}  // namespace

Stream JobBuilder::Source(std::string name, SourceFactory factory) {
  if (!factory) RecordError(absl::InvalidArgumentError(absl::StrCat("source '", name, "': no factory")));
  int id = AddVertex(*impl_, std::move(name), graph::VertexKind::kSource);
  impl_->graph.vertices[id].source = std::move(factory);
  return Stream(this, id);
}

Stream JobBuilder::Transform(std::string name, const std::vector<Stream>& inputs,
                             OperatorFactory factory) {
  if (inputs.empty()) {
    RecordError(absl::InvalidArgumentError(absl::StrCat("operator '", name, "' has no input")));
  }
  if (!factory) {
    RecordError(absl::InvalidArgumentError(absl::StrCat("operator '", name, "': no factory")));
  }
  const std::string vertex_name = name;
  int id = AddVertex(*impl_, std::move(name), graph::VertexKind::kOperator);
  impl_->graph.vertices[id].op = std::move(factory);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Stream& in = inputs[i];
    if (in.builder_ != this || in.vertex_ < 0 || in.vertex_ >= id) {
      RecordError(absl::InvalidArgumentError(
          absl::StrCat("operator '", vertex_name, "': input ", i, " is not a stream of this job")));
      continue;
    }
    if (impl_->graph.vertices[in.vertex_].spec.kind == graph::VertexKind::kSink) {
      RecordError(absl::InvalidArgumentError(absl::StrCat(
          "operator '", vertex_name, "': input ", i, " is the sink '",
          impl_->graph.vertices[in.vertex_].spec.name, "', which has no output")));
      continue;
    }
    graph::LogicalEdge e;
    e.spec.id = static_cast<int32_t>(impl_->graph.edges.size());
    e.spec.source = in.vertex_;
    e.spec.target = id;
    e.spec.target_input = static_cast<int32_t>(i);
    e.spec.partitioning = in.partitioning_;
    if (in.key_) {
      e.key = in.key_;
      e.spec.key_description = in.key_->Describe();
    }
    impl_->graph.edges.push_back(std::move(e));
  }
  return Stream(this, id);
}

Stream Stream::KeyBy(std::vector<int> fields) const {
  if (fields.empty() && builder_ != nullptr) {
    builder_->RecordError(absl::InvalidArgumentError("KeyBy: no key fields given"));
  }
  return KeyBySelector(std::make_shared<FieldKeySelector>(std::move(fields)));
}

Stream Stream::KeyBySelector(std::shared_ptr<const KeySelector> selector) const {
  Stream s = *this;
  s.partitioning_ = Partitioning::kHash;
  s.key_ = std::move(selector);
  if (!s.key_ && builder_ != nullptr) {
    builder_->RecordError(absl::InvalidArgumentError("KeyBy: null key selector"));
  }
  return s;
}

Stream Stream::Transform(std::string name, OperatorFactory factory) const {
  return builder_->Transform(std::move(name), {*this}, std::move(factory));
}

Stream Stream::Process(std::string name, KeyedProcessFactory factory) const {
  if (partitioning_ != Partitioning::kHash) {
    builder_->RecordError(absl::InvalidArgumentError(absl::StrCat(
        "keyed process '", name, "' needs a keyed stream: call KeyBy before Process")));
  }
  if (!factory) {
    builder_->RecordError(
        absl::InvalidArgumentError(absl::StrCat("keyed process '", name, "': no factory")));
  }
  Stream out = builder_->Transform(std::move(name), {*this}, [] { return nullptr; });
  auto& v = builder_->impl().graph.vertices[out.vertex_];
  v.spec.kind = graph::VertexKind::kKeyedProcess;
  v.op = nullptr;
  v.keyed = std::move(factory);
  return out;
}

Stream Stream::SinkTo(std::string name, SinkFactory factory) const {
  if (!factory) {
    builder_->RecordError(absl::InvalidArgumentError(absl::StrCat("sink '", name, "': no factory")));
  }
  // Transform refuses a null operator factory; the sink's factory goes in afterwards.
  Stream out = builder_->Transform(std::move(name), {*this}, [] { return nullptr; });
  auto& v = builder_->impl().graph.vertices[out.vertex_];
  v.spec.kind = graph::VertexKind::kSink;
  v.op = nullptr;
  v.sink = std::move(factory);
  return out;
}

Stream& Stream::SetParallelism(int parallelism) {
  if (builder_ == nullptr) return *this;
  auto& v = builder_->impl().graph.vertices[vertex_];
  if (parallelism < 1) {
    builder_->RecordError(absl::InvalidArgumentError(
        absl::StrCat("vertex '", v.spec.name, "': parallelism ", parallelism, " is below 1")));
    return *this;
  }
  v.spec.parallelism = parallelism;
  v.parallelism_set = true;
  return *this;
}

Stream& Stream::SetMaxParallelism(int max_parallelism) {
  if (builder_ == nullptr) return *this;
  auto& v = builder_->impl().graph.vertices[vertex_];
  if (max_parallelism < 1 || max_parallelism > 32768) {
    builder_->RecordError(absl::InvalidArgumentError(absl::StrCat(
        "vertex '", v.spec.name, "': max parallelism ", max_parallelism, " is not in 1..32768")));
    return *this;
  }
  v.spec.max_parallelism = max_parallelism;
  return *this;
}

}  // namespace cdcflow
