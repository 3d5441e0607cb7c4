-- imagename: Docker image references, parsed the way Docker does.
--
--   parse("127.0.0.1:5000/polardb_pg/engine:v1")
--     → {registry="127.0.0.1:5000", path="polardb_pg/engine", tag="v1", name="127.0.0.1:5000/polardb_pg/engine"}
--   parse("polardb_pg/engine") → {registry=nil, path="polardb_pg/engine", tag=nil, name="polardb_pg/engine"}
--
-- The first component is a registry when it contains '.' or ':' or is "localhost"
-- (so the ':' of a port is never taken for a tag); the tag is what follows the last ':'
-- after the last '/'.

local M = {}

local function valid_component(c)
  if not c:match("^[a-z0-9][a-z0-9._%-]*$") or not c:match("[a-z0-9]$") then return false end
  -- separators: one '.', one '_', two '_' or any number of '-'
  for sep in c:gmatch("[._%-]+") do
    if not (sep == "." or sep == "_" or sep == "__" or sep:match("^%-+$")) then return false end
  end
  return true
end

local function valid_registry(r)
  local host, port = r:match("^([^:]+):(%d+)$")
  host = host or r
  if r:find(":") and not port then return false end
  if port and tonumber(port) > 65535 then return false end
  return host:match("^[%w][%w.%-]*$") ~= nil and host:match("[%w]$") ~= nil
end

--- Parses an image name; returns the reference table, or nil and why.
function M.parse(s)
  if type(s) ~= "string" or s == "" then return nil, "empty name" end
  if s:find("@") then return nil, "'" .. s .. "': digests (@sha256:...) cannot be built; give a name and optional tag" end
  if s:find("%s") then return nil, "'" .. s .. "' contains white space" end
  local rest, tag = s, nil
  local last_slash = s:match(".*()/") or 0
  local colon = s:match(".*():")
  if colon and colon > last_slash then
    rest, tag = s:sub(1, colon - 1), s:sub(colon + 1)
    if not tag:match("^[%w_][%w_.%-]*$") or #tag > 128 then
      return nil, "'" .. s .. "': tag '" .. tag .. "' may contain letters, digits, '_', '.' and '-' (max 128, not starting with '.' or '-')"
    end
  end
  local parts = {}
  for p in (rest .. "/"):gmatch("([^/]*)/") do parts[#parts + 1] = p end
  local registry
  if #parts > 1 and (parts[1]:find("[.:]") or parts[1] == "localhost") then
    registry = table.remove(parts, 1)
    if not valid_registry(registry) then
      return nil, "'" .. s .. "': '" .. registry .. "' is not a valid registry host[:port]"
    end
  end
  for _, c in ipairs(parts) do
    if c == "" then return nil, "'" .. s .. "' has an empty path component" end
    if not valid_component(c) then
      return nil, "'" .. s .. "': '" .. c .. "' must be lowercase letters and digits separated by '.', '_', '__' or '-'"
    end
  end
  local path = table.concat(parts, "/")
  if #path + (registry and #registry + 1 or 0) > 255 then return nil, "'" .. s .. "' is longer than 255 characters" end
  return {registry = registry, path = path, tag = tag, name = (registry and (registry .. "/") or "") .. path}
end

--- The reference with its registry replaced by `registry` ("host[:port][/namespace]").
function M.with_registry(ref, registry)
  if not registry or registry == "" then return ref end
  registry = registry:gsub("/+$", "")
  local host, ns = registry:match("^([^/]+)/(.+)$")
  host = host or registry
  local path = ns and (ns .. "/" .. ref.path) or ref.path
  return {registry = host, path = path, tag = ref.tag, name = host .. "/" .. path}
end

--- Checks a registry override given as an input; returns nil or why it is wrong.
function M.check_registry(registry)
  local host, ns = registry:gsub("/+$", ""):match("^([^/]+)/?(.*)$")
  if not host or not valid_registry(host) then return "'" .. registry .. "' is not host[:port][/namespace]" end
  if ns and ns ~= "" then
    for c in ns:gmatch("[^/]+") do
      if not valid_component(c) then return "namespace component '" .. c .. "' is not a valid image path component" end
    end
  end
  return nil
end

return M
