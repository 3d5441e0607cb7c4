-- backup: base backup with a checksummed manifest into an empty directory, verified with pg_verifybackup
--
-- Checklist:
--   1. validate the inputs; the target must be absent or empty (an incomplete backup left by an
--      earlier run of this runbook, marked by <target>.polarrun-incomplete, is cleared)
--   2. lock: the target exclusively; a local instance shared (stop/switch wait, other backups do not)
--   3. pg_basebackup -X stream --manifest-checksums as the database OS user
--   4. pg_verifybackup (files against the manifest, and the WAL)
--   5. report the start and end WAL positions from the manifest
local instance = require("instance")
local repl = require("replication")

local p = instance.inputs {
  target = {type = "string", required = true, desc = "directory for the backup (absent or empty)"},
  host = {type = "string", desc = "server to back up (default: the unix socket in pgdata)"},
  user = {type = "string", default = "postgres", desc = "role with REPLICATION"},
  password = {type = "string", secret = true, desc = "its password (given to pg_basebackup in PGPASSWORD)"},
  checkpoint = {type = "string", default = "fast", enum = {"fast", "spread"}},
  manifest_checksums = {type = "string", default = "SHA256", enum = {"CRC32C", "SHA224", "SHA256", "SHA384", "SHA512"}},
  max_rate = {type = "string", desc = "transfer rate limit, as pg_basebackup --max-rate (e.g. 100M)"},
  label = {type = "string", default = "polarrun backup"},
}
local target = p.target:gsub("/+$", "")
if target:sub(1, 1) ~= "/" then raise("usage", "target must be an absolute path, got '" .. p.target .. "'") end
local pgdata = p.pgdata:gsub("/+$", "")
if target == pgdata or target:sub(1, #pgdata + 1) == pgdata .. "/" then
  raise("usage", "target " .. target .. " is inside the data directory " .. pgdata)
end
if p.max_rate and not p.max_rate:match("^%d+[kKmM]?$") then
  raise("usage", "max_rate must be a number with an optional k or M suffix, got '" .. p.max_rate .. "'")
end
local parent, base = target:match("^(.*)/([^/]+)$")
if parent == "" then parent = "/" end
if not fs.is_dir(parent) then raise("usage", "the parent directory of target, " .. parent .. ", does not exist") end
local marker = target .. ".polarrun-incomplete"
local as_user = polarrun.is_root and p.db_user or nil

local target_lock <close> = flock(parent .. "/." .. base .. ".polarrun.lock", {timeout = 60})
local instance_lock <close> = repl.is_local_pgdata(pgdata)
  and flock(pgdata .. "/.polarrun.lock", {shared = true, timeout = 600}) or nil

log.info("step 1/4: checking the target " .. target)
if fs.exists(target) then
  if not fs.is_dir(target) then raise("refused", "target " .. target .. " exists and is not a directory") end
  if #fs.list(target) > 0 then
    if fs.exists(marker) then
      log.warn("clearing the incomplete backup an earlier run left in " .. target)
      for _, name in ipairs(fs.list(target)) do fs.remove(target .. "/" .. name, {recursive = true}) end
    else
      raise("refused", "target " .. target .. " is not empty; refusing to write a backup into it")
    end
  end
end
fs.write(marker, "backup started by polarrun run " .. polarrun.run_id .. "\n")
if not fs.exists(target) then fs.mkdir(target, {mode = "0700", owner = as_user}) end

local host = p.host or pgdata
log.info(string.format("step 2/4: pg_basebackup of %s port %d into %s", host, p.port, target))
local argv = {pg_bin("pg_basebackup", {bindir = p.bindir}), "-D", target, "-h", host, "-p", p.port, "-U", p.user,
              "-w", "-X", "stream", "-c", p.checkpoint, "--manifest-checksums=" .. p.manifest_checksums,
              "-l", p.label, "-v"}
if p.max_rate then argv[#argv + 1] = "--max-rate=" .. p.max_rate end
local env = {PGAPPNAME = "polarrun_backup", PGCONNECT_TIMEOUT = tostring(p.connect_timeout)}
if p.password then env.PGPASSWORD = p.password end
local started = now()
run(argv, {user = as_user, env = env, cwd = "/", stream = true})

log.info("step 3/4: pg_verifybackup " .. target)
run({pg_bin("pg_verifybackup", {bindir = p.bindir}), target}, {user = as_user, cwd = "/", stream = true, readonly = true})

log.info("step 4/4: reading the WAL range from the manifest")
local manifest = json_decode(fs.read(target .. "/backup_manifest"))
local ranges = manifest["WAL-Ranges"] or {}
if #ranges == 0 then raise("backup", "backup_manifest of " .. target .. " has no WAL-Ranges") end
local bytes = 0
for _, f in ipairs(manifest.Files or {}) do bytes = bytes + (f.Size or 0) end
fs.remove(marker)

local result = {target = target, start_lsn = ranges[1]["Start-LSN"], end_lsn = ranges[#ranges]["End-LSN"],
                timeline = ranges[#ranges].Timeline, files = #(manifest.Files or {}), bytes = bytes,
                manifest_checksums = p.manifest_checksums, verified = true,
                seconds = math.floor((now() - started) * 10 + 0.5) / 10}
log.info(string.format("backup complete and verified: %s, WAL %s .. %s on timeline %d, %d files, %d bytes",
  target, result.start_lsn, result.end_lsn, result.timeline, result.files, bytes))
return result
