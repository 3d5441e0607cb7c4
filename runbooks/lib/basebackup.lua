-- basebackup: backup.lua's mechanics — checking the target, choosing the verification, running
-- pg_basebackup and reading the manifest. backup.lua keeps the checklist; M.target_paths and
-- M.summary are pure (lib/tests/basebackup_test.lua).
local engine = require("engine")
local backup_verify = require("backup_verify")

local M = {}

M.inputs = {
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

--- Checks the target and rate inputs (exit 2) and returns {target=, parent=, base=, pgdata=,
--- marker=}. Pure but for the parent's existence, which the caller checks.
function M.target_paths(p)
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
  return {target = target, parent = parent, base = base, pgdata = pgdata, marker = target .. ".polarrun-incomplete"}
end

--- Which check can verify this server's backup, decided before anything is done:
--- "pg_verifybackup" or "manifest" (PolarDB in shared-storage mode).
function M.choose_verify(p, t)
  local eng = engine.from_server({host = p.host or t.pgdata, port = p.port, user = p.user, password = p.password,
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
  return verify
end

--- The target must be absent or empty; an incomplete backup an earlier run left (its marker
--- exists) is cleared. Then the marker is written and the target made.
function M.prepare_target(t, as_user)
  if fs.exists(t.target) then
    if not fs.is_dir(t.target) then polarrun.raise("refused", "target " .. t.target .. " exists and is not a directory") end
    if #fs.list(t.target) > 0 then
      if not fs.exists(t.marker) then
        polarrun.raise("refused", "target " .. t.target .. " is not empty; refusing to write a backup into it")
      end
      log.warn("clearing the incomplete backup an earlier run left in " .. t.target)
      for _, name in ipairs(fs.list(t.target)) do fs.remove(t.target .. "/" .. name, {recursive = true}) end
    end
  end
  fs.write(t.marker, "backup started by polarrun run " .. polarrun.run_id .. "\n")
  if not fs.exists(t.target) then fs.mkdir(t.target, {mode = "0700", owner = as_user}) end
end

--- pg_basebackup -X stream with a checksummed manifest, as the database OS user.
function M.run(p, t, as_user)
  local host = p.host or t.pgdata
  log.info(string.format("step 2/4: pg_basebackup of %s port %d into %s", host, p.port, t.target))
  local argv = {pg_ctl.bin("pg_basebackup", {bindir = p.bindir}), "-D", t.target, "-h", host, "-p", p.port, "-U", p.user,
                "-w", "-X", "stream", "-c", p.checkpoint, "--manifest-checksums=" .. p.manifest_checksums,
                "-l", p.label, "-v"}
  if p.max_rate then argv[#argv + 1] = "--max-rate=" .. p.max_rate end
  local env = {PGAPPNAME = "polarrun_backup", PGCONNECT_TIMEOUT = tostring(p.connect_timeout)}
  if p.password then env.PGPASSWORD = p.password end
  proc.run(argv, {user = as_user, env = env, cwd = "/", stream = true})
end

--- Verifies the backup with the check chosen by choose_verify.
function M.verify(p, t, verify, as_user)
  if verify == "manifest" then
    log.info("step 3/4: checking " .. t.target .. " against its backup_manifest")
    backup_verify.check(t.target, p, as_user)
  else
    log.info("step 3/4: pg_verifybackup " .. t.target)
    proc.run({pg_ctl.bin("pg_verifybackup", {bindir = p.bindir}), t.target}, {user = as_user, cwd = "/", stream = true, readonly = true})
  end
end

--- The result fields read from a decoded backup_manifest: start_lsn, end_lsn, timeline, files, bytes.
function M.summary(manifest, target)
  local ranges = manifest["WAL-Ranges"] or {}
  if #ranges == 0 then polarrun.raise("backup", "backup_manifest of " .. target .. " has no WAL-Ranges") end
  local bytes = 0
  for _, f in ipairs(manifest.Files or {}) do bytes = bytes + (f.Size or 0) end
  return {start_lsn = ranges[1]["Start-LSN"], end_lsn = ranges[#ranges]["End-LSN"],
          timeline = ranges[#ranges].Timeline, files = #(manifest.Files or {}), bytes = bytes}
end

return M
