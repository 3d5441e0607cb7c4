-- imagefile: reads image.yml (the schema of the original image.py) and validates all of it
-- before anything is done. Every problem is collected and reported at once, each naming
-- the image id and the key; unknown keys are warnings.
--
--   local spec = imagefile.load("./image.yml", {base_dir = "."})
--   -- spec.images: list of images (defaults filled in), spec.result, spec.warnings

local naming = require("imagename")

local M = {}

M.nothing = " (nothing was cloned or built)"

M.top_keys = {images = true, result = true, pfsd_rpm = true, polardb_rpm = true}
M.common_keys = {id = true, type = true, build_image_name = true, build_image_dockerfile = true,
                 push = true, enable = true, polardb_rpm = true, pfsd_rpm = true}
M.engine_keys = {engine_repo = true, engine_branch = true, engine_config_template = true,
                 engine_release_date = true}
M.manager_keys = {engine_image_id = true}
M.types = {engine = true, manager = true}

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = tostring(k) end
  table.sort(out)
  return out
end

-- The closest known key (edit distance <= 2), for "did you mean".
local function closest(name, known)
  local function dist(a, b)
    local prev = {}
    for j = 0, #b do prev[j] = j end
    for i = 1, #a do
      local cur = {[0] = i}
      for j = 1, #b do
        local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
        cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      end
      prev = cur
    end
    return prev[#b]
  end
  local best, bd = nil, 3
  for k in pairs(known) do
    local d = dist(name, k)
    if d < bd then best, bd = k, d end
  end
  return best
end

local function is_abs(p) return p:sub(1, 1) == "/" end

-- Whether relative path `p` stays inside the directory it is relative to (no '..' climbing out).
local function stays_inside(p)
  if is_abs(p) then return false end
  local depth = 0
  for part in p:gmatch("[^/]+") do
    if part == ".." then depth = depth - 1 elseif part ~= "." then depth = depth + 1 end
    if depth < 0 then return false end
  end
  return true
end
M.stays_inside = stays_inside

-- Longest string value accepted (a branch name, a URL): a 10 MB value is an attack or an accident.
M.max_value_bytes = 1024

-- Git's `<transport>::<address>` form runs helpers (`ext::sh -c ...` runs a command, `fd::3`
-- reads a descriptor and hangs): only plain URLs, scp-style addresses and paths are accepted.
function M.repo_problem(repo)
  if repo:match("^%-") then return "must be a repository URL or path" end
  if repo:find("::", 1, true) then return "uses a git transport helper ('<transport>::'), which is not allowed" end
  local scheme = repo:match("^(%a[%w+.%-]*)://")
  if scheme and not ({https = true, http = true, ssh = true, git = true, file = true})[scheme:lower()] then
    return "uses the URL scheme '" .. scheme .. "'; allowed: https, http, ssh, git, file"
  end
  return nil
end

--- Resolves `p` relative to `base` unless it is absolute.
function M.resolve(base, p)
  if is_abs(p) then return p end
  p = p:gsub("^%./", "")
  if base == "" or base == "." then return p end
  return base .. "/" .. p
end

local function typename(v)
  if v == sql.null then return "null" end
  if math.type(v) == "integer" then return "an integer" end
  if type(v) == "number" then return "a number" end
  if type(v) == "boolean" then return "a boolean" end
  if type(v) == "table" then return (v[1] ~= nil or next(v) == nil) and "a list" or "a mapping" end
  return "a " .. type(v)
end

--- Loads and validates `path`. Raises a usage error listing every problem.
--- opts.base_dir: the directory relative paths (Dockerfiles) are resolved against.
function M.load(path, opts)
  opts = opts or {}
  local text = fs.read(path)
  if not text then polarrun.raise("usage", "image file " .. path .. " does not exist (give image_file=PATH)") end
  local ok, doc = pcall(yaml.load, text, path)
  if not ok then polarrun.raise("usage", "image file " .. tostring(doc):gsub("^[^:]*%.lua:%d+: ", "") .. M.nothing) end
  return M.validate(doc, path, opts)
end

--- Validates a decoded image.yml document; returns {images=, result=, warnings=}.
function M.validate(doc, path, opts)
  local base = opts.base_dir or "."
  local problems, warnings = {}, {}
  local function problem(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end
  local function warn(fmt, ...) warnings[#warnings + 1] = string.format(fmt, ...) end

  if type(doc) ~= "table" or doc[1] ~= nil then
    polarrun.raise("usage", path .. ": the top level must be a mapping with an 'images' list, got " .. typename(doc) .. M.nothing)
  end
  for _, k in ipairs(sorted_keys(doc)) do
    if not M.top_keys[k] then
      local hint = closest(k, M.top_keys)
      warn("%s: unknown top-level key '%s' is ignored%s", path, k, hint and (" (did you mean '" .. hint .. "'?)") or "")
    end
  end
  local result = doc.result
  if result ~= nil and (type(result) ~= "string" or result == "") then
    problem("top-level key 'result' must be a file name, got %s", typename(result))
    result = nil
  elseif result and (not stays_inside(result) or result:find("[%c]") or #result > M.max_value_bytes) then
    problem("top-level key 'result' must be a relative path inside the project (no '..', no control characters), got '%s'",
            result:sub(1, 80))
    result = nil
  end
  for _, k in ipairs({"pfsd_rpm", "polardb_rpm"}) do
    if doc[k] ~= nil and doc[k] ~= sql.null then
      warn("top-level key '%s' is accepted but ignored: engines are built from source on Debian, not from CentOS RPMs", k)
    end
  end

  local list = doc.images
  if list == nil or list == sql.null then
    polarrun.raise("usage", path .. ": missing top-level key 'images' (a list of images)" .. M.nothing)
  end
  if type(list) ~= "table" or (list[1] == nil and next(list) ~= nil) then
    polarrun.raise("usage", path .. ": top-level key 'images' must be a list, got " .. typename(list) .. M.nothing)
  end
  if #list == 0 then polarrun.raise("usage", path .. ": 'images' is empty: nothing to build" .. M.nothing) end

  local images, by_id = {}, {}
  for i, item in ipairs(list) do
    local label = string.format("images[%d]", i)
    if type(item) ~= "table" or item[1] ~= nil then
      problem("%s: each image must be a mapping of key: value, got %s", label, typename(item))
      goto continue
    end
    do
      local img = {index = i}
      local id = item.id
      if id == nil or id == sql.null then
        problem("%s: missing required key 'id'", label)
        id = nil
      elseif type(id) ~= "string" or not id:match("^[%w][%w_.%-]*$") then
        problem("%s: key 'id' must be a name of letters, digits, '_', '.' and '-', got %s", label,
                type(id) == "string" and ("'" .. id .. "'") or typename(id))
        id = nil
      end
      if id then
        label = string.format("image '%s'", id)
        if by_id[id] then
          problem("%s: duplicate id (images[%d] and images[%d]); ids must be unique", label, by_id[id].index, i)
        else
          by_id[id] = img
        end
      end
      img.id = id or string.format("images[%d]", i)
      img.label = label

      local function str(key, required)
        local v = item[key]
        if v == nil or v == sql.null then
          if required then problem("%s: missing required key '%s'", label, key) end
          return nil
        end
        if type(v) ~= "string" or v == "" then
          problem("%s: key '%s' must be a non-empty string, got %s", label, key, typename(v))
          return nil
        end
        -- a newline would forge lines of the plan and of git's and docker's arguments
        if v:find("%c") then
          problem("%s: key '%s' must not contain control characters (newline, tab ...)", label, key)
          return nil
        end
        if #v > M.max_value_bytes then
          problem("%s: key '%s' is %d bytes; at most %d are accepted", label, key, #v, M.max_value_bytes)
          return nil
        end
        return v
      end
      local function bool(key, default)
        local v = item[key]
        if v == nil or v == sql.null then return default end
        if type(v) ~= "boolean" then
          problem("%s: key '%s' must be true or false, got %s", label, key,
                  type(v) == "string" and ("'" .. v .. "'") or typename(v))
          return default
        end
        return v
      end

      img.type = str("type", true)
      if img.type and not M.types[img.type] then
        problem("%s: key 'type' must be 'engine' or 'manager', got '%s'", label, img.type)
        img.type = nil
      end
      img.enable = bool("enable", true)
      img.push = bool("push", true)   -- the original's default

      img.build_image_name = str("build_image_name", true)
      if img.build_image_name then
        local ref, why = naming.parse(img.build_image_name)
        if not ref then
          problem("%s: key 'build_image_name' is not a valid image name: %s", label, why)
        else
          img.ref = ref
        end
      end

      img.dockerfile_given = str("build_image_dockerfile", true)
      if img.dockerfile_given and not stays_inside(img.dockerfile_given) then
        problem("%s: key 'build_image_dockerfile' must be a relative path inside the project (no '..'), got '%s'",
                label, img.dockerfile_given)
        img.dockerfile_given = nil
      end
      if img.dockerfile_given then
        img.dockerfile = M.resolve(base, img.dockerfile_given)
        if not fs.exists(img.dockerfile) then
          problem("%s: key 'build_image_dockerfile': %s does not exist", label, img.dockerfile)
        elseif fs.is_dir(img.dockerfile) then
          problem("%s: key 'build_image_dockerfile': %s is a directory, not a Dockerfile", label, img.dockerfile)
        end
      end

      local allowed = {}
      for k in pairs(M.common_keys) do allowed[k] = true end
      if img.type == "engine" then
        img.engine_repo = str("engine_repo", true)
        img.engine_branch = str("engine_branch", true)
        if img.engine_branch and (img.engine_branch:match("^%-") or img.engine_branch:match("[%s~^:?*%[\\]")
                                  or img.engine_branch:match("%.%.") or img.engine_branch:match("/$")) then
          problem("%s: key 'engine_branch' is not a valid git branch name: '%s'", label, img.engine_branch)
          img.engine_branch = nil
        end
        local why = img.engine_repo and M.repo_problem(img.engine_repo)
        if why then
          problem("%s: key 'engine_repo' %s, got '%s'", label, why, img.engine_repo)
          img.engine_repo = nil
        end
        img.engine_config_template = str("engine_config_template", true)
        local t = img.engine_config_template
        if t and (is_abs(t) or t:match("%.%.")) then
          problem("%s: key 'engine_config_template' must be a path inside the engine repository (relative, no '..'), got '%s'", label, t)
          img.engine_config_template = nil
        end
        local d = item.engine_release_date
        if d ~= nil and d ~= sql.null then
          d = tostring(d)
          if not d:match("^%d%d%d%d%d%d%d%d$") then
            problem("%s: key 'engine_release_date' must be a date such as 20210910, got '%s'", label, d)
          else
            img.engine_release_date = d
          end
        end
        for k in pairs(M.engine_keys) do allowed[k] = true end
        if item.engine_image_id ~= nil then
          warn("%s: key 'engine_image_id' is for managers; ignored for an engine", label)
          allowed.engine_image_id = true
        end
      elseif img.type == "manager" then
        img.engine_image_id = str("engine_image_id", true)
        for k in pairs(M.manager_keys) do allowed[k] = true end
        for k in pairs(M.engine_keys) do
          if item[k] ~= nil then
            warn("%s: key '%s' is for engines; ignored for a manager (it builds FROM its engine image)", label, k)
            allowed[k] = true
          end
        end
      else
        for k in pairs(M.engine_keys) do allowed[k] = true end
        for k in pairs(M.manager_keys) do allowed[k] = true end
      end
      for _, k in ipairs({"polardb_rpm", "pfsd_rpm"}) do
        if item[k] ~= nil and item[k] ~= sql.null then
          warn("%s: key '%s' is accepted but ignored: engines are built from source, not from CentOS RPMs", label, k)
        end
      end
      for _, k in ipairs(sorted_keys(item)) do
        if not allowed[k] then
          local known = {}
          for kk in pairs(M.common_keys) do known[kk] = true end
          for kk in pairs(M.engine_keys) do known[kk] = true end
          for kk in pairs(M.manager_keys) do known[kk] = true end
          local hint = closest(k, known)
          warn("%s: unknown key '%s' is ignored%s", label, k, hint and (" (did you mean '" .. hint .. "'?)") or "")
        end
      end
      images[#images + 1] = img
    end
    ::continue::
  end

  -- dependencies and name clashes, once every image is known
  local names = {}
  for _, img in ipairs(images) do
    if img.type == "manager" and img.engine_image_id then
      local e = by_id[img.engine_image_id]
      if not e then
        problem("%s: key 'engine_image_id': no image has id '%s'", img.label, img.engine_image_id)
      elseif e.type ~= "engine" then
        problem("%s: key 'engine_image_id': image '%s' is a %s, not an engine", img.label, img.engine_image_id, e.type or "image of unknown type")
      elseif img.enable and not e.enable then
        problem("%s: key 'engine_image_id': engine '%s' is disabled (enable: false); enable it or disable this manager",
                img.label, img.engine_image_id)
      else
        img.engine = e
      end
    end
    if img.enable and img.ref and img.ref.tag then
      local full = img.ref.name .. ":" .. img.ref.tag
      if names[full] then
        problem("%s: key 'build_image_name': '%s' is also the name of image '%s'; one would overwrite the other",
                img.label, full, names[full])
      end
      names[full] = img.id
    end
  end

  if #problems > 0 then
    local lines = {string.format("%s has %d problem%s (nothing was cloned or built):", path, #problems, #problems == 1 and "" or "s")}
    for _, p in ipairs(problems) do lines[#lines + 1] = "  - " .. p end
    polarrun.raise("usage", table.concat(lines, "\n"), {problems = problems, warnings = warnings})
  end
  return {images = images, by_id = by_id, result = result, warnings = warnings, path = path}
end

return M
