#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Add to an integer cache value: the core Cache's incr (a missing key starts at 0 and gets the
-- timeout) and Django's incr/decr (ARGV[3] = 1: a missing key is an error, nothing is created).
-- An existing counter keeps its own TTL.
-- KEYS[1]: the cache key
-- ARGV[1]: delta (integer, may be negative)
-- ARGV[2]: timeout in milliseconds for a new counter, or 0 for none
-- ARGV[3]: 1 = only an existing key (optional; default: create)
-- Returns the new value, or nil (false) for a missing key under ARGV[3] = 1; errors like INCRBY
-- when the key holds something else.
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
    return false
end
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local px = tonumber(ARGV[2])
if px > 0 and redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], px)
end
return value
