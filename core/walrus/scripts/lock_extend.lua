#!lua flags=allow-oom
-- Flags: allow-oom. It only moves the lock's expiry (PEXPIRE): a full server must still let
-- a holder renew its lease, or a long job would lose its lock to the full memory.
-- Give more time to a lock the caller owns.
-- KEYS[1]: the lock key (string holding the owner token)
-- ARGV[1]: owner token of the caller
-- ARGV[2]: milliseconds (a positive integer)
-- ARGV[3]: "add" = add ARGV[2] to the time left (a lock without expiry keeps none);
--          "set" = the lock expires ARGV[2] ms from now
-- Returns the time left in milliseconds afterwards (-1 = no expiry); 0 when the lock is not
-- held; -2 when another token holds it (nothing is changed then).
local holder = redis.call('GET', KEYS[1])
if not holder then
    return 0
end
if holder ~= ARGV[1] then
    return -2
end
local ms = tonumber(ARGV[2])
if ARGV[3] == 'add' then
    local left = redis.call('PTTL', KEYS[1])
    if left < 0 then
        return -1
    end
    ms = left + ms
end
redis.call('PEXPIRE', KEYS[1], ms)
return ms
