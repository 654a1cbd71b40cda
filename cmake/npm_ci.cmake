# cmake -DWEB=<dir> -DNPM=<npm> -P cmake/npm_ci.cmake: `npm ci` in WEB unless its node_modules
# is already up to date with package-lock.json (npm writes node_modules/.package-lock.json on every
# install). The build runs this whenever ninja has no record of it (a new build tree), so what
# scripts/setup has just installed is not installed a second time.
set(installed ${WEB}/node_modules/.package-lock.json)
if(EXISTS ${installed} AND NOT ${WEB}/package-lock.json IS_NEWER_THAN ${installed})
  return()
endif()
execute_process(COMMAND ${NPM} ci --no-audit --no-fund --loglevel=error WORKING_DIRECTORY ${WEB} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "npm ci in ${WEB} failed (${rc})")
endif()
