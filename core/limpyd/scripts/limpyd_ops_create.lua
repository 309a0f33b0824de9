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
--@include limpyd_instance
--@include limpyd_index_ops

local coll, counter, hkey = KEYS[1], KEYS[2], KEYS[3]
local mode, pk, expected = ARGV[1], ARGV[2], ARGV[3]
local n, h = tonumber(ARGV[4]), tonumber(ARGV[5])

local refused = creation_refusal(coll, counter, pk, expected, mode == 'auto')
if refused then return refused end

local hash_items, fields, pos = read_instance(6, h, n)
local no = tonumber(ARGV[pos])
local first_op = pos + 1
local base = 3 + n

local taken_key, other = unique_conflict(pk, first_op, no, base)
if other then return {0, 'unique', taken_key, other} end

if mode == 'auto' then redis.call('SET', counter, pk) end
redis.call('SADD', coll, pk)
store_instance(hkey, hash_items, fields)
apply_ops(first_op, no, base)
return {1, pk}
