# Third-party libraries, all from Debian 12 packages installed by scripts/setup.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json)
find_package(tomlplusplus 3 REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# src/store: SQLite (embedded default) and libpq (PostgreSQL); their headers stay in src/store.
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)  # src/auth: the Redis rate limiter
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)  # src/auth: Argon2id, CSPRNG, HMAC; src/kv: prefix-index keys
# src/store: ICU for e-mail normalization (NFKC_Casefold) and UTS #39 skeletons (uspoof).
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc icu-i18n)
# src/auth: libpwquality's checks of a new password, and cracklib (no pkg-config file) for its
# dictionary check, which auth calls itself (docs/dependencies.md says why).
pkg_check_modules(PWQUALITY REQUIRED IMPORTED_TARGET pwquality)
find_path(CRACKLIB_INCLUDE_DIR crack.h REQUIRED)
find_library(CRACKLIB_LIBRARY crack REQUIRED)
add_library(Parley::cracklib UNKNOWN IMPORTED)
set_target_properties(Parley::cracklib PROPERTIES IMPORTED_LOCATION "${CRACKLIB_LIBRARY}"
                      INTERFACE_INCLUDE_DIRECTORIES "${CRACKLIB_INCLUDE_DIR}")
if(PARLEY_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(PARLEY_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Reference data (tokenizers, templates) lives beside the checkout, never inside it.
set(PARLEY_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "Directory with the shared reference data")
get_filename_component(PARLEY_SHARED_DIR "${PARLEY_SHARED_DIR}" ABSOLUTE)
