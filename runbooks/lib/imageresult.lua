-- imageresult: the result file (one image name per line, as image.py wrote it: the images
-- built — and pushed when asked — in this run) and its JSON companion (every image with its
-- status, digest, engine commit and base image). Both are written atomically, also when
-- some images failed. Then a summary table.

local M = {}

--- Writes both files; returns the JSON document (a Lua table).
function M.write(plan, results)
  local lines, images = {}, {}
  for _, it in ipairs(plan.images) do
    local r = results[it.id] or {status = "not_run"}
    local ok = r.status == "built" or r.status == "reused"
    if ok then lines[#lines + 1] = it.full end
    images[#images + 1] = {
      id = it.id, type = it.type, status = r.status,
      image = it.full, image_id = r.image_id or sql.null,
      digest = r.digest or sql.null, pushed = r.pushed or false,
      push_requested = it.push,
      base_image = r.base_image or it.labels and it.labels["org.opencontainers.image.base.name"] or sql.null,
      engine = it.type == "engine" and {repo = it.repo, branch = it.branch, commit = it.source.commit,
                                        version = it.source.version, release_date = it.source.release_date}
               or {image_id = it.engine_id, image = r.base_image or sql.null},
      error = (not ok or r.error) and r.error or sql.null,
      seconds = r.elapsed and math.floor(r.elapsed * 10 + 0.5) / 10 or sql.null,
      compiler_cache = r.compiler_cache or sql.null,
    }
  end
  for _, img in ipairs(plan.spec.images) do
    if not img.enable then images[#images + 1] = {id = img.id, type = img.type, status = "disabled"} end
  end
  local doc = {
    image_file = plan.spec.path, created = plan.created, run_id = polarrun.run_id,
    code = {source = plan.repo.url, branch = plan.repo.branch, commit = plan.repo.commit},
    images = images,
  }
  fs.mkdir(require("imageplan").dirname(plan.result))
  fs.write(plan.result, #lines > 0 and (table.concat(lines, "\n") .. "\n") or "")
  fs.write(plan.result_json, json.encode(doc, {pretty = true}) .. "\n")
  log.info(string.format("wrote %s (%d image%s) and %s", plan.result, #lines, #lines == 1 and "" or "s", plan.result_json))
  return doc
end

local function pad(s, n) s = tostring(s) return s .. string.rep(" ", math.max(1, n - #s)) end

--- Logs a table: id, type, status, seconds, image (digest) or why it failed.
function M.summary(plan, results, total)
  local w = 4
  for _, it in ipairs(plan.images) do w = math.max(w, #it.id + 2) end
  log.info(pad("IMAGE ID", w) .. pad("TYPE", 9) .. pad("STATUS", 13) .. pad("TIME", 8) .. "RESULT")
  for _, it in ipairs(plan.images) do
    local r = results[it.id] or {status = "not_run"}
    local what
    if r.status == "built" or r.status == "reused" then
      what = it.full .. (r.digest and ("  pushed " .. r.digest:sub(1, 19) .. "…") or (it.push and "" or "  (not pushed)"))
    else
      what = (r.error or ""):gsub("\n.*", "")
    end
    log.info(pad(it.id, w) .. pad(it.type, 9) .. pad(r.status, 13) ..
             pad(r.elapsed and string.format("%.1fs", r.elapsed) or "-", 8) .. what)
  end
  log.info(string.format("total %.1fs", total))
end

return M
