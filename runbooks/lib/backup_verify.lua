-- backup_verify: checks a base backup against its backup_manifest where pg_verifybackup cannot.
--
-- PolarDB in shared-storage mode: pg_basebackup puts the shared files (base, global, pg_wal,
-- pg_xact, ...) under <backup>/polar_shared_data/ but lists them in the manifest by their path
-- in the data directory, and lists pg_xact/0000 and pg_multixact/offsets/0000 twice (a local
-- and a shared copy). pg_verifybackup stops at once ("duplicate path name in backup manifest").
-- This check does what it would: every file listed is there (in the backup, else under
-- polar_shared_data/) with the listed size and checksum (sha*sum), and pg_waldump reads the
-- backup's WAL range from the WAL directory that holds it.

local M = {}

M.SHARED = "polar_shared_data"
local sums = {SHA224 = "sha224sum", SHA256 = "sha256sum", SHA384 = "sha384sum", SHA512 = "sha512sum"}

--- Whether `algorithm` can be checked here (CRC32C has no command-line tool).
function M.supports(algorithm) return sums[algorithm] ~= nil end

--- Checks `target` against its manifest; raises with the first problems found. Returns {files=, bytes=}.
function M.check(target, p, as_user)
  local manifest = json.decode(fs.read(target .. "/backup_manifest"))
  local files, seen, by_algo, bytes = manifest.Files or {}, {}, {}, 0
  local problems = {}
  local function problem(msg) if #problems < 10 then problems[#problems + 1] = msg end end
  for _, f in ipairs(files) do
    local path = target .. "/" .. f.Path
    if not fs.exists(path) then path = target .. "/" .. M.SHARED .. "/" .. f.Path end
    local st = fs.stat(path)
    if seen[f.Path] then
      -- listed twice (local and shared copy): the second entry is checked against the shared copy
      path = target .. "/" .. M.SHARED .. "/" .. f.Path
      st = fs.stat(path)
    end
    seen[f.Path] = true
    if not st then
      problem("missing: " .. f.Path)
    elseif st.size ~= f.Size then
      problem(string.format("%s has %d bytes, the manifest says %d", f.Path, st.size, f.Size))
    else
      bytes = bytes + st.size
      if f["Checksum-Algorithm"] and f["Checksum-Algorithm"] ~= "NONE" then
        local a = f["Checksum-Algorithm"]
        if not sums[a] then polarrun.raise("backup", "cannot check " .. a .. " checksums here (use SHA256)") end
        by_algo[a] = by_algo[a] or {}
        by_algo[a][#by_algo[a] + 1] = {path = path, sum = f.Checksum:lower(), name = f.Path}
      end
    end
  end
  for algo, list in pairs(by_algo) do
    for i = 1, #list, 500 do                    -- a few hundred paths per command line
      local argv = {sums[algo]}
      for j = i, math.min(i + 499, #list) do argv[#argv + 1] = list[j].path end
      local r = proc.run(argv, {user = as_user, cwd = "/", readonly = true, quiet = true})
      local got = {}
      for sum, path in r.stdout:gmatch("(%x+)  ([^\n]+)") do got[path] = sum:lower() end
      for j = i, math.min(i + 499, #list) do
        if got[list[j].path] ~= list[j].sum then problem("checksum mismatch: " .. list[j].name) end
      end
    end
  end
  -- the WAL the backup needs, where this layout keeps it
  local ranges = manifest["WAL-Ranges"] or {}
  local wal = fs.is_dir(target .. "/" .. M.SHARED .. "/pg_wal") and (target .. "/" .. M.SHARED .. "/pg_wal") or (target .. "/pg_wal")
  for _, rg in ipairs(ranges) do
    local r = proc.run({pg_ctl.bin("pg_waldump", {bindir = p.bindir}), "--quiet", "--path=" .. wal, "--timeline=" .. rg.Timeline,
                   "--start=" .. rg["Start-LSN"], "--end=" .. rg["End-LSN"]},
                  {user = as_user, cwd = "/", readonly = true, quiet = true, check = false})
    if r.status ~= 0 then problem("WAL " .. rg["Start-LSN"] .. " .. " .. rg["End-LSN"] .. ": " .. (r.stderr:gsub("%s+$", ""))) end
  end
  if #problems > 0 then
    polarrun.raise("backup", "the backup in " .. target .. " does not match its manifest:\n  - " .. table.concat(problems, "\n  - "))
  end
  return {files = #files, bytes = bytes}
end

return M
