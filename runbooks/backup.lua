-- backup: base backup with a checksummed manifest into an empty directory, verified with pg_verifybackup
--
-- Checklist:
--   1. validate the inputs; the target must be absent or empty (an incomplete backup left by an
--      earlier run of this runbook, marked by <target>.polarrun-incomplete, is cleared)
--   2. lock: the target exclusively; a local instance shared (stop/switch wait, other backups do not)
--   3. pg_basebackup -X stream --manifest-checksums as the database OS user
--   4. pg_verifybackup (files against the manifest, and the WAL) — or, for PolarDB in
--      shared-storage mode, where pg_verifybackup cannot read the manifest, the same check by
--      lib/backup_verify.lua (said before anything is done; verify=pg_verifybackup is refused there)
--   5. report the start and end WAL positions from the manifest
local instance = require("instance")
local repl = require("replication")
local engine = require("engine")
local backup_verify = require("backup_verify")

local p = instance.inputs {
  target = {type = "string", required = true, desc = "directory for the backup (absent or empty)"},
  host = {type = "string", desc = "server to back up (default: the unix socket in pgdata)"},
  user = {type = "string", default = "postgres", desc = "role with REPLICATION"},
  password = {type = "string", secret = true, desc = "its password (given to pg_basebackup in PGPASSWORD)"},
  checkpoint = {type = "string", default = "fast", enum = {"fast", "spread"}},
  manifest_checksums = {type = "string", default = "SHA256", enum = {"CRC32C", "SHA224", "SHA256", "SHA384", "SHA512"}},
  max_rate = {type = "string", desc = "transfer rate limit, as pg_basebackup --max-rate (e.g. 100M)"},
  label = {type = "string", default = "polarrun backup"},
  verify = {type = "string", default = "auto", enum = {"auto", "pg_verifybackup", "manifest"},
            desc = "auto: pg_verifybackup, or the manifest check where it cannot work (PolarDB shared storage); " ..
                   "manifest: files, sizes, checksums and WAL against backup_manifest without pg_verifybackup"},
}
local target = p.target:gsub("/+$", "")
if target:sub(1, 1) ~= "/" then polarrun.raise("usage", "target must be an absolute path, got '" .. p.target .. "'") end
local pgdata = p.pgdata:gsub("/+$", "")
if target == pgdata or target:sub(1, #pgdata + 1) == pgdata .. "/" then
  polarrun.raise("usage", "target " .. target .. " is inside the data directory " .. pgdata)
end
if p.max_rate and not p.max_rate:match("^%d+[kKmM]?$") then
  polarrun.raise("usage", "max_rate must be a number with an optional k or M suffix, got '" .. p.max_rate .. "'")
end
local parent, base = target:match("^(.*)/([^/]+)$")
if parent == "" then parent = "/" end
if not fs.is_dir(parent) then polarrun.raise("usage", "the parent directory of target, " .. parent .. ", does not exist") end
local marker = target .. ".polarrun-incomplete"
local as_user = polarrun.is_root and p.db_user or nil

-- which check can verify this server's backup (before anything is done)
local eng = engine.from_server({host = p.host or pgdata, port = p.port, user = p.user, password = p.password,
                                dbname = "postgres", connect_timeout = p.connect_timeout})
local verify = p.verify
if eng.polardb and eng.shared_storage then
  if verify == "pg_verifybackup" then
    polarrun.raise("refused", "pg_verifybackup cannot verify a backup of " .. engine.name(eng) .. " in shared-storage mode " ..
      "(its manifest lists the shared files, and pg_xact/0000 twice); nothing was done. Use verify=manifest " ..
      "(files, sizes, checksums and WAL checked against backup_manifest) or verify=auto")
  end
  verify = "manifest"
  log.warn(engine.name(eng) .. " in shared-storage mode: pg_verifybackup cannot read its backup manifest; the backup is " ..
    "checked against backup_manifest instead (files under " .. backup_verify.SHARED .. "/, sizes, checksums, WAL)")
elseif verify == "auto" then
  verify = "pg_verifybackup"
end
if verify == "manifest" and not backup_verify.supports(p.manifest_checksums) then
  polarrun.raise("usage", "verify=manifest checks SHA checksums; manifest_checksums=" .. p.manifest_checksums .. " cannot be checked")
end

local target_lock <close> = fs.flock(parent .. "/." .. base .. ".polarrun.lock", {timeout = 60})
local instance_lock <close> = repl.is_local_pgdata(pgdata)
  and fs.flock(pgdata .. "/.polarrun.lock", {shared = true, timeout = 600}) or nil

log.info("step 1/4: checking the target " .. target)
if fs.exists(target) then
  if not fs.is_dir(target) then polarrun.raise("refused", "target " .. target .. " exists and is not a directory") end
  if #fs.list(target) > 0 then
    if fs.exists(marker) then
      log.warn("clearing the incomplete backup an earlier run left in " .. target)
      for _, name in ipairs(fs.list(target)) do fs.remove(target .. "/" .. name, {recursive = true}) end
    else
      polarrun.raise("refused", "target " .. target .. " is not empty; refusing to write a backup into it")
    end
  end
end
fs.write(marker, "backup started by polarrun run " .. polarrun.run_id .. "\n")
if not fs.exists(target) then fs.mkdir(target, {mode = "0700", owner = as_user}) end

local host = p.host or pgdata
log.info(string.format("step 2/4: pg_basebackup of %s port %d into %s", host, p.port, target))
local argv = {pg_ctl.bin("pg_basebackup", {bindir = p.bindir}), "-D", target, "-h", host, "-p", p.port, "-U", p.user,
              "-w", "-X", "stream", "-c", p.checkpoint, "--manifest-checksums=" .. p.manifest_checksums,
              "-l", p.label, "-v"}
if p.max_rate then argv[#argv + 1] = "--max-rate=" .. p.max_rate end
local env = {PGAPPNAME = "polarrun_backup", PGCONNECT_TIMEOUT = tostring(p.connect_timeout)}
if p.password then env.PGPASSWORD = p.password end
local started = polarrun.now()
proc.run(argv, {user = as_user, env = env, cwd = "/", stream = true})

if verify == "manifest" then
  log.info("step 3/4: checking " .. target .. " against its backup_manifest")
  backup_verify.check(target, p, as_user)
else
  log.info("step 3/4: pg_verifybackup " .. target)
  proc.run({pg_ctl.bin("pg_verifybackup", {bindir = p.bindir}), target}, {user = as_user, cwd = "/", stream = true, readonly = true})
end

log.info("step 4/4: reading the WAL range from the manifest")
local manifest = json.decode(fs.read(target .. "/backup_manifest"))
local ranges = manifest["WAL-Ranges"] or {}
if #ranges == 0 then polarrun.raise("backup", "backup_manifest of " .. target .. " has no WAL-Ranges") end
local bytes = 0
for _, f in ipairs(manifest.Files or {}) do bytes = bytes + (f.Size or 0) end
fs.remove(marker)

local result = {target = target, start_lsn = ranges[1]["Start-LSN"], end_lsn = ranges[#ranges]["End-LSN"],
                timeline = ranges[#ranges].Timeline, files = #(manifest.Files or {}), bytes = bytes,
                manifest_checksums = p.manifest_checksums, verified = true, verified_by = verify,
                seconds = math.floor((polarrun.now() - started) * 10 + 0.5) / 10}
log.info(string.format("backup complete and verified: %s, WAL %s .. %s on timeline %d, %d files, %d bytes",
  target, result.start_lsn, result.end_lsn, result.timeline, result.files, bytes))
return result
