#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: delete one instance atomically: its index entries, its field keys, its hash and its
-- pk in the collection.
-- KEYS[1]: the model's pk collection set; KEYS[2]: the instance hash (<prefix>:<pk>:hash)
-- KEYS[3 .. 2+N]: every standalone field key of the instance (<prefix>:<pk>:<field>), N = ARGV[2]
-- Index sets (<index prefix><value> of the current values) are keys this script builds
--   itself: the values are only known here. They share KEYS[1]'s slot (on a cluster every key
--   of a model carries the model's hash tag).
-- ARGV[1]: the pk; ARGV[2]: N; then for each standalone field: kind ("string" | "set" | "list" |
--   "zset") and index prefix ("" when not indexable); then H, the number of indexable hash
--   fields, and H (hash field name, index prefix) pairs
-- Returns {1} on success, else (nothing changed) {0, "missing"}
local coll, hkey, pk = KEYS[1], KEYS[2], ARGV[1]
local n = tonumber(ARGV[2])
if redis.call('SISMEMBER', coll, pk) == 0 then return {0, 'missing'} end

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
        for _, v in ipairs(values) do redis.call('SREM', prefix .. v, pk) end
    end
end
local pos = 3 + 2 * n
local h = tonumber(ARGV[pos])
for j = 1, h do
    local name, prefix = ARGV[pos + 2 * j - 1], ARGV[pos + 2 * j]
    local v = redis.call('HGET', hkey, name)
    if v then redis.call('SREM', prefix .. v, pk) end
end
redis.call('DEL', hkey)
for i = 1, n do redis.call('DEL', KEYS[2 + i]) end
redis.call('SREM', coll, pk)
return {1}
