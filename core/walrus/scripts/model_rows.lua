#!lua flags=no-writes,allow-oom
-- Flags: no-writes, allow-oom: a read; it answers on a replica and over maxmemory.
-- resend: safe (reads only)
-- Read a page of model rows: the values of the given fields of each row, in order.
-- KEYS[1..n]: row hashes (one model's, so one slot on Redis Cluster)
-- ARGV[1..f]: the stored field names, in the model's order
-- Returns one list per row: its HMGET values (false -> nil for a missing field), or an
--   empty list for a row that has none of them (it vanished).
local out = {}
for j, key in ipairs(KEYS) do
    local values = redis.call('HMGET', key, unpack(ARGV))
    local found = false
    for _, v in ipairs(values) do if v then found = true; break end end
    if found then out[j] = values else out[j] = {} end
end
return out
