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
-- The mechanics are in lib/basebackup.lua.
local instance = require("instance")
local repl = require("replication")
local basebackup = require("basebackup")

local p = instance.inputs(basebackup.inputs)
local t = basebackup.target_paths(p)
if not fs.is_dir(t.parent) then polarrun.raise("usage", "the parent directory of target, " .. t.parent .. ", does not exist") end
local as_user = polarrun.is_root and p.db_user or nil
local verify = basebackup.choose_verify(p, t)

local target_lock <close> = fs.flock(t.parent .. "/." .. t.base .. ".polarrun.lock", {timeout = 60})
local instance_lock <close> = repl.is_local_pgdata(t.pgdata)
  and fs.flock(t.pgdata .. "/.polarrun.lock", {shared = true, timeout = 600}) or nil

log.info("step 1/4: checking the target " .. t.target)
basebackup.prepare_target(t, as_user)
local started = polarrun.now()
basebackup.run(p, t, as_user)
if polarrun.dry_run then   -- pg_basebackup was listed, not run: there is nothing to verify or read
  fs.remove(t.marker)
  log.info("would back up into " .. t.target .. " and verify it (" .. verify .. ")")
  return {target = t.target, would_back_up = true, verified = false}
end
basebackup.verify(p, t, verify, as_user)

log.info("step 4/4: reading the WAL range from the manifest")
local result = basebackup.summary(json.decode(fs.read(t.target .. "/backup_manifest")), t.target)
fs.remove(t.marker)
result.target, result.manifest_checksums, result.verified, result.verified_by = t.target, p.manifest_checksums, true, verify
result.seconds = math.floor((polarrun.now() - started) * 10 + 0.5) / 10
log.info(string.format("backup complete and verified: %s, WAL %s .. %s on timeline %d, %d files, %d bytes",
  t.target, result.start_lsn, result.end_lsn, result.timeline, result.files, result.bytes))
return result
