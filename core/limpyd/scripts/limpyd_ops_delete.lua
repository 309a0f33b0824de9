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
--@include limpyd_entries
--@include limpyd_index_ops

local coll, hkey, pk = KEYS[1], KEYS[2], ARGV[1]
local n = tonumber(ARGV[2])
local checked = ARGV[3] == '1'
local s = tonumber(ARGV[4])
if redis.call('SISMEMBER', coll, pk) == 0 then return {0, 'missing'} end

local snap = {}
for i = 0, s - 1 do
    local p = 5 + 3 * i
    local ki = tonumber(ARGV[p])
    local key = hkey
    if ki > 0 then key = KEYS[2 + ki] end
    snap[i + 1] = entries_of(key, ARGV[p + 1], ARGV[p + 2])
end

local pos = 5 + 3 * s
local ok = checked
if ok then
    for i = 1, s do
        local count = tonumber(ARGV[pos])
        if not same_entries(snap[i], pos + 1, count) then ok = false; break end
        pos = pos + 1 + count
    end
end
if not ok then
    local out = {0, 'values'}
    for i = 1, s do append_entries(out, snap[i]) end
    return out
end

apply_ops(pos + 1, tonumber(ARGV[pos]), 2 + n)
redis.call('DEL', hkey)
for i = 1, n do redis.call('DEL', KEYS[2 + i]) end
redis.call('SREM', coll, pk)
return {1}
