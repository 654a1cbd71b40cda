// GrammarLimits: bounds on everything a grammar costs, since schemas and patterns come from
// untrusted requests. Every limit is checked where the work happens and reported as a
// kInvalidArgument naming what was too large; nothing here can crash or run unbounded.
#pragma once

#include <cstdint>

namespace parley {

struct GrammarLimits {
  std::int64_t max_source_bytes = 256 << 10;  // schema, regex or GBNF text
  std::int32_t max_schema_depth = 48;         // nesting of a JSON Schema document
  std::int32_t max_ref_depth = 32;            // $ref chains followed while inlining
  std::int32_t max_exprs = 200'000;           // expressions in the Grammar
  std::int32_t max_repeat = 4096;             // a single {m,n} bound (minItems, maxLength ...)
  std::int32_t max_nfa_states = 400'000;      // while compiling rules to automata
  std::int32_t max_nodes = 60'000;            // automaton states over all rules
  std::int64_t max_mask_bytes = 256ll << 20;  // precomputed token masks of one grammar
  std::int32_t max_stack_depth = 64;          // nesting of rules at run time (JSON depth)
  std::int32_t max_stacks = 256;              // parallel parses (ambiguity) at run time
};

}  // namespace parley
