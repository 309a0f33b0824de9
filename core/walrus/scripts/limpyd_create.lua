#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: create one model instance atomically: pk, every field value, index entries and
-- unique checks. A refused creation writes nothing (no pk, no counter move, no index entry).
-- KEYS[1]: the model's pk collection set (<prefix>:collection)
-- KEYS[2]: the auto-pk counter (<prefix>:max_pk) in "auto" mode; the collection again otherwise
-- KEYS[3]: the instance hash (<prefix>:<pk>:hash)
-- KEYS[4 .. 3+N]: every standalone field key of the model (<prefix>:<pk>:<field>), N = ARGV[4];
--   they are cleared first, so stale data under a reused pk never leaks into the new instance
-- KEYS[4+N ..]: index sets that receive the pk (<prefix>:<field>:<value>), one per entry
-- ARGV[1]: "auto" (auto-increment pk) or "given" (caller-chosen pk)
-- ARGV[2]: the pk (text)
-- ARGV[3]: "auto" mode: the counter value the caller expects ("" when absent); ARGV[2] is that
--   value + 1. When the counter moved, nothing is written and its value is returned.
-- ARGV[4]: N, the number of standalone field keys
-- ARGV[5]: H, the number of hash fields to set, followed by H (name, value) pairs
-- then for each standalone field i = 1..N: kind ("string" | "set" | "list" | "zset"), count C
--   and C items (zset: score, member, score, member, ...; C counts both)
-- then for each index key j: "1" when the index is unique (no other pk may be in it), else "0"
-- Returns {1, pk}; or, with nothing written: {0, "retry", counter value} (counter moved),
--   {0, "pk"} (pk already used), {0, "unique", index key, other pk} (unique value taken)
--@include limpyd_instance

local coll, counter, hkey = KEYS[1], KEYS[2], KEYS[3]
local mode, pk, expected = ARGV[1], ARGV[2], ARGV[3]
local n, h = tonumber(ARGV[4]), tonumber(ARGV[5])

local function taken(key)
    local size = redis.call('SCARD', key)
    if size == 0 then return nil end
    for _, member in ipairs(redis.call('SRANDMEMBER', key, 2)) do
        if member ~= pk then return member end
    end
    return nil
end

local refused = creation_refusal(coll, counter, pk, expected, mode == 'auto')
if refused then return refused end

local hash_items, fields, pos = read_instance(6, h, n)
local first_index = 4 + n
for j = first_index, #KEYS do
    if ARGV[pos + j - first_index] == '1' then
        local other = taken(KEYS[j])
        if other then return {0, 'unique', KEYS[j], other} end
    end
end

-- every check passed: write
if mode == 'auto' then redis.call('SET', counter, pk) end
redis.call('SADD', coll, pk)
store_instance(hkey, hash_items, fields)
for j = first_index, #KEYS do
    redis.call('SADD', KEYS[j], pk)
end
return {1, pk}
