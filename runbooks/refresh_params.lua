-- refresh_params: merge parameters into postgresql.conf, reload, report each as applied / pending_restart / rejected
--
-- `params` is a JSON object of name -> value (PolarDB Stack's mycnf_dict; values may already
-- be in postgresql.conf syntax, e.g. "'UTC'"). Every name and value is checked BEFORE the
-- file is written — against pg_settings (type, enum values, range, units) and then by the
-- engine itself (`postgres -C` with the new values) — so a rejected run leaves the file
-- byte-identical. Comments and order are kept; postgresql.auto.conf is never touched.
-- The mechanics are in lib/gucs.lua.

local instance = require("instance")
local gucs = require("gucs")
-- `[]` decodes to the same empty table as `{}`: tell them apart on the text
if type(polarrun.params.params) == "string" and polarrun.params.params:match("^%s*%[") then
  polarrun.raise("usage", "params must be a JSON object of name -> value, got a JSON array")
end
local p = instance.inputs {
  params = {type = "json", required = true, desc = "JSON object of parameter name -> value"},
}

-- 1. shape of the input
local wanted, names = gucs.parse(p.params)
if #names == 0 then
  log.info("no parameters given: nothing to do")
  return {changed = {}, results = {}}
end
if not instance.running(p) then
  polarrun.raise("not_running", "the instance in " .. p.pgdata .. " is not running: parameters cannot be validated; nothing was written")
end

-- 2. validation against pg_settings, 3. the engine's own check (postgres -C)
local problems = gucs.validate(wanted, names, gucs.facts(instance.conn(p)))
if #problems == 0 then problems[#problems + 1] = gucs.engine_check(p, wanted, names) end
if #problems > 0 then
  for _, pr in ipairs(problems) do log.error("rejected: " .. pr) end
  polarrun.raise("usage", "rejected, nothing written:\n  - " .. table.concat(problems, "\n  - "))
end

-- 4. write, reload
local lock <close> = instance.exclusive(p)
local conf_path = instance.conf_file(p)
local before = {}
for _, name in ipairs(names) do before[name] = conf.get(conf_path, name) end
local changed = conf_set(conf_path, gucs.changes(wanted, names))
log.info(#changed > 0 and ("changed in " .. conf_path .. ": " .. table.concat(changed, ", ")) or "postgresql.conf already had these values")
instance.reload(p)
if polarrun.dry_run then   -- nothing was written or reloaded: say what would happen instead
  local results = gucs.would(instance.conn(p), wanted, names, changed)
  gucs.log_results(wanted, names, results)
  return {changed = changed, results = results}
end

-- 5. read back what the server made of it; a value the server refused after all: put the file back for it
local results = gucs.report(instance.conn(p), wanted, names, conf_path)
local undo = gucs.undo(results, before)
if undo then
  log.warn("the server refused some values: restoring their previous lines")
  conf_set(conf_path, undo)
  instance.reload(p)
end
gucs.log_results(wanted, names, results)
return {changed = changed, results = results}
