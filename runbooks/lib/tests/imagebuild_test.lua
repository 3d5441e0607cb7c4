-- Unit tests for lib/imagebuild.lua: the compiler cache statistics read from a build's output.
local b = require("imagebuild")

-- as BuildKit's plain progress prints the engine Dockerfile's `ccache --show-log-stats`
local output = [[
#12 590.1 make[1]: Leaving directory '/home/postgres/polardb_pg'
#12 591.0 ccache statistics of this build:
#12 591.0 Cacheable calls:   2931 / 2940 ( 99.69%)
#12 591.0   Hits:            2874 / 2931 ( 98.06%)
#12 591.0     Direct:        2874 / 2874 (100.00%)
#12 591.0     Preprocessed:     0 /   57 (  0.00%)
#12 591.0   Misses:            57 / 2931 (  1.94%)
#12 591.0 Local storage:
#12 591.0   Hits:            2874 / 5862 ( 49.03%)
#12 DONE 592.3s
]]

test("the hits of the build's compilations are read", function()
  local c = b.compiler_cache(output)
  assert(c and c.hits == 2874 and c.calls == 2931, c and (c.hits .. "/" .. c.calls))
end)

test("no statistics (the compile step came from the layer cache): nil", function()
  assert(b.compiler_cache("#12 [build 3/6] RUN --mount=type=cache ...\n#12 CACHED\n") == nil)
end)
