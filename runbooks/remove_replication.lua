-- remove_replication: drop a replica's or standby's physical slot and its synchronous_standby_names entry
--
-- Checklist:
--   1. validate the inputs and build the slot name (as create_replication)
--   2. take the instance lock
--   3. remove the name from synchronous_standby_names first (commits must not wait for a node
--      that is going away), reload
--   4. drop the slot; a slot still in use has its WAL sender ended first (terminate_walsender);
--      "does not exist" is fine
local instance = require("instance")
local repl = require("replication")

local p = instance.inputs {
  kind = {type = "string", required = true, enum = {"replica", "standby"}, desc = "replica or standby"},
  custins_id = {type = "string", required = true, desc = "custins id (PolarDB Stack: cust_ins_id)"},
  slot_unique_name = {type = "string", required = true, desc = "the node's unique name"},
  terminate_walsender = {type = "boolean", default = true,
                         desc = "end the WAL sender still using the slot (else an active slot is an error)"},
  drop_timeout = {type = "integer", default = 15, desc = "seconds to keep trying to drop a slot in use"},
  conf_file = {type = "string", desc = "postgresql.conf to edit (default: the server's config_file)"},
}
local slot = repl.slot_name(p.kind, p.custins_id, p.slot_unique_name)

local lock <close> = instance.exclusive(p)
local conn = instance.conn(p)

log.info("step 1/2: removing " .. slot .. " from synchronous_standby_names")
local names, sync_changed = repl.update_sync_names(conn, p.conf_file, function(cur) return repl.sync_remove(cur, slot) end)

log.info("step 2/2: dropping replication slot " .. slot)
local dropped = false
polarrun.wait_until(function()
  local s = sql("select slot_type, active_pid from pg_replication_slots where slot_name = $1", {slot}, conn)[1]
  if not s then return true end
  if s.slot_type ~= "physical" then polarrun.raise("refused", "slot " .. slot .. " is a " .. s.slot_type .. " slot, not dropped") end
  if s.active_pid ~= sql.null then
    if not p.terminate_walsender then
      polarrun.raise("refused", string.format("slot %s is in use by WAL sender pid %d (terminate_walsender=false)", slot, s.active_pid))
    end
    log.info(string.format((polarrun.dry_run and "would end" or "ending") .. " WAL sender pid %d that uses %s", s.active_pid, slot))
    sql("select pg_terminate_backend($1)", {s.active_pid}, conn)
  end
  local ok, err = pcall(sql, "select pg_drop_replication_slot($1)", {slot}, conn)
  if ok then dropped = true; log.info((polarrun.dry_run and "would drop slot " or "dropped slot ") .. slot); return true end
  if type(err) == "table" and err.sqlstate == "42704" then return true end      -- gone meanwhile
  if type(err) == "table" and err.sqlstate == "55006" then return false end     -- in use: try again
  error(err, 0)
end, p.drop_timeout, 0.2)
if not dropped then log.info("slot " .. slot .. " does not exist") end

return {slot = slot, dropped = dropped, synchronous_standby_names = names, changed = dropped or sync_changed}
