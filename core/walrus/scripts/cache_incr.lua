#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Add to an integer cache value, giving a new counter its timeout (an existing one keeps its own).
-- KEYS[1]: the cache key
-- ARGV[1]: delta (integer)
-- ARGV[2]: timeout in milliseconds, or 0 for none
-- Returns the new value; errors like INCRBY when the key holds something else.
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local px = tonumber(ARGV[2])
if px > 0 and redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], px)
end
return value
