#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: set several instance-hash fields of one instance at once, keeping their index sets
-- consistent and unique values unique, atomically. A refused call changes nothing.
-- KEYS[1]: the model's pk collection set; KEYS[2]: the instance hash (<prefix>:<pk>:hash)
-- Index sets (<index prefix><value>, for old and new values) are keys this script builds
--   itself: the old values are only known here. They share KEYS[1]'s slot (on a cluster every
--   key of a model carries the model's hash tag).
-- ARGV[1]: the pk; ARGV[2]: N, the number of fields, then N groups of four:
--   hash field name, new value, index prefix ("" when not indexable), "1" when unique
-- Returns {1} on success, else (nothing changed) {0, "missing"} (no such instance),
--   or {0, "unique", index key, other pk}
local coll, hkey, pk = KEYS[1], KEYS[2], ARGV[1]
local n = tonumber(ARGV[2])
if redis.call('SISMEMBER', coll, pk) == 0 then return {0, 'missing'} end

local items, changes = {}, {}
for i = 0, n - 1 do
    local name, value, prefix, unique = ARGV[3 + 4 * i], ARGV[4 + 4 * i], ARGV[5 + 4 * i], ARGV[6 + 4 * i]
    items[#items + 1] = name
    items[#items + 1] = value
    if prefix ~= '' then
        local old = redis.call('HGET', hkey, name)
        if old ~= value then
            local change = {new = prefix .. value, unique = unique == '1'}
            if old then change.old = prefix .. old end
            changes[#changes + 1] = change
        end
    end
end
for _, change in ipairs(changes) do
    if change.unique and redis.call('SCARD', change.new) > 0 then
        for _, member in ipairs(redis.call('SRANDMEMBER', change.new, 2)) do
            if member ~= pk then return {0, 'unique', change.new, member} end
        end
    end
end
redis.call('HSET', hkey, unpack(items))
for _, change in ipairs(changes) do
    if change.old then redis.call('SREM', change.old, pk) end
    redis.call('SADD', change.new, pk)
end
return {1}
