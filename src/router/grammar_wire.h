// A grammar built in code as worker-protocol JSON (internal to src/router).
#pragma once

#include <memory>

#include "grammar/compiled_grammar.h"
#include "router/wire_json.h"

namespace parley::wire {

json::object built_grammar_json(const BuiltGrammar& built);
// The grammar (checked by Grammar::from_parts), its key prefixed with a digest of its content.
Result<std::shared_ptr<const BuiltGrammar>> parse_built_grammar(const json::value& v, std::size_t max_exprs);

}  // namespace parley::wire
