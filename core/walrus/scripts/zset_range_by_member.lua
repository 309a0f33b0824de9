#!lua flags=allow-oom
-- Flags: allow-oom. It reads or deletes, never adds: it may run on a server over maxmemory
-- (removing members frees memory).
-- Read or remove the part of a sorted set between two bounds given as members (inclusive)
-- or ranks, atomically: ZSet slicing such as zs['k1':'k10'] or del zs[:'k5'].
-- KEYS[1]: the sorted set
-- ARGV[1]: mode: "get" (members), "scores" (flat member, score, ...), "del" (remove them)
-- ARGV[2]: start kind: "r" = rank (ARGV[3] an integer, negative counts from the end),
--          "m" = member (ARGV[3] a member; its rank is used)
-- ARGV[3]: start bound
-- ARGV[4]: stop kind, as ARGV[2]
-- ARGV[5]: stop bound (inclusive)
-- Returns: get/scores: a flat array; del: the number of members removed;
--          the integer -1 (start member missing) or -2 (stop member missing).
local function position(kind, value)
    if kind == 'm' then
        return redis.call('ZRANK', KEYS[1], value)
    end
    return tonumber(value)
end

local start = position(ARGV[2], ARGV[3])
if not start then
    return -1
end
local stop = position(ARGV[4], ARGV[5])
if not stop then
    return -2
end
if ARGV[1] == 'del' then
    return redis.call('ZREMRANGEBYRANK', KEYS[1], start, stop)
elseif ARGV[1] == 'scores' then
    return redis.call('ZRANGE', KEYS[1], start, stop, 'WITHSCORES')
end
return redis.call('ZRANGE', KEYS[1], start, stop)
