#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: create one instance of a model whose index entries are computed by the client
-- (range indexes, transformed values, HashField entries): pk, values, index operations and
-- unique checks in one script. A refused creation writes nothing.
-- KEYS[1]: the pk collection set; KEYS[2]: the auto-pk counter in "auto" mode (else the
--   collection again); KEYS[3]: the instance hash; KEYS[4 .. 3+N]: every standalone field key
--   (N = ARGV[4]); KEYS[4+N ..]: index keys named by operations
-- ARGV[1]: "auto" or "given"; ARGV[2]: the pk; ARGV[3]: "auto" mode: the counter value
--   expected ("" when absent); ARGV[4]: N; ARGV[5]: H, then H (name, value) pairs of the
--   instance hash; then for each standalone field: kind ("string" | "set" | "list" | "zset" |
--   "hashfield"), count C, C items (zset: score, member...; hashfield: key, value...);
--   then O and O operations of 4 arguments (name, key index with 1 = KEYS[4+N], a, b), as in
--   limpyd_ops_write.lua (sadd, zadd, uset, uzscore, uzlex)
-- Returns {1, pk}; or, nothing written: {0, "retry", counter}, {0, "pk"},
--   {0, "unique", index key, other pk}
local coll, counter, hkey = KEYS[1], KEYS[2], KEYS[3]
local mode, pk, expected = ARGV[1], ARGV[2], ARGV[3]
local n, h = tonumber(ARGV[4]), tonumber(ARGV[5])

local function chunked(cmd, key, items)
    for i = 1, #items, 1000 do
        redis.call(cmd, key, unpack(items, i, math.min(i + 999, #items)))
    end
end

local function other_in(members, skip)
    for _, m in ipairs(members) do
        local who = m
        if skip then who = m:sub(#skip + 1) end
        if who ~= pk then return who end
    end
    return nil
end

if mode == 'auto' then
    local current = redis.call('GET', counter) or ''
    if current ~= expected then return {0, 'retry', current} end
end
if redis.call('SISMEMBER', coll, pk) == 1 then return {0, 'pk'} end

local pos = 6
local hash_items = {}
for _ = 1, h do
    hash_items[#hash_items + 1] = ARGV[pos]
    hash_items[#hash_items + 1] = ARGV[pos + 1]
    pos = pos + 2
end
local fields = {}
for i = 1, n do
    local kind, count = ARGV[pos], tonumber(ARGV[pos + 1])
    local items = {}
    for j = 1, count do items[j] = ARGV[pos + 1 + j] end
    fields[i] = {kind, items}
    pos = pos + 2 + count
end
local no = tonumber(ARGV[pos])
local first_op = pos + 1
local base = 3 + n

for i = 0, no - 1 do
    local p = first_op + 4 * i
    local op, k, a = ARGV[p], KEYS[base + tonumber(ARGV[p + 1])], ARGV[p + 2]
    local other = nil
    if op == 'uset' then
        other = other_in(redis.call('SRANDMEMBER', k, 2))
    elseif op == 'uzscore' then
        other = other_in(redis.call('ZRANGEBYSCORE', k, a, a, 'LIMIT', 0, 2))
    elseif op == 'uzlex' then
        local found = redis.call('ZRANGEBYLEX', k, '[' .. a, '+', 'LIMIT', 0, 2)
        local matching = {}
        for _, m in ipairs(found) do
            if m:sub(1, #a) == a then matching[#matching + 1] = m end
        end
        other = other_in(matching, a)
    end
    if other then return {0, 'unique', k, other} end
end

if mode == 'auto' then redis.call('SET', counter, pk) end
redis.call('SADD', coll, pk)
redis.call('DEL', hkey)
if #hash_items > 0 then chunked('HSET', hkey, hash_items) end
local commands = {string = 'SET', set = 'SADD', list = 'RPUSH', zset = 'ZADD', hashfield = 'HSET'}
for i = 1, n do
    local key, kind, items = KEYS[3 + i], fields[i][1], fields[i][2]
    redis.call('DEL', key)
    if #items > 0 then
        if kind == 'string' then
            redis.call('SET', key, items[1])
        else
            chunked(commands[kind], key, items)
        end
    end
end
for i = 0, no - 1 do
    local p = first_op + 4 * i
    local op, k, a, b = ARGV[p], KEYS[base + tonumber(ARGV[p + 1])], ARGV[p + 2], ARGV[p + 3]
    if op == 'sadd' then redis.call('SADD', k, a)
    elseif op == 'zadd' then redis.call('ZADD', k, a, b)
    end
end
return {1, pk}
