-- Build the images in image.yml: engines from the PolarDB source, managers FROM their engine; push; write results
--
--   polarrun build.lua --dry-run                    # the plan, nothing done
--   polarrun build.lua image_file=./image.yml       # build, push what image.yml says
--   polarrun build.lua registry=my.registry:5000/team push=true parallel=3
-- See docs/build.md.

local imagefile   = require("imagefile")
local imageplan   = require("imageplan")
local imagesource = require("imagesource")
local imagebuild  = require("imagebuild")
local imageresult = require("imageresult")

local p = polarrun.inputs {
  image_file      = {type = "string",  default = "./image.yml", desc = "the image.yml to build"},
  push            = {type = "boolean", desc = "push every image (true) or none (false), whatever image.yml says"},
  parallel        = {type = "integer", default = 2, desc = "how many images build at once"},
  registry        = {type = "string",  desc = "host[:port][/namespace] replacing the registry of every build_image_name"},
  result          = {type = "string",  desc = "result file (default: image.yml's 'result', else image.result next to it); RESULT.json is written too"},
  cache_dir       = {type = "string",  desc = "engine source mirrors and work directories (default ~/.cache/polarrun)"},
  polarrun_binary = {type = "string",  default = polarrun.executable, desc = "the polarrun copied into the images (static Swift runtime)"},
  runbooks_dir    = {type = "string",  default = polarrun.runbooks_dir, desc = "the runbooks copied into the images"},
  rootfs          = {type = "string",  desc = "files for the images (default: rootfs/ next to image.yml)"},
  reuse           = {type = "boolean", default = true, desc = "re-tag an image whose inputs are unchanged instead of building it again"},
  no_cache        = {type = "boolean", default = false, desc = "build without Docker's layer cache (implies reuse=false)"},
  push_retries    = {type = "integer", default = 4, desc = "push retries after the first attempt"},
  push_backoff    = {type = "number",  default = 1, desc = "seconds before the first retry (doubles each time)"},
  build_timeout   = {type = "number",  default = 7200, desc = "seconds one docker build may take"},
  keep_workdir    = {type = "boolean", default = false, desc = "keep the clones and build contexts of this run"},
}
local started = polarrun.now()

-- 1. Read image.yml and check all of it (and the inputs) before doing anything.
local spec = imagefile.load(p.image_file, {base_dir = imageplan.dirname(p.image_file)})
for _, w in ipairs(spec.warnings) do log.warn(w) end
local plan = imageplan.make(spec, p)
if #plan.images == 0 then
  log.warn("every image in " .. p.image_file .. " has enable: false; nothing to build")
  return {images = {}}
end

-- 2. A dry run prints the plan (text, or the --json document) and stops here.
if polarrun.dry_run then
  local shown = imageplan.show(plan)
  shown.dry_run = true
  -- counted in the dry run's report (quiet: the plan above already says it)
  for _, s in ipairs(shown.sources) do polarrun.would("clone " .. s.url .. " branch " .. s.branch, {quiet = true}) end
  for _, im in ipairs(shown.images) do
    polarrun.would("build image " .. im.image, {quiet = true})
    if im.push then polarrun.would("push " .. im.image, {quiet = true}) end
  end
  polarrun.would("write " .. shown.result .. " and " .. shown.result_json, {quiet = true})
  return shown
end

-- 3. Fetch the engine sources: one shallow clone per repository and branch, through mirrors.
local ok, err = pcall(function()
  imagesource.fetch(plan.sources, plan)
  imageplan.tag_engines(plan)                -- version, release date, commit → tags
end)
if not ok then fs.remove(plan.work_dir, {recursive = true}); error(err, 0) end
imageplan.log(plan)

-- 4. Build: engines in parallel, each manager as soon as its engine is done; push when asked.
local results = imagebuild.run(plan)

-- 5. Record what was built (also after a failure), show the summary, clean up.
local doc = imageresult.write(plan, results)
imageresult.summary(plan, results, polarrun.now() - started)
if not p.keep_workdir then fs.remove(plan.work_dir, {recursive = true}) end

local failed = {}
for _, img in ipairs(doc.images) do
  if img.status ~= "built" and img.status ~= "reused" and img.status ~= "disabled" then
    failed[#failed + 1] = img.id .. " (" .. img.status .. ")"
  end
end
if #failed > 0 then
  polarrun.raise("build", #failed .. " of " .. #plan.images .. " images not done: " .. table.concat(failed, ", ") ..
        "; see " .. plan.result_json)
end
return doc
