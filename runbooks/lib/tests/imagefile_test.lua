-- Unit tests for lib/imagefile.lua: validation errors of an image.yml document.
local f = require("imagefile")

local function problem(doc)
  local ok, err = pcall(f.validate, doc, "image.yml", {base_dir = "/tmp"})
  assert(not ok, "validation passed")
  return tostring(err)
end

test("the top level must be a mapping", function()
  local msg = problem({"a", "b"})
  assert(msg:find("top level must be a mapping"), msg)
end)

test("a result outside the project is refused", function()
  local msg = problem({result = "../out.json", images = {{id = "x"}}})
  assert(msg:find("'result' must be a relative path"), msg)
end)

test("a non-string result is named", function()
  local msg = problem({result = 5, images = {{id = "x"}}})
  assert(msg:find("'result' must be a file name"), msg)
end)

test("an empty images list is refused", function()
  local msg = problem({images = {}})
  assert(msg:find("'images' is empty"), msg)
end)
