-- jobs: run functions as jobs in parallel (bounded), each starting as soon as the jobs it
-- depends on have finished. A job is a Lua function run in a coroutine; it waits for child
-- processes with jobs.exec (proc.spawn under the hood) and for time with jobs.sleep, so while one
-- job waits the others go on. A failed job stops the jobs that depend on it, not the others.
--
--   local r = jobs.run({
--     {id = "a", fn = function() return jobs.exec({"make"}).status end},
--     {id = "b", after = {"a"}, fn = function() ... end},      -- only if a succeeded
--     {id = "c", wait_for = {"a"}, fn = function() ... end},   -- after a, whatever its outcome
--   }, {parallel = 2})
--   -- r.a = {ok=true, value=..., elapsed=, started=, finished=}, r.b = {ok=false, error=..., skipped=bool}

local M = {}

--- Inside a job: waits for a process handle (proc.spawn, or docker_build / push with
--- wait=false) while the other jobs go on, and returns its result. Outside a job it simply waits.
function M.await(h)
  if coroutine.isyieldable() then
    return coroutine.yield({wait = h})
  end
  return h:wait()
end

--- Inside a job: runs argv (see proc.spawn for opts) and returns its result when it finishes.
function M.exec(argv, opts)
  return M.await(proc.spawn(argv, opts))
end

--- Inside a job: lets the other jobs run for `seconds`.
function M.sleep(seconds)
  if coroutine.isyieldable() then
    coroutine.yield({until_time = polarrun.now() + seconds})
  else
    polarrun.sleep(seconds)
  end
end

--- Runs the jobs; returns results by id (never raises for a job's failure).
--- opts.parallel: at most this many jobs at once (default 2); jobs with free=true do not count.
--- opts.on_done(job, result): called as each job finishes.
function M.run(list, opts)
  opts = opts or {}
  local limit = math.max(1, opts.parallel or 2)
  local results, pending, running = {}, {}, {}
  for _, j in ipairs(list) do pending[#pending + 1] = j end

  local function finish(j, res)
    res.finished = polarrun.now()
    res.elapsed = res.finished - (res.started or res.finished)
    results[j.id] = res
    if opts.on_done then opts.on_done(j, res) end
  end

  -- resumes a job's coroutine with `value`; records where it waits next or how it ended
  local function step(r, value)
    local ok, what = coroutine.resume(r.co, value)
    if not ok then
      local msg = tostring(what)
      finish(r.job, {ok = false, error = msg, started = r.started})
      return false
    end
    if coroutine.status(r.co) == "dead" then
      finish(r.job, {ok = true, value = what, started = r.started})
      return false
    end
    r.wait, r.until_time = what.wait, what.until_time
    return true
  end

  -- jobs marked free (e.g. uploads) do not take one of the `parallel` slots
  local function slots_used()
    local n = 0
    for _, r in ipairs(running) do if not r.job.free then n = n + 1 end end
    return n
  end

  while #pending > 0 or #running > 0 do
    -- start what is ready, in list order; skip what can no longer run
    local i = 1
    while i <= #pending do
      local j = pending[i]
      local blocked, waiting = nil, false
      for _, dep in ipairs(j.after or {}) do
        local d = results[dep]
        if d == nil then waiting = true
        elseif not d.ok then blocked = dep end
      end
      for _, dep in ipairs(j.wait_for or {}) do   -- order only: whatever their outcome
        if results[dep] == nil then waiting = true end
      end
      if blocked then
        table.remove(pending, i)
        finish(j, {ok = false, skipped = true, error = "not built: " .. blocked .. " failed"})
      elseif not waiting and (j.free or slots_used() < limit) then
        table.remove(pending, i)
        local r = {job = j, co = coroutine.create(j.fn), started = polarrun.now()}
        if step(r, nil) then running[#running + 1] = r end
      else
        i = i + 1
      end
    end
    if #running == 0 then
      if #pending > 0 then
        -- only possible with an unknown dependency: report instead of spinning
        for _, j in ipairs(pending) do finish(j, {ok = false, skipped = true, error = "not built: waits for an unknown job"}) end
      end
      break
    end

    -- wait for the first child to finish or the first sleeper to wake
    local handles, owners, wake = {}, {}, nil
    for _, r in ipairs(running) do
      if r.wait then handles[#handles + 1] = r.wait; owners[#handles] = r end
      if r.until_time then wake = math.min(wake or math.huge, r.until_time) end
    end
    local timeout = wake and math.max(0, wake - polarrun.now()) or nil
    local woke = {}
    if #handles > 0 then
      local idx, res = proc.wait_any(handles, timeout)
      if idx then woke[#woke + 1] = {owners[idx], res} end
    elseif timeout then
      polarrun.sleep(timeout)
    end
    local t = polarrun.now()
    for _, r in ipairs(running) do
      if r.until_time and r.until_time <= t then woke[#woke + 1] = {r, nil} end
    end
    for _, w in ipairs(woke) do
      local r, value = w[1], w[2]
      r.wait, r.until_time = nil, nil
      if not step(r, value) then
        for k, x in ipairs(running) do if x == r then table.remove(running, k) break end end
      end
    end
  end
  return results
end

return M
