-- imagesource: the engine source of each engine image. Images that share a repository and
-- branch share one shallow clone (with submodules); every repository has a bare mirror in
-- the cache, created once and fetched afterwards, so a second build does not clone again.
--
--   local src = imagesource.fetch(engines, {cache_dir=, work_dir=})  -- key → {dir, commit, ...}
--   imagesource.describe(src)   -- reads PACKAGE_VERSION and the release date

local M = {}

--- The key of a (repository, branch) pair.
function M.key(img) return img.engine_repo .. "#" .. img.engine_branch end

--- A directory name for a repository URL or path, readable and unique.
function M.slug(url)
  local s = url:gsub("^%a[%w+.%-]*://", ""):gsub("%.git$", ""):gsub("[^%w._%-]+", "_"):gsub("^_+", "")
  return s:sub(-80)
end

local function git(args, opts)
  local argv = {"git"}
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  opts = opts or {}
  opts.readonly = true
  opts.quiet = true
  if opts.check == nil then opts.check = false end
  return proc.run(argv, opts)
end

--- Resolves a local repository path (relative to base_dir) so the mirror can find it.
function M.normalize_url(url, base_dir)
  if url:match("^%a[%w+.%-]*://") or url:match("^[%w._%-]+@[^:]+:") then return url end
  url = url:gsub("^%./", "")
  if url:sub(1, 1) ~= "/" and base_dir and base_dir ~= "." then url = base_dir .. "/" .. url end
  return url
end

--- Clones every source (one clone per repository and branch) into work_dir through the
--- mirrors in cache_dir. Raises on the first unreachable repository or missing branch,
--- before anything is built.
function M.fetch(sources, opts)
  for _, s in ipairs(sources) do
    local t0 = polarrun.now()
    local dest = opts.work_dir .. "/src/" .. M.slug(s.url) .. "-" .. s.branch:gsub("[^%w._%-]", "_")
    local mirror = opts.cache_dir .. "/mirrors/" .. M.slug(s.url) .. ".git"
    local had_mirror = fs.exists(mirror .. "/HEAD")
    local ok, r = pcall(git_clone, s.url, {branch = s.branch, depth = 1, dest = dest, submodules = true,
                                           mirror = mirror, timeout = opts.timeout})
    if not ok then
      local msg = tostring(r):gsub("^[^:]*:%d+: ", "")
      polarrun.raise("git", string.format("engine source for %s: %s", table.concat(s.images, ", "), msg))
    end
    s.dir, s.commit, s.mirror = r.dir, r.commit, mirror
    s.how = had_mirror and "fetched into the mirror" or "cloned a new mirror"
    s.elapsed = polarrun.now() - t0
    log.info(string.format("[source] %s %s at %s: %s, checked out in %.1fs", s.url, s.branch, s.commit:sub(1, 12), s.how, s.elapsed))
  end
  return sources
end

--- What the tag needs from the source: version (PACKAGE_VERSION in configure), the release
--- date (polar_release_date in guc.c, else the commit date) and the commit.
function M.describe(s)
  local configure = fs.read(s.dir .. "/configure")
  if not configure then
    polarrun.raise("source", string.format("%s %s has no configure script: is it a PolarDB for PostgreSQL source tree?", s.url, s.branch))
  end
  s.version = configure:match("\nPACKAGE_VERSION='([^']+)'")
  if not s.version then
    polarrun.raise("source", string.format("%s %s: configure has no PACKAGE_VERSION='...' line", s.url, s.branch))
  end
  local guc = fs.read(s.dir .. "/src/backend/utils/misc/guc.c")
  s.release_date = guc and guc:match("&polar_release_date%s*,%s*\"(%d%d%d%d%d%d%d%d)\"")
  if not s.release_date then
    local r = git({"-C", s.dir, "log", "-1", "--format=%cd", "--date=format:%Y%m%d"})
    s.release_date = r.status == 0 and r.stdout:match("%d+") or os.date("!%Y%m%d")
  end
  return s
end

--- Dry run: what a mirror that already exists says about the branch (nothing is fetched).
function M.peek(s, cache_dir)
  local mirror = cache_dir .. "/mirrors/" .. M.slug(s.url) .. ".git"
  if not fs.exists(mirror .. "/HEAD") then return nil end
  local r = git({"--git-dir", mirror, "rev-parse", "--verify", "--quiet", "refs/heads/" .. s.branch})
  if r.status ~= 0 then return nil end
  local commit = r.stdout:match("%x+")
  local c = git({"--git-dir", mirror, "show", commit .. ":configure"})
  local g = git({"--git-dir", mirror, "show", commit .. ":src/backend/utils/misc/guc.c"})
  local d = git({"--git-dir", mirror, "log", "-1", "--format=%cd", "--date=format:%Y%m%d", commit})
  return {commit = commit, mirror = mirror,
          version = c.status == 0 and c.stdout:match("\nPACKAGE_VERSION='([^']+)'") or nil,
          release_date = g.status == 0 and g.stdout:match("&polar_release_date%s*,%s*\"(%d%d%d%d%d%d%d%d)\"")
                         or (d.status == 0 and d.stdout:match("%d+")) or nil}
end

--- Provenance of the code that builds the images (CodeSource, CodeBranch, CodeVersion): the
--- git repository holding the runbooks, else the one holding image.yml.
function M.this_repo(...)
  local function one(dir, args)
    local r = git({"-C", dir, table.unpack(args)})
    return r.status == 0 and (r.stdout:gsub("%s+$", "")) or nil
  end
  for _, dir in ipairs({...}) do
    local commit = dir and fs.is_dir(dir) and one(dir, {"rev-parse", "HEAD"})
    if commit then
      return {
        url = one(dir, {"remote", "get-url", "origin"}) or one(dir, {"rev-parse", "--show-toplevel"}) or "",
        branch = one(dir, {"rev-parse", "--abbrev-ref", "HEAD"}) or "",
        commit = commit,
        build_by = one(dir, {"config", "user.email"}) or M.user(),
      }
    end
  end
  return {url = "", branch = "", commit = "unknown", build_by = M.user()}
end

function M.user()
  return (proc.env("USER") or "root") .. "@" .. ((fs.read("/etc/hostname") or "localhost"):gsub("%s+", ""))
end

return M
