// Exports of a conversation (GET /api/conversations/{id}/export, docs/api.md): the Markdown
// rendering of its current path and the file name a browser saves it under. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace parley {

// "# <title>" (or "# Conversation"; line breaks in a title become spaces), then one section per
// message of `path`: "**User**", "**Assistant** (model)", "**System**", "**Tool**", a blank line
// and the content verbatim. Contents are not escaped: they are Markdown already (the model writes
// Markdown, and so do most users), so what the UI rendered is what the file shows.
std::string export_markdown(std::string_view title, const std::vector<store::Message>& path);

// A file name that is safe in a Content-Disposition header and on every file system: the title's
// characters in [A-Za-z0-9._ -] (others dropped, runs of spaces folded, no leading or trailing
// spaces or dots, at most 100 characters), "conversation" when nothing is left, then
// ".<extension>".
std::string export_file_name(std::string_view title, std::string_view extension);

}  // namespace parley
