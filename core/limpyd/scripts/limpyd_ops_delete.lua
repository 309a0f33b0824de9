#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: delete one instance of a model whose index entries are computed by the client,
-- atomically. Two phases, as limpyd_ops_write.lua: without expectations (ARGV[3] = "0") it
-- returns the indexed entries of the instance; the client computes the operations removing
-- them and calls again; the second call deletes only if the entries did not change.
-- KEYS[1]: the pk collection set; KEYS[2]: the instance hash; KEYS[3 .. 2+N]: every standalone
--   field key (N = ARGV[2]); KEYS[3+N ..]: index keys named by operations
-- ARGV[1]: pk; ARGV[2]: N; ARGV[3]: "1" when expectations follow; ARGV[4]: S, the number of
--   indexed sources, then for each: a key index (1 = KEYS[3], ... N+1... see below), its kind
--   and its hash field name ("" unless kind "hash"); key index 0 means the instance hash.
--   Then, with expectations: for each source a count and its entries; then O and O
--   operations of 4 arguments (srem a | zrem a; key index 1 = KEYS[3+N]).
-- Returns {1}; or, nothing changed: {0, "missing"}, {0, "values", count, entries..., ...}
local coll, hkey, pk = KEYS[1], KEYS[2], ARGV[1]
local n = tonumber(ARGV[2])
local checked = ARGV[3] == '1'
local s = tonumber(ARGV[4])
if redis.call('SISMEMBER', coll, pk) == 0 then return {0, 'missing'} end

local function entries(key, kind, hfield)
    local out, seen = {}, {}
    local function add(v)
        if not seen[v] then seen[v] = true; out[#out + 1] = v end
    end
    if kind == 'string' then
        local v = redis.call('GET', key)
        if v then add(v) end
    elseif kind == 'hash' then
        local v = redis.call('HGET', key, hfield)
        if v then add(v) end
    elseif kind == 'set' then
        for _, v in ipairs(redis.call('SMEMBERS', key)) do add(v) end
    elseif kind == 'list' then
        for _, v in ipairs(redis.call('LRANGE', key, 0, -1)) do add(v) end
    elseif kind == 'zset' then
        for _, v in ipairs(redis.call('ZRANGE', key, 0, -1)) do add(v) end
    else
        local flat = redis.call('HGETALL', key)
        for i = 1, #flat, 2 do add(#flat[i] .. ':' .. flat[i] .. flat[i + 1]) end
    end
    return out
end

local snap = {}
for i = 0, s - 1 do
    local p = 5 + 3 * i
    local ki = tonumber(ARGV[p])
    local key = hkey
    if ki > 0 then key = KEYS[2 + ki] end
    snap[i + 1] = entries(key, ARGV[p + 1], ARGV[p + 2])
end

local pos = 5 + 3 * s
local ok = checked
if ok then
    for i = 1, s do
        local count = tonumber(ARGV[pos])
        local list = snap[i]
        if #list ~= count then ok = false; break end
        local set = {}
        for j = pos + 1, pos + count do set[ARGV[j]] = true end
        for _, v in ipairs(list) do
            if not set[v] then ok = false end
        end
        if not ok then break end
        pos = pos + 1 + count
    end
end
if not ok then
    local out = {0, 'values'}
    for i = 1, s do
        out[#out + 1] = #snap[i]
        for _, v in ipairs(snap[i]) do out[#out + 1] = v end
    end
    return out
end

local no = tonumber(ARGV[pos])
for i = 0, no - 1 do
    local p = pos + 1 + 4 * i
    local op, k, a = ARGV[p], KEYS[2 + n + tonumber(ARGV[p + 1])], ARGV[p + 2]
    if op == 'srem' then redis.call('SREM', k, a)
    elseif op == 'zrem' then redis.call('ZREM', k, a)
    end
end
redis.call('DEL', hkey)
for i = 1, n do redis.call('DEL', KEYS[2 + i]) end
redis.call('SREM', coll, pk)
return {1}
