#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: delete one instance atomically: its index entries, its field keys, its hash and its
-- pk in the collection.
-- KEYS[1]: the model's pk collection set; KEYS[2]: the instance hash (<prefix>:<pk>:hash)
-- KEYS[3 .. 2+N]: every standalone field key of the instance (<prefix>:<pk>:<field>), N = ARGV[2]
-- KEYS[3+N ..]: candidate index sets (<index prefix><value> of the current values); sets not
--   declared are never touched: their names are returned and the caller retries with them
-- ARGV[1]: the pk; ARGV[2]: N; then for each standalone field: kind ("string" | "set" | "list" |
--   "zset") and index prefix ("" when not indexable); then H, the number of indexable hash
--   fields, and H (hash field name, index prefix) pairs
-- Returns {1} on success, else (nothing changed) {0, "missing"} or {0, "keys", name...}
local coll, hkey, pk = KEYS[1], KEYS[2], ARGV[1]
local n = tonumber(ARGV[2])
if redis.call('SISMEMBER', coll, pk) == 0 then return {0, 'missing'} end

local known = {}
for i = 3 + n, #KEYS do known[KEYS[i]] = true end
local indexes, listed, missing = {}, {}, {}
local function add(name)
    if listed[name] then return end
    listed[name] = true
    if known[name] then indexes[#indexes + 1] = name else missing[#missing + 1] = name end
end
for i = 1, n do
    local kind, prefix = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
    local key = KEYS[2 + i]
    if prefix ~= '' then
        local values
        if kind == 'string' then
            local v = redis.call('GET', key)
            values = {}
            if v then values[1] = v end
        elseif kind == 'set' then
            values = redis.call('SMEMBERS', key)
        elseif kind == 'list' then
            values = redis.call('LRANGE', key, 0, -1)
        else
            values = redis.call('ZRANGE', key, 0, -1)
        end
        for _, v in ipairs(values) do add(prefix .. v) end
    end
end
local pos = 3 + 2 * n
local h = tonumber(ARGV[pos])
for j = 1, h do
    local name, prefix = ARGV[pos + 2 * j - 1], ARGV[pos + 2 * j]
    local v = redis.call('HGET', hkey, name)
    if v then add(prefix .. v) end
end
if #missing > 0 then return {0, 'keys', unpack(missing)} end
for _, name in ipairs(indexes) do redis.call('SREM', name, pk) end
redis.call('DEL', hkey)
for i = 1, n do redis.call('DEL', KEYS[2 + i]) end
redis.call('SREM', coll, pk)
return {1}
