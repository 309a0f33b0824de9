#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Try to take a lock; when it is held, say for how long (used by the blocking path of
-- Lock.acquire, whose first attempt is a plain SET NX PX).
-- KEYS[1]: the lock key (string holding the owner token)
-- ARGV[1]: owner token
-- ARGV[2]: time to live in milliseconds; "0" = the lock does not expire
-- Returns -3 when the lock was taken; otherwise the holder's remaining time in milliseconds
-- (-1 when the held lock has no expiry). Never -2: the check and the PTTL are atomic.
local taken
if ARGV[2] == '0' then
    taken = redis.call('SET', KEYS[1], ARGV[1], 'NX')
else
    taken = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
end
if taken then
    return -3
end
return redis.call('PTTL', KEYS[1])
