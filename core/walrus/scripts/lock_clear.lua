#!lua flags=allow-oom
-- Flags: allow-oom. It frees memory (DEL of the lock) and pushes one short wake-up token:
-- deadlock recovery must work on a full server too.
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
