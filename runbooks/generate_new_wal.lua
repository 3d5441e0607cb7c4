-- generate_new_wal: switch to a new WAL segment (select pg_switch_wal()) and report it
local instance = require("instance")
local p = instance.inputs {}
local row = sql("select pg_switch_wal()::text as lsn, pg_walfile_name(pg_current_wal_lsn()) as walfile", {}, instance.conn(p))[1]
log.info(string.format("switched WAL at %s; now writing %s", row.lsn, row.walfile))
return {lsn = row.lsn, walfile = row.walfile}
