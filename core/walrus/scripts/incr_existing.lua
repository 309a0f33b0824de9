#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Increment an integer value only when its key already exists (caches must not create
-- counters on incr); the key keeps its TTL.
-- KEYS[1]: the string key
-- ARGV[1]: delta (integer, may be negative)
-- Returns the new value, or nil (false) when the key does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
    return false
end
return redis.call('INCRBY', KEYS[1], ARGV[1])
