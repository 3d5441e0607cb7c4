-- imageplan: turns a validated image.yml into a plan — which images are built in which
-- order, with which names, tags, build args and labels, pushed or not and why — and prints it.
--
--   local plan = imageplan.make(spec, params)   -- raises usage errors (bad inputs, binary)
--   imageplan.tag_engines(plan)                 -- once the sources are fetched
--   imageplan.show(plan)

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
  local xdg, home = proc.env("XDG_CACHE_HOME"), proc.env("HOME")
  if xdg and xdg ~= "" then return xdg .. "/polarrun" end
  if home and home ~= "" and home ~= "/" then return home .. "/.cache/polarrun" end
  return "/var/cache/polarrun"
end

--- The Docker CLI (POLARRUN_DOCKER, /usr/bin/docker, or docker on PATH).
function M.docker()
  local d = proc.env("POLARRUN_DOCKER")
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
  -- the Dockerfiles rely on COPY keeping the mode (a chmod in the image would store it twice)
  if st.mode & 0x49 ~= 0x49 then return "polarrun_binary " .. path .. " is not executable (chmod 0755 it)" end
  local ok, r = pcall(proc.run, {"readelf", "-d", path}, {readonly = true, quiet = true, check = false})
  if not ok or r.status ~= 0 then
    ok, r = pcall(proc.run, {"ldd", path}, {readonly = true, quiet = true, check = false})
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

--- Whether a Dockerfile copies the staged rootfs/ into the image (COPY or ADD with rootfs as a source).
function M.copies_rootfs(dockerfile)
  for line in (fs.read(dockerfile) or ""):gmatch("[^\n]+") do
    local verb, rest = line:match("^%s*(%a+)%s+(.*)$")
    verb = verb and verb:upper()
    if (verb == "COPY" or verb == "ADD") and not rest:find("%-%-from=") then
      local words = {}
      for w in rest:gmatch("%S+") do if w:sub(1, 2) ~= "--" then words[#words + 1] = w end end
      for i = 1, #words - 1 do   -- the last word is the destination
        if words[i]:match("^%.?/?rootfs/?$") then return true end
      end
    end
  end
  return false
end

-- The Stack entry point a manager image must carry: PolarDB Stack runs it in every call.
M.stack_entry_point = "docker_script/entry_point.py"
-- every script the Stack's callers run in a manager: the Stack's, and ClusterManager's PolarPure lock
M.stack_entry_points = {M.stack_entry_point, "docker_script/entry_point_cm.py"}

--- Problems with the rootfs the images would get, found before anything is cloned or built:
--- a Dockerfile that copies rootfs/ needs the directory, and a manager needs the Stack entry point in it.
function M.check_rootfs(plan, given)
  local how = given and "(input rootfs=)" or
              "(the default: rootfs/ next to image.yml; set rootfs=DIR, e.g. the polarrun repository's rootfs/)"
  local problems, copies = {}, {}
  for _, it in ipairs(plan.images) do
    if M.copies_rootfs(it.dockerfile) then copies[#copies + 1] = it end
  end
  if #copies == 0 then return problems end
  if fs.exists(plan.rootfs) and not fs.is_dir(plan.rootfs) then
    return {"rootfs " .. plan.rootfs .. " is not a directory " .. how}
  end
  if not fs.is_dir(plan.rootfs) then
    local ids = {}
    for _, it in ipairs(copies) do ids[#ids + 1] = it.id end
    return {string.format("rootfs %s does not exist %s, and the Dockerfiles of %s copy rootfs/",
                          plan.rootfs, how, table.concat(ids, ", "))}
  end
  for _, it in ipairs(copies) do
    for _, script in ipairs(it.type == "manager" and M.stack_entry_points or {}) do
      local st = fs.stat(plan.rootfs .. "/" .. script)
      if not (st and st.type == "file" and st.mode & 0x49 == 0x49) then
        problems[#problems + 1] = string.format(
          "image '%s': rootfs %s has no executable %s, an entry point PolarDB Stack runs in a manager image %s",
          it.id, plan.rootfs, script, how)
      end
    end
  end
  return problems
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
    for _, problem in ipairs(M.check_rootfs(plan, p.rootfs ~= nil)) do problems[#problems + 1] = problem end
  end
  if #problems > 0 then
    polarrun.raise("usage", "cannot build (nothing was cloned or built):\n  - " .. table.concat(problems, "\n  - "))
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
  if #problems > 0 then polarrun.raise("source", "cannot build (nothing was built):\n  - " .. table.concat(problems, "\n  - ")) end
end

local function sorted(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

--- The plan as data: what `--json --dry-run` prints and what the text plan is made from.
function M.describe(plan)
  local doc = {image_file = plan.spec.path, parallel = plan.parallel, cache_dir = plan.cache_dir,
               skipped = {}, sources = {}, images = {}, result = plan.result, result_json = plan.result_json}
  for _, img in ipairs(plan.spec.images) do
    if not img.enable then doc.skipped[#doc.skipped + 1] = img.id end
  end
  for _, s in ipairs(plan.sources) do
    local src = {url = s.url, branch = s.branch, images = s.images}
    if s.dir then
      src.commit, src.version, src.how = s.commit, s.version, s.how
    else
      local peek = imagesource.peek(s, plan.cache_dir)
      if peek then
        s.commit, s.version, s.release_date = peek.commit, peek.version, peek.release_date
        src.commit, src.version, src.how = peek.commit, peek.version, "fetch into mirror " .. peek.mirror
      else
        src.how = "clone a new mirror (commit and version are known after the clone)"
      end
    end
    doc.sources[#doc.sources + 1] = src
  end
  for n, it in ipairs(plan.images) do
    finish_item(plan, it)
    doc.images[n] = {
      id = it.id, type = it.type, image = it.full, dockerfile = it.dockerfile,
      base = it.labels["org.opencontainers.image.base.name"], after = it.engine_id,
      build_args = it.build_args, push = it.push, push_why = it.push_why,
    }
  end
  return doc
end

--- The plan as text for reading: a header, the sources, then one block per image in build order.
function M.render(doc)
  local out = {string.format("Plan for %s: %d image%s, up to %d built at once (cache %s)", doc.image_file,
                             #doc.images, #doc.images == 1 and "" or "s", doc.parallel, doc.cache_dir)}
  local function add(fmt, ...) out[#out + 1] = string.format(fmt, ...) end
  if #doc.skipped > 0 then add("  skipped (enable: false): %s", table.concat(doc.skipped, ", ")) end
  add("")
  add("Engine sources (one shallow clone per repository and branch, through a mirror):")
  for _, s in ipairs(doc.sources) do
    add("  %s  branch %s  for %s", s.url, s.branch, table.concat(s.images, ", "))
    add("    %s%s", s.commit and ("at " .. s.commit:sub(1, 12) .. ", version " .. tostring(s.version) .. ": ") or "", s.how)
  end
  add("")
  add("Images, in build order (engines in parallel; a manager starts when its engine is built):")
  local w = 0
  for _, im in ipairs(doc.images) do w = math.max(w, #im.id) end
  for n, im in ipairs(doc.images) do
    add("  %d. %-" .. w .. "s  %-7s  %s", n, im.id, im.type, im.image)
    add("       %-11s %s", "Dockerfile", im.dockerfile)
    add("       %-11s %s", "FROM", im.after and ("the image " .. im.after .. " (built first)") or im.base)
    local args = {}
    for _, k in ipairs(sorted(im.build_args)) do args[#args + 1] = k .. "=" .. im.build_args[k] end
    add("       %-11s %s", "build args", table.concat(args, " "))
    add("       %-11s %s (%s)", "push", im.push and "yes" or "no", im.push_why)
  end
  add("")
  add("Results: %s and %s", doc.result, doc.result_json)
  return table.concat(out, "\n")
end

--- Logs the plan, one line per line of its text (a real build, after the sources are fetched).
function M.log(plan)
  for line in (M.render(M.describe(plan)) .. "\n"):gmatch("(.-)\n") do
    if line ~= "" then log.info(line) end
  end
end

--- The dry run's output: the plan on stdout for reading (or as the --json document), and in the manager log.
function M.show(plan)
  local doc = M.describe(plan)
  local text = M.render(doc)
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line ~= "" then log.file(line) end
  end
  if not polarrun.json then print(text) end
  return doc
end

return M
