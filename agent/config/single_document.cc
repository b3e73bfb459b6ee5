#include "single_document.h"

#include <yaml-cpp/eventhandler.h>

#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "error_position.h"
#include "quote.h"

namespace leakwatch::config {
namespace {

// Records where each document starts and whether it holds anything but null.
class DocumentProbe : public YAML::EventHandler {
 public:
  YAML::Mark start() const { return start_; }
  std::optional<YAML::Mark> first_content() const { return first_content_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    start_ = mark;
    first_content_.reset();
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Content(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Content(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnMapEnd() override {}

 private:
  void Content(const YAML::Mark& mark) {
    if (!first_content_) first_content_ = mark;
  }

  YAML::Mark start_ = YAML::Mark::null_mark();
  std::optional<YAML::Mark> first_content_;
};

}  // namespace

absl::StatusOr<YAML::Node> LoadSingleDocument(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentProbe probe;
  std::optional<YAML::Mark> previous_start;
  for (int document = 0; parser.HandleNextDocument(probe); ++document) {
    const YAML::Mark start = probe.start();
    if (previous_start && start.pos == previous_start->pos) {
      // The parser is stuck on a token it cannot place anywhere.
      const size_t at = static_cast<size_t>(start.pos);
      return ErrorAt("", PositionOf(start),
                     absl::StrCat("invalid YAML: unexpected ",
                                  at < text.size() ? Quote(text.substr(at, 1)) : "end"));
    }
    previous_start = start;
    if (document > 0 && probe.first_content()) {
      return ErrorAt("", PositionOf(*probe.first_content()),
                     "a second YAML document; the config must be one document");
    }
  }
  return YAML::Load(text);
}

}  // namespace leakwatch::config
