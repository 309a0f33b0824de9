#!lua flags=allow-oom
-- Flags: allow-oom. It frees memory (DEL of the lock) and pushes one short wake-up token:
-- a full server must still let a holder release, or the lock would stay held until its ttl.
-- Release a lock if (and only if) the caller owns it, and wake one waiter.
-- KEYS[1]: the lock key (string holding the owner token)
-- KEYS[2]: the wake-up list that blocked acquirers BLPOP on
-- ARGV[1]: owner token of the caller
-- ARGV[2]: lifetime of the wake-up token in milliseconds (so the list never lives forever);
--          0 pushes no token (for locks whose waiters poll instead of blocking)
-- Returns 1 when released; 0 when the lock is not held (expired, cleared or never taken);
-- -1 when another token holds it (nothing is changed then).
local holder = redis.call('GET', KEYS[1])
if not holder then
    return 0
end
if holder ~= ARGV[1] then
    return -1
end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[2]) > 0 then
    -- At most one pending token: a waiter that blocks later still sees it, stale ones expire.
    redis.call('DEL', KEYS[2])
    redis.call('RPUSH', KEYS[2], '1')
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
