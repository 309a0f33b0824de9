#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Force a lock free whoever holds it (deadlock recovery) and wake one waiter if it was held.
-- KEYS[1]: the lock key
-- KEYS[2]: the wake-up list that blocked acquirers BLPOP on
-- ARGV[1]: lifetime of the wake-up token in milliseconds
-- Returns 1 when a lock was held, 0 otherwise.
local held = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
if held == 1 then
    redis.call('RPUSH', KEYS[2], '1')
    redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return held
