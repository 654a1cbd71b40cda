#include "gateway/structured_output.h"

#include <fmt/format.h>

namespace parley {

std::optional<GrammarSpec> response_format_spec(const ResponseFormat& format) {
  GrammarSpec spec;
  switch (format.type) {
    case ResponseFormat::Type::kText:
      return std::nullopt;
    case ResponseFormat::Type::kJsonObject:
      spec.kind = GrammarKind::kJsonObject;
      return spec;
    case ResponseFormat::Type::kJsonSchema:
      if (format.schema_json.empty()) {
        spec.kind = GrammarKind::kJsonObject;  // json_schema without a schema: any object
        return spec;
      }
      spec.kind = GrammarKind::kJsonSchema;
      spec.text = format.schema_json;
      spec.json.strict = format.strict;
      return spec;
  }
  return std::nullopt;
}

Result<CompiledGrammarPtr> response_format_grammar(GrammarCompiler& compiler,
                                                   const std::optional<ResponseFormat>& format) {
  if (!format) return CompiledGrammarPtr();
  const std::optional<GrammarSpec> spec = response_format_spec(*format);
  if (!spec) return CompiledGrammarPtr();
  Result<CompiledGrammarPtr> grammar = compiler.compile(*spec);
  if (grammar.ok()) return grammar;
  const Status& st = grammar.status();
  // Errors of the schema (and of the limits on what it may cost) are the client's: 400.
  if (st.code() != ErrorCode::kInvalidArgument && st.code() != ErrorCode::kOutOfRange &&
      st.code() != ErrorCode::kResourceExhausted) {
    return st;
  }
  const std::string pointer(st.detail("param"));
  // The compiler's messages usually begin with the pointer already ("/properties/age/multipleOf:
  // unsupported JSON Schema keyword 'multipleOf'").
  std::string message = pointer.empty() || st.message().starts_with(pointer)
                            ? fmt::format("Invalid 'response_format' schema: {}", st.message())
                            : fmt::format("Invalid 'response_format' schema at '{}': {}", pointer, st.message());
  return invalid_param("response_format", std::move(message));
}

}  // namespace parley
