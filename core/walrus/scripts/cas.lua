#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Compare-and-set with a prefix match (upstream walrus's contract): replace the string value
-- of a key only when it starts with the expected prefix.
-- KEYS[1]: the string key
-- ARGV[1]: expected prefix of the current value (compared byte for byte; the whole value matches too)
-- ARGV[2]: new value
-- The key keeps its TTL. Returns 1 when the value was replaced, 0 otherwise (missing key or other prefix).
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, string.len(ARGV[1])) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
    return 1
end
return 0
