# The web UI (web/: TypeScript, Vite) built with npm and embedded in the parley binary, and the
# helper that embeds any built site (tests embed a fixture). docs/development.md explains the loop.
#
# `make build` runs, in web/, `npm ci` only when node_modules is missing or package-lock.json changed,
# and `npm run build` only when a source of the UI changed; cmake/embed_web.mjs then turns the built
# files into a C++ source, rewritten only when they changed.

option(PARLEY_WEB_UI "Build the web UI (web/) with npm and embed it in parley (OFF: no UI)" ON)
find_program(PARLEY_NODE node)
find_program(PARLEY_NPM npm)

# parley_embedded_site(TARGET name FUNCTION fn DIST dir [DEPENDS file...])
# A static library `name` whose header `name.h` declares `std::span<const EmbeddedFile> fn()` in
# namespace parley: every file under `dir` (gateway/static_site.h). A missing `dir` is an empty site.
function(parley_embedded_site)
  cmake_parse_arguments(S "" "TARGET;FUNCTION;DIST" "DEPENDS" ${ARGN})
  if(NOT PARLEY_NODE)
    message(FATAL_ERROR "node is needed to embed ${S_DIST}: run scripts/setup")
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${S_TARGET})
  add_custom_command(
    OUTPUT ${out}/${S_TARGET}.cpp ${out}/${S_TARGET}.h
    COMMAND ${PARLEY_NODE} ${PROJECT_SOURCE_DIR}/cmake/embed_web.mjs --dist ${S_DIST} --out ${out}/${S_TARGET}.cpp
            --header ${out}/${S_TARGET}.h --function ${S_FUNCTION}
    DEPENDS ${PROJECT_SOURCE_DIR}/cmake/embed_web.mjs ${S_DEPENDS}
    COMMENT "Embedding ${S_DIST}"
    VERBATIM)
  add_library(${S_TARGET} STATIC ${out}/${S_TARGET}.cpp)
  target_include_directories(${S_TARGET} PUBLIC ${out})
  # Debug information would hold a second copy of every byte (the arrays' values): none for data.
  target_compile_options(${S_TARGET} PRIVATE -g0)
  target_link_libraries(${S_TARGET} PUBLIC parley_gateway PRIVATE parley_warnings)
endfunction()

# parley_web_ui(): the library parley_web_ui (header parley_web_ui.h, function web_ui_files()).
function(parley_web_ui)
  set(web ${PROJECT_SOURCE_DIR}/web)
  set(dist ${CMAKE_BINARY_DIR}/web/dist)
  # Watched even while it is missing, so that web/ appearing (a merge) reconfigures.
  file(GLOB manifest CONFIGURE_DEPENDS ${web}/package.json)
  set(built)
  if(PARLEY_WEB_UI AND manifest)
    if(NOT PARLEY_NPM)
      message(FATAL_ERROR "npm is needed to build the web UI: run scripts/setup (or -DPARLEY_WEB_UI=OFF)")
    endif()
    execute_process(COMMAND ${PARLEY_NODE} --version OUTPUT_VARIABLE node_version OUTPUT_STRIP_TRAILING_WHITESPACE)
    string(REGEX REPLACE "^v" "" node_version "${node_version}")
    if(node_version VERSION_LESS 18.19)
      message(FATAL_ERROR "the web UI's build (Vite) needs Node.js 18.19 or newer, found ${node_version} "
                          "(${PARLEY_NODE}); install a newer one, or configure with -DPARLEY_WEB_UI=OFF")
    endif()
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${web}/src/* ${web}/public/*)
    list(FILTER sources EXCLUDE REGEX "\\.test\\.[jt]sx?$")  # unit tests are not shipped
    file(GLOB configs CONFIGURE_DEPENDS ${web}/index.html ${web}/package.json ${web}/package-lock.json
         ${web}/vite.config.* ${web}/tsconfig*.json)
    # npm writes node_modules/.package-lock.json on every install: missing node_modules or a
    # newer package-lock.json makes it out of date.
    set(installed ${web}/node_modules/.package-lock.json)
    add_custom_command(
      OUTPUT ${installed}
      COMMAND ${CMAKE_COMMAND} -DWEB=${web} -DNPM=${PARLEY_NPM} -P ${PROJECT_SOURCE_DIR}/cmake/npm_ci.cmake
      DEPENDS ${web}/package-lock.json ${PROJECT_SOURCE_DIR}/cmake/npm_ci.cmake
      COMMENT "npm ci in web/"
      VERBATIM)
    # Into the build directory: each build tree has its own, and web/dist stays the developer's.
    add_custom_command(
      OUTPUT ${dist}/index.html
      COMMAND ${PARLEY_NPM} run --silent build -- --outDir ${dist} --emptyOutDir
      DEPENDS ${installed} ${sources} ${configs}
      WORKING_DIRECTORY ${web}
      COMMENT "Building the web UI (npm run build in web/)"
      VERBATIM)
    set(built ${dist}/index.html)
  elseif(NOT PARLEY_WEB_UI)
    set(dist ${CMAKE_BINARY_DIR}/web/no-ui)  # never created: an empty site
  endif()
  parley_embedded_site(TARGET parley_web_ui FUNCTION web_ui_files DIST ${dist} DEPENDS ${built})
endfunction()
