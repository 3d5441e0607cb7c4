-- ssl: turn TLS on with the given certificate and key, or off (PolarDB Stack's enable_ssl / disable_ssl)
--
-- Checklist:
--   enable:  1. cert and key must be PEM  2. write <pgdata>/server.crt and server.key (mode 600,
--            the database OS user's)  3. ssl=on, ssl_cert_file, ssl_key_file in postgresql.conf
--            4. reload, and check that the server now reports ssl = on (a bad key is an error
--            here, not a silent log line as in the original)
--   disable: ssl=off, reload, check.
local instance = require("instance")
local follower = require("install_follower")
local p = instance.inputs {
  enable = {type = "boolean", required = true},
  ssl_cert = {type = "string", desc = "PEM certificate (enable)"},
  ssl_key = {type = "string", secret = true, desc = "PEM private key (enable)"},
}
if p.enable then
  if not (p.ssl_cert and p.ssl_cert:match("%-%-%-%-%-BEGIN [%u ]*CERTIFICATE%-%-%-%-%-")) then
    polarrun.raise("usage", "ssl_cert must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
  end
  if not (p.ssl_key and p.ssl_key:match("%-%-%-%-%-BEGIN [%u ]*PRIVATE KEY%-%-%-%-%-")) then
    polarrun.raise("usage", "ssl_key must be a PEM private key (-----BEGIN ... PRIVATE KEY-----)")
  end
end
local lock <close> = instance.exclusive(p)
local conf = p.pgdata .. "/postgresql.conf"
if p.enable then
  follower.write_ssl(p, p.pgdata)
  conf_set(conf, {ssl = true, ssl_cert_file = "server.crt", ssl_key_file = "server.key"})
else
  conf_set(conf, {ssl = false})
end
local want = p.enable and "on" or "off"
if instance.running(p) and polarrun.dry_run then
  instance.reload(p)   -- listed: the server cannot report a setting no file holds yet
elseif instance.running(p) then
  instance.reload(p)
  local now
  pcall(polarrun.wait_until, function()
    now = sql("select current_setting('ssl') as v", {}, instance.conn(p))[1].v
    return now == want
  end, 10, 0.2)
  if now ~= want then
    polarrun.raise("runtime", "after the reload the server reports ssl = " .. tostring(now) .. " (see the server log: "
      .. instance.startup_log(p) .. " / pg_log)")
  end
end
log.info((polarrun.dry_run and "ssl would be " or "ssl ") .. want)
return {ssl = want, dry_run = polarrun.dry_run or nil}
