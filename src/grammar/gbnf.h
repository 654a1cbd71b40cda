// GBNF, llama.cpp's grammar text format, as a front end (see gbnf.cpp and docs/grammar.md).
#pragma once

#include <string_view>

#include "base/result.h"
#include "grammar/grammar.h"
#include "grammar/grammar_limits.h"

namespace parley {

// The grammar of a GBNF text (its rule "root"). Errors name the line.
Result<Grammar> gbnf_grammar(std::string_view text, const GrammarLimits& limits = {});

}  // namespace parley
