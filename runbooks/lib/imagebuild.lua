-- imagebuild: builds and pushes the images of a plan. Engines build in parallel (up to
-- plan.parallel at once); a manager starts as soon as its engine is done, FROM that image.
-- An image whose polarrun.inputs (Dockerfile, build args, context files, base image) are unchanged
-- since an earlier build is re-tagged instead of built again (reuse=false or no_cache=true
-- turn that off).
--
--   local results = imagebuild.run(plan)   -- id → {ok=, status=, image=, id=, digest=, error=, elapsed=}

local jobs = require("jobs")

local M = {}

local function sorted(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- Every file under `dir` (sorted), for hashing.
local function files_under(dir, out)
  out = out or {}
  if not fs.exists(dir) then return out end
  if not fs.is_dir(dir) then out[#out + 1] = dir return out end
  for _, name in ipairs(fs.list(dir)) do
    local p = dir .. "/" .. name
    local st = fs.stat(p)
    if st and st.type == "directory" then files_under(p, out)
    elseif st and st.type == "file" then out[#out + 1] = p end
  end
  return out
end

local hash_cache = {}
-- sha256 of the files (names relative to `root`, and contents).
local function hash_tree(root)
  if hash_cache[root] then return hash_cache[root] end
  local files = files_under(root)
  local lines = {}
  for i = 1, #files, 200 do
    local argv = {"sha256sum", "--"}
    for k = i, math.min(i + 199, #files) do argv[#argv + 1] = files[k] end
    local r = proc.run(argv, {readonly = true, quiet = true})
    lines[#lines + 1] = r.stdout
  end
  -- names relative to the root, so the same files elsewhere hash the same
  local text = table.concat(lines):gsub("  " .. root:gsub("%p", "%%%0"), "  .")
  local h = proc.run({"sha256sum"}, {stdin = text, readonly = true, quiet = true}).stdout:match("%x+")
  hash_cache[root] = h
  return h
end

local function sha_text(text)
  return proc.run({"sha256sum"}, {stdin = text, readonly = true, quiet = true}).stdout:match("%x+")
end

-- Copies a file or tree: hard links when possible (same file system), else a copy.
local function link_or_copy(from, to)
  local r = proc.run({"cp", "-al", from, to}, {check = false, quiet = true})
  if r.status ~= 0 then proc.run({"cp", "-a", from, to}, {quiet = true}) end
end

-- The build context: src/ (engines), rootfs/ (+ the config template), polarrun, runbooks/.
local function stage(plan, it)
  local ctx = plan.work_dir .. "/ctx/" .. it.id
  fs.mkdir(ctx)
  if it.type == "engine" then
    link_or_copy(it.source.dir, ctx .. "/src")
  end
  -- "/." so that a rootfs reached through a symbolic link is copied, not the link
  if fs.is_dir(plan.rootfs) then link_or_copy(plan.rootfs .. "/.", ctx .. "/rootfs") else fs.mkdir(ctx .. "/rootfs") end
  if it.type == "engine" then
    local t = it.img.engine_config_template
    fs.copy(it.source.dir .. "/" .. t, ctx .. "/rootfs/" .. t:match("[^/]+$"))
  end
  link_or_copy(plan.params.polarrun_binary, ctx .. "/polarrun")
  link_or_copy(plan.params.runbooks_dir, ctx .. "/runbooks")
  fs.write(ctx .. "/.dockerignore", "src/.git\n")
  return ctx
end

-- What decides the image's content: equal keys mean the same image.
local function build_key(plan, it, ctx, base_id)
  local parts = {"image " .. it.id .. " " .. it.ref.name, "dockerfile " .. sha_text(fs.read(it.dockerfile) or ""),
                 "base " .. (base_id or "")}
  for _, k in ipairs(sorted(it.build_args)) do
    if k ~= "ENGINE_IMAGE_FULL_NAME" then parts[#parts + 1] = "arg " .. k .. "=" .. it.build_args[k] end
  end
  if it.type == "engine" then
    parts[#parts + 1] = "source " .. it.source.commit
    parts[#parts + 1] = "template " .. it.img.engine_config_template
  end
  parts[#parts + 1] = "rootfs " .. hash_tree(ctx .. "/rootfs")
  parts[#parts + 1] = "polarrun " .. hash_tree(plan.params.polarrun_binary)
  parts[#parts + 1] = "runbooks " .. hash_tree(plan.params.runbooks_dir)
  return sha_text(table.concat(parts, "\n"))
end

local function docker_out(plan, args)
  local argv = {plan.docker}
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return proc.run(argv, {readonly = true, quiet = true, check = false})
end

--- The compiler cache's hits in a build's output: the engine Dockerfiles print ccache's
--- statistics of the build after "ccache statistics of this build:" ("Hits: N / M"). nil when
--- the output has none (the compile step came from Docker's layer cache, or no ccache).
function M.compiler_cache(output)
  local hits, calls
  for h, c in output:gmatch("ccache statistics of this build:.-Hits:%s+(%d+)%s*/%s*(%d+)") do
    hits, calls = tonumber(h), tonumber(c)
  end
  return hits and {hits = hits, calls = calls} or nil
end

-- Builds (or reuses) one image; what the result files record goes into done[it.id].
local function build_step(plan, it, done)
  local out = {image = it.full, type = it.type, t0 = polarrun.now()}
  local t0 = out.t0
  done[it.id] = out
  local base_id
  if it.type == "manager" then
    local engine = done[it.engine_id]
    it.build_args.ENGINE_IMAGE_FULL_NAME = engine.image
    it.labels["org.opencontainers.image.base.name"] = engine.image
    base_id = engine.image_id
  end
  out.base_image = it.labels["org.opencontainers.image.base.name"]
  out.pushed = false
  local ctx = stage(plan, it)
  local reuse = plan.params.reuse and not plan.params.no_cache
  local key = build_key(plan, it, ctx, base_id)
  it.labels["io.polarrun.build-key"] = key

  local found = reuse and docker_out(plan, {"images", "--no-trunc", "-q", "--filter", "label=io.polarrun.build-key=" .. key})
  local existing = found and found.status == 0 and found.stdout:match("(sha256:%x+)")
  if existing then
    proc.run({plan.docker, "tag", existing, it.full}, {quiet = true})
    out.image_id, out.status = existing, "reused"
    log.info(string.format("[%s %.1fs] inputs unchanged: tagged existing image %s as %s", it.id, polarrun.now() - t0, existing:sub(1, 19), it.full))
  else
    log.info(string.format("[%s] building %s from %s", it.id, it.full, it.dockerfile))
    local r = jobs.await(docker_build{tag = it.full, dockerfile = it.dockerfile, context = ctx, build_args = it.build_args,
                                      labels = it.labels, no_cache = plan.params.no_cache, timeout = plan.params.build_timeout,
                                      prefix = it.id, since = t0, progress = "building", quiet = true, wait = false})
    if not r.ok then
      out.status = "build_failed"
      polarrun.raise("docker", r.error)
    end
    out.image_id = r.id
    out.compiler_cache = M.compiler_cache(r.stderr .. "\n" .. r.stdout)
    if out.compiler_cache then
      local c = out.compiler_cache
      log.info(string.format("[%s] compiler cache: %d of %d compilations were hits (%.1f%%)", it.id, c.hits, c.calls,
                             c.calls > 0 and 100 * c.hits / c.calls or 0))
    end
    out.status = "built"
    log.info(string.format("[%s %.1fs] built %s (%s)", it.id, polarrun.now() - t0, it.full, (out.image_id or "?"):sub(1, 19)))
  end
  out.t1 = polarrun.now()
  return out
end

-- Pushes (docker's push retries transient failures with backoff); other jobs go on meanwhile.
local function push_step(plan, it, done)
  local out = done[it.id]
  local r = jobs.await(push(it.full, {retries = plan.params.push_retries, backoff = plan.params.push_backoff,
                                      prefix = it.id, since = out.t0, progress = "pushing", wait = false}))
  out.t1 = polarrun.now()
  if not r.ok then
    out.status = "push_failed"
    polarrun.raise("docker", r.error, {attempts = r.attempts})
  end
  out.digest, out.pushed = r.digest, true
  return out
end

-- What decides Docker's layer cache: images with equal keys build the same layers, so
-- the second waits for the first and takes its layers from the cache instead of running
-- the same steps at the same time.
local function layer_key(it)
  local parts = {it.dockerfile}
  for _, k in ipairs(sorted(it.build_args)) do parts[#parts + 1] = k .. "=" .. it.build_args[k] end
  parts[#parts + 1] = it.source_key or ""
  parts[#parts + 1] = it.img.engine_config_template or ""
  parts[#parts + 1] = it.engine_id or ""
  return table.concat(parts, "\n")
end

--- Builds every image of the plan; returns results by image id. Each image is two jobs:
--- build, then push (when asked); a manager waits for its engine's build, not its push.
function M.run(plan)
  fs.mkdir(plan.work_dir .. "/ctx")
  local done, list, twins, pushes = {}, {}, {}, {}
  for _, it in ipairs(plan.images) do
    local after = it.engine_id and {"build:" .. it.engine_id} or {}
    local lk = layer_key(it)
    local wait_for = twins[lk] and {"build:" .. twins[lk]} or {}
    if twins[lk] then log.info(string.format("[%s] builds after %s (same Dockerfile and build args: shares its layers)", it.id, twins[lk])) end
    twins[lk] = twins[lk] or it.id
    list[#list + 1] = {id = "build:" .. it.id, after = after, wait_for = wait_for,
                       fn = function() return build_step(plan, it, done) end}
    if it.push then
      -- an upload takes no build slot; it waits for the uploads of images whose layers it
      -- shares (its twin, its engine), so each layer is compressed and sent once
      local share = {}
      for _, other in ipairs({twins[lk] ~= it.id and twins[lk] or nil, it.engine_id}) do
        if pushes[other] then share[#share + 1] = "push:" .. other end
      end
      pushes[it.id] = true
      list[#list + 1] = {id = "push:" .. it.id, after = {"build:" .. it.id}, wait_for = share, free = true,
                         fn = function() return push_step(plan, it, done) end}
    end
  end
  local jr = jobs.run(list, {
    parallel = plan.parallel,
    on_done = function(job, res)
      if not res.ok and not (res.skipped and job.id:match("^push:")) then
        log.error(string.format("[%s] %s", job.id:gsub("^%a+:", ""), res.error))
      end
    end,
  })
  local results = {}
  for _, it in ipairs(plan.images) do
    local b, p = jr["build:" .. it.id], jr["push:" .. it.id]
    local out = done[it.id] or {}
    local res = {}
    for k, v in pairs(out) do res[k] = v end
    if b.skipped then
      res.status, res.error = "skipped", b.error:gsub("build:", "")
    elseif not b.ok then
      res.status, res.error = out.status == "build_failed" and "build_failed" or "failed", b.error
    elseif p and not p.ok then
      res.status, res.error = "push_failed", p.error
    end
    res.elapsed = out.t0 and ((out.t1 or polarrun.now()) - out.t0) or nil
    results[it.id] = res
  end
  return results
end

return M
