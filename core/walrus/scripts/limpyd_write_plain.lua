#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: run one modifier command on a field without index of a saved instance, only while
-- the instance exists (no value written under a deleted pk). The lean form of limpyd_write
-- for the commonest write: a third of its arguments to send and parse.
-- KEYS[1]: the model's pk collection set (<prefix>:collection)
-- KEYS[2]: the field's key: <prefix>:<pk>:<field>, or the instance hash <prefix>:<pk>:hash
-- ARGV[1]: the pk; ARGV[2]: the hash field name (instance-hash fields), else ""
-- ARGV[3]: the Redis command; ARGV[4 ..]: its arguments after the key (and the hash field name)
-- Returns {1, reply} on success; otherwise nothing is changed and it returns {0, "missing"}
--   (no such instance) or {0, "error", message} (command error)
--@include variadic_call

if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {0, 'missing'} end
local reply = call_variadic(field_call(ARGV[3], KEYS[2], ARGV[2], 4))
if type(reply) == 'table' and reply.err then return {0, 'error', reply.err} end
if type(reply) == 'table' and reply.ok then reply = reply.ok end
return {1, reply}
