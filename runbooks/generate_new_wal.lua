-- generate_new_wal: close the current WAL segment and start a new one (select pg_switch_wal())
--
-- PostgreSQL does not switch when nothing was written since the last switch; the result says
-- whether it did (`switched`). `closed` is the segment that was finished.
local instance = require("instance")
local p = instance.inputs {}
if polarrun.dry_run then   -- pg_switch_wal acts at once: listed, not run
  sql("select pg_switch_wal()", {}, instance.conn(p))
  log.info("would switch to a new WAL segment")
  return {switched = false, would_switch = true}
end
local row = sql([[select s::text as lsn, pg_walfile_name(s) as closed,
                         (pg_current_wal_insert_lsn() > s) as switched from pg_switch_wal() s]], {}, instance.conn(p))[1]
if row.switched then
  log.info(string.format("switched WAL at %s: %s closed, writing a new segment", row.lsn, row.closed))
else
  log.info(string.format("no WAL written since the last switch (at %s): nothing to close", row.lsn))
end
return {lsn = row.lsn, closed = row.closed, switched = row.switched}
