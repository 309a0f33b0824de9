#!lua flags=allow-oom
-- Flags: allow-oom. A read: its only write is the destination set, a temporary (with a TTL)
-- the caller reads and deletes, so collections still answer on a server over maxmemory.
-- resend: safe (a rerun computes the same destination again)
-- limpyd: intersect the pks selected by collection filters into one set, on the server.
-- KEYS[1]: the destination set (a temporary key, replaced); KEYS[2 ..]: one source per filter
-- ARGV[1]: TTL of the destination in seconds; then for each filter (and-ed): the number of
--   its alternatives (or-ed, e.g. "__in" filters), then 4 arguments per alternative, each
--   alternative reading the next key of KEYS:
--   "set", -, -, -          every member of the set
--   "zset" / "list"         every member of the sorted set / every item of the list
--   "any"                   a set, sorted set or list (by TYPE; missing: empty; others: error)
--   "pk", pk, -, -          pk when it is a member of the set (the pk collection)
--   "zscore", min, max, -   ZRANGEBYSCORE min max (Redis' range syntax)
--   "zlex", op, value, sep  members "<v><sep><pk>" whose v compares to value by op (eq, gt,
--                           gte, lt, lte, startswith), byte-wise
-- Returns the number of pks stored.
local dest, ttl = KEYS[1], ARGV[1]

local function cmp(a, b)
    local la, lb = #a, #b
    local n = math.min(la, lb)
    for i = 1, n do
        local x, y = a:byte(i), b:byte(i)
        if x ~= y then if x < y then return -1 end return 1 end
    end
    if la == lb then return 0 end
    if la < lb then return -1 end
    return 1
end

local function lex(key, op, value, sep)
    local out = {}
    local start = '-'
    if op ~= 'lt' and op ~= 'lte' then start = '[' .. value end
    for _, m in ipairs(redis.call('ZRANGEBYLEX', key, start, '+')) do
        local rev = m:reverse()
        local first = rev:find(sep:reverse(), 1, true)
        if first then
            local cut = #m - first - #sep + 1
            local v, pk = m:sub(1, cut), m:sub(cut + #sep + 1)
            local c = cmp(v, value)
            local keep
            if op == 'eq' then keep = c == 0
            elseif op == 'gt' then keep = c > 0
            elseif op == 'gte' then keep = c >= 0
            elseif op == 'lt' then keep = c < 0
            elseif op == 'lte' then keep = c <= 0
            else keep = v:sub(1, #value) == value end
            if keep then out[#out + 1] = pk end
        end
    end
    return out
end

local result = nil
local k, p = 2, 2
while p <= #ARGV do
    local alternatives = tonumber(ARGV[p])
    p = p + 1
    local set = {}
    for _ = 1, alternatives do
        local kind, a, b, c = ARGV[p], ARGV[p + 1], ARGV[p + 2], ARGV[p + 3]
        local pks
        if kind == 'any' then
            local t = redis.call('TYPE', KEYS[k])['ok']
            if t == 'none' then t = 'set' end
            if t ~= 'set' and t ~= 'zset' and t ~= 'list' then
                return redis.error_reply('ERR limpyd: ' .. KEYS[k] .. ' is a ' .. t .. ', not a set, sorted set or list')
            end
            kind = t
        end
        if kind == 'zset' then
            pks = redis.call('ZRANGE', KEYS[k], 0, -1)
        elseif kind == 'list' then
            pks = redis.call('LRANGE', KEYS[k], 0, -1)
        elseif kind == 'set' then
            pks = redis.call('SMEMBERS', KEYS[k])
        elseif kind == 'pk' then
            pks = {}
            if redis.call('SISMEMBER', KEYS[k], a) == 1 then pks[1] = a end
        elseif kind == 'zscore' then
            pks = redis.call('ZRANGEBYSCORE', KEYS[k], a, b)
        else
            pks = lex(KEYS[k], a, b, c)
        end
        for _, pk in ipairs(pks) do
            if result == nil or result[pk] then set[pk] = true end
        end
        k, p = k + 1, p + 4
    end
    result = set
end
redis.call('DEL', dest)
local members = {}
for pk in pairs(result or {}) do members[#members + 1] = pk end
for i = 1, #members, 1000 do
    redis.call('SADD', dest, unpack(members, i, math.min(i + 999, #members)))
end
if #members > 0 then redis.call('EXPIRE', dest, ttl) end
return #members
