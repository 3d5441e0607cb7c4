-- imageplan: turns a validated image.yml into a plan — which images are built in which
-- order, with which names, tags, build args and labels, pushed or not and why — and prints it.
--
--   local plan = imageplan.make(spec, params)   -- raises usage errors (bad inputs, binary)
--   imageplan.tag_engines(plan)                 -- once the sources are fetched
--   imageplan.print(plan)

local naming = require("imagename")
local imagesource = require("imagesource")

local M = {}

local function dirname(p)
  local d = p:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end
M.dirname = dirname

--- The default cache: $XDG_CACHE_HOME/polarrun, ~/.cache/polarrun, or /var/cache/polarrun.
function M.default_cache()
  local xdg, home = env("XDG_CACHE_HOME"), env("HOME")
  if xdg and xdg ~= "" then return xdg .. "/polarrun" end
  if home and home ~= "" and home ~= "/" then return home .. "/.cache/polarrun" end
  return "/var/cache/polarrun"
end

--- The Docker CLI (POLARRUN_DOCKER, /usr/bin/docker, or docker on PATH).
function M.docker()
  local d = env("POLARRUN_DOCKER")
  if d and d ~= "" then return d end
  if fs.exists("/usr/bin/docker") then return "/usr/bin/docker" end
  return "docker"
end

--- Why `path` cannot go into an image (nil when it can): it must exist and must not load
--- the Swift runtime from the build machine (swift build -c release --static-swift-stdlib).
function M.check_binary(path)
  if not path or path == "" then return "no polarrun binary given (polarrun_binary=PATH)" end
  local st = fs.stat(path)
  if not st or st.type ~= "file" then return "polarrun_binary " .. path .. " does not exist" end
  local ok, r = pcall(run, {"readelf", "-d", path}, {readonly = true, quiet = true, check = false})
  if not ok or r.status ~= 0 then
    ok, r = pcall(run, {"ldd", path}, {readonly = true, quiet = true, check = false})
  end
  if not ok then
    log.warn("cannot check that " .. path .. " is built with the static Swift runtime (neither readelf nor ldd runs)")
    return nil
  end
  local lib = r.stdout:match("(libswiftCore%.so)") or r.stdout:match("(libFoundation%.so)")
  if lib then
    return string.format("polarrun_binary %s loads the Swift runtime (%s) from this machine and would not start "
      .. "in the images. Build a binary with the static Swift runtime:\n"
      .. "      swift build -c release --static-swift-stdlib --product polarrun\n"
      .. "    and pass polarrun_binary=.build/release/polarrun", path, lib)
  end
  return nil
end

--- Builds the plan from the validated spec and the runbook's inputs.
function M.make(spec, p)
  local problems = {}
  local base = dirname(spec.path)
  local plan = {
    spec = spec, params = p, base_dir = base,
    timestamp = os.date("%Y%m%d%H%M%S"),
    created = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    cache_dir = p.cache_dir or M.default_cache(),
    docker = M.docker(),
    parallel = p.parallel,
    images = {},
  }
  plan.work_dir = plan.cache_dir .. "/work/" .. polarrun.run_id
  plan.result = p.result or (spec.result and require("imagefile").resolve(base, spec.result)) or
                require("imagefile").resolve(base, "image.result")
  plan.result_json = plan.result .. ".json"
  plan.rootfs = p.rootfs or require("imagefile").resolve(base, "rootfs")
  if p.parallel < 1 then problems[#problems + 1] = "input 'parallel' must be at least 1, got " .. p.parallel end
  if p.push_retries < 0 then problems[#problems + 1] = "input 'push_retries' must be 0 or more" end
  if p.registry then
    local why = naming.check_registry(p.registry)
    if why then problems[#problems + 1] = "input 'registry': " .. why end
  end

  for _, img in ipairs(spec.images) do
    if img.enable then
      local ref = naming.with_registry(img.ref, p.registry)
      local item = {
        id = img.id, type = img.type, img = img, ref = ref, dockerfile = img.dockerfile,
        push = img.push, push_why = "image.yml push: " .. tostring(img.push),
        engine_id = img.engine_image_id, after = img.engine_image_id and {img.engine_image_id} or {},
      }
      if p.push ~= nil then item.push, item.push_why = p.push, "input push=" .. tostring(p.push) end
      if img.type == "engine" then
        item.repo = imagesource.normalize_url(img.engine_repo, base)
        item.branch = img.engine_branch
        item.source_key = item.repo .. "#" .. item.branch
      end
      plan.images[#plan.images + 1] = item
    end
  end
  -- engines first (they have no dependencies), then managers, each group in file order
  table.sort(plan.images, function(a, b)
    if a.type ~= b.type then return a.type == "engine" end
    return a.img.index < b.img.index
  end)

  plan.sources = {}
  local by_key = {}
  for _, it in ipairs(plan.images) do
    if it.type == "engine" then
      if not by_key[it.source_key] then
        by_key[it.source_key] = {key = it.source_key, url = it.repo, branch = it.branch, images = {}}
        plan.sources[#plan.sources + 1] = by_key[it.source_key]
      end
      it.source = by_key[it.source_key]
      table.insert(it.source.images, it.id)
    end
  end

  if #plan.images > 0 then
    local why = M.check_binary(p.polarrun_binary)
    if why then
      if polarrun.dry_run then log.warn(why .. "\n    (dry run: the build would stop here)")
      else problems[#problems + 1] = why end
    end
    if not p.runbooks_dir or not fs.is_dir(p.runbooks_dir .. "/lib") then
      problems[#problems + 1] = "runbooks_dir " .. tostring(p.runbooks_dir) .. " is not a runbooks directory (with lib/)"
    end
    if fs.exists(plan.rootfs) and not fs.is_dir(plan.rootfs) then
      problems[#problems + 1] = "rootfs " .. plan.rootfs .. " is not a directory"
    end
  end
  if #problems > 0 then
    raise("usage", "cannot build (nothing was cloned or built):\n  - " .. table.concat(problems, "\n  - "))
  end
  plan.repo = imagesource.this_repo(p.runbooks_dir, base)
  return plan
end

--- The tag of an image, its full name, build args and labels (engines once their source is known).
local function finish_item(plan, it)
  local r = plan.repo
  if it.type == "engine" then
    local s = it.source
    local date = it.img.engine_release_date or s.release_date or "YYYYMMDD"
    it.tag = it.ref.tag or string.format("%s.%s.%s.%s", s.version or "VERSION", date,
                                         s.commit and s.commit:sub(1, 8) or "COMMIT", plan.timestamp)
    it.build_args = {
      CodeSource = r.url, CodeBranch = r.branch, CodeVersion = r.commit,
      PolarSource = it.repo, PolarBranch = it.branch, PolarVersion = s.commit or "COMMIT",
      POLAR_SOURCE_DIR = "/home/postgres/polardb_pg", BuildBy = r.build_by,
    }
  else
    it.tag = it.ref.tag or string.format("%s.%s", plan.timestamp, r.commit:sub(1, 8))
    it.build_args = {CodeSource = r.url, CodeBranch = r.branch, CodeVersion = r.commit, BuildBy = r.build_by,
                     ENGINE_IMAGE_FULL_NAME = "(the image of " .. it.engine_id .. ")"}
  end
  it.full = it.ref.name .. ":" .. it.tag
  it.labels = {
    ["org.opencontainers.image.source"] = it.type == "engine" and it.repo or r.url,
    ["org.opencontainers.image.revision"] = it.type == "engine" and (it.source.commit or "COMMIT") or r.commit,
    ["org.opencontainers.image.version"] = it.tag,
    ["org.opencontainers.image.created"] = plan.created,
    ["org.opencontainers.image.base.name"] = it.type == "engine" and M.base_image(it.dockerfile) or "(the image of " .. it.engine_id .. ")",
    ["org.opencontainers.image.title"] = it.ref.path,
    ["io.polarrun.image-id"] = it.id,
  }
end

--- The base image of a Dockerfile: its last FROM, with ARG defaults substituted.
function M.base_image(dockerfile)
  local text = fs.read(dockerfile) or ""
  local args, stages, base = {}, {}, "unknown"
  for line in text:gmatch("[^\n]+") do
    local name, value = line:match("^%s*ARG%s+([%w_]+)=(%S*)")
    if name then args[name] = value:gsub('^"(.*)"$', "%1") end
    local from, alias = line:match("^%s*[Ff][Rr][Oo][Mm]%s+(%S+)%s+[Aa][Ss]%s+(%S+)")
    from = from or line:match("^%s*[Ff][Rr][Oo][Mm]%s+(%S+)")
    if from then
      base = from:gsub("%${?([%w_]+)}?", function(n) return args[n] or ("${" .. n .. "}") end)
      base = stages[base] or base          -- FROM an earlier stage: that stage's base
      if alias then stages[alias] = base end
    end
  end
  return base
end

--- After the sources are fetched: versions, release dates, tags; the config template must exist.
function M.tag_engines(plan)
  local problems = {}
  for _, s in ipairs(plan.sources) do imagesource.describe(s) end
  local names = {}
  for _, it in ipairs(plan.images) do
    if it.type == "engine" then
      local t = it.source.dir .. "/" .. it.img.engine_config_template
      if not fs.exists(t) then
        problems[#problems + 1] = string.format("image '%s': engine_config_template %s does not exist in %s %s",
                                                it.id, it.img.engine_config_template, it.source.url, it.branch)
      end
    end
    finish_item(plan, it)
    if names[it.full] then
      problems[#problems + 1] = string.format("images '%s' and '%s' would both be tagged %s", names[it.full], it.id, it.full)
    end
    names[it.full] = it.id
  end
  if #problems > 0 then raise("source", "cannot build (nothing was built):\n  - " .. table.concat(problems, "\n  - ")) end
end

local function sorted(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

--- Logs the plan (the dry run's output).
function M.print(plan)
  local L = log.info
  L(string.format("plan for %s: %d image%s, up to %d built at once, cache %s", plan.spec.path, #plan.images,
                  #plan.images == 1 and "" or "s", plan.parallel, plan.cache_dir))
  for _, img in ipairs(plan.spec.images) do
    if not img.enable then L(string.format("  skip %s: enable: false", img.id)) end
  end
  L("engine sources (one shallow clone per repository and branch, through a mirror):")
  for _, s in ipairs(plan.sources) do
    if s.dir then
      L(string.format("  %s %s at %s, version %s (for %s): %s", s.url, s.branch, s.commit:sub(1, 12), s.version,
                      table.concat(s.images, ", "), s.how))
    else
      local peek = imagesource.peek(s, plan.cache_dir)
      if peek then s.commit, s.version, s.release_date = peek.commit, peek.version, peek.release_date end
      L(string.format("  %s %s → %s (for %s)%s", s.url, s.branch,
                      peek and ("fetch into mirror " .. peek.mirror .. ", last fetched at " .. peek.commit:sub(1, 12)) or "clone a new mirror",
                      table.concat(s.images, ", "), peek and "" or "; commit and version are known after the clone"))
    end
  end
  for _, it in ipairs(plan.images) do finish_item(plan, it) end
  L("images, in order (engines in parallel; each manager starts when its engine is done):")
  for n, it in ipairs(plan.images) do
    L(string.format("  %d. %s (%s) → %s", n, it.id, it.type, it.full))
    L(string.format("       Dockerfile %s, base %s", it.dockerfile, it.labels["org.opencontainers.image.base.name"]))
    if it.type == "manager" then L("       after " .. it.engine_id .. " (FROM it)") end
    local args = {}
    for _, k in ipairs(sorted(it.build_args)) do args[#args + 1] = k .. "=" .. it.build_args[k] end
    L("       build args: " .. table.concat(args, " "))
    L(string.format("       push: %s (%s)", it.push and "yes" or "no", it.push_why))
  end
  L(string.format("results: %s and %s", plan.result, plan.result_json))
end

return M
