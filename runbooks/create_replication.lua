-- create_replication: physical slot for a read-only replica (synchronous) or a standby (asynchronous), on the primary
--
-- Checklist:
--   1. validate the inputs and build the slot name   replica_<custins_id>_<slot_unique_name> / standby_...
--   2. take the instance lock; the instance must be a running primary
--   3. create the physical slot (WAL reserved at once); "already exists" is fine
--   4. replica (synchronous=true): add the slot name to synchronous_standby_names in postgresql.conf, reload
-- The replica or standby connects with primary_slot_name = application_name = the slot name.
local instance = require("instance")
local repl = require("replication")

local p = instance.inputs {
  kind = {type = "string", required = true, enum = {"replica", "standby"},
          desc = "replica: read-only node, synchronous; standby: standby cluster, asynchronous"},
  custins_id = {type = "string", required = true, desc = "custins id (PolarDB Stack: cust_ins_id)"},
  slot_unique_name = {type = "string", required = true, desc = "the node's unique name (PolarDB Stack: slot_unique_name)"},
  synchronous = {type = "boolean", desc = "add to synchronous_standby_names (default: true for replica, false for standby)"},
  conf_file = {type = "string", desc = "postgresql.conf to edit (default: the server's config_file)"},
}
local slot = repl.slot_name(p.kind, p.custins_id, p.slot_unique_name)
local synchronous = p.synchronous
if synchronous == nil then synchronous = (p.kind == "replica") end

local lock <close> = instance.exclusive(p)
local conn = instance.conn(p)

log.info("step 1/3: checking that " .. p.pgdata .. " is a running primary")
local state = sql("select pg_is_in_recovery() as recovery", {}, conn)[1]
if state.recovery then
  polarrun.raise("refused", "this instance is in recovery (a replica or standby): create replication slots on the primary")
end

log.info("step 2/3: physical replication slot " .. slot)
local created = false
local existing = sql("select slot_type from pg_replication_slots where slot_name = $1", {slot}, conn)[1]
if existing and existing.slot_type ~= "physical" then
  polarrun.raise("refused", "slot " .. slot .. " exists but is a " .. existing.slot_type .. " slot")
elseif existing then
  log.info("slot " .. slot .. " already exists")
else
  local ok, err = pcall(sql, "select pg_create_physical_replication_slot($1, true)", {slot}, conn)
  if ok then
    created = true
    log.info((polarrun.dry_run and "would create slot " or "created slot ") .. slot)
  elseif type(err) == "table" and err.sqlstate == "42710" then
    log.info("slot " .. slot .. " already exists (created concurrently)")
  else
    error(err, 0)
  end
end

local names = sql("select current_setting('synchronous_standby_names') as v", {}, conn)[1].v
local sync_changed = false
if synchronous then
  log.info("step 3/3: adding " .. slot .. " to synchronous_standby_names")
  names, sync_changed = repl.update_sync_names(conn, p.conf_file, function(cur) return repl.sync_add(cur, slot) end)
else
  log.info("step 3/3: asynchronous " .. p.kind .. ": synchronous_standby_names left as it is ('" .. names .. "')")
end

log.info(string.format(polarrun.dry_run and "replication slot %s would be ready (%s, %s)" or "replication slot %s ready (%s, %s)", slot, p.kind, synchronous and "synchronous" or "asynchronous"))
return {slot = slot, application_name = slot, kind = p.kind, synchronous = synchronous,
        created = created, synchronous_standby_names = names, changed = created or sync_changed}
