#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: run one modifier command on one field of an existing instance whose indexes are
-- computed by the client (range indexes, transformed values, HashField entries), atomically.
-- Two phases: without expectations (ARGV[4] = "0") the script runs the command, reads the
-- field's indexed entries before and after, undoes everything and returns them; the client
-- computes the index operations and calls again with those entries as expectations. The
-- second call applies the command and the operations only if the entries are still the same.
-- KEYS[1]: the model's pk collection set; KEYS[2]: the field's key; KEYS[3 .. 2+C]: keys of
--   the C context fields; KEYS[3+C ..]: index keys named by operations
-- ARGV[1]: pk (it must be in the collection); ARGV[2]: kind ("string" | "hash" | "set" |
--   "list" | "zset" | "hashfield"); ARGV[3]: the hash field name (kind "hash"), else "";
--   ARGV[4]: "1" when expectations follow ("0": none; "2": the field is not indexed, no check);
--   ARGV[5]: C, the number of context fields (other fields of the instance the index
--   operations depend on), then for each: kind, hash field name, count and expected entries;
--   then B and B entries before; then A and A entries after; then O, then O operations of
--   4 arguments each: name, key index (1 = KEYS[3+C]), a, b. Names: sadd/srem (a: member),
--   zadd (a: score, b: member), zrem (a: member),
--   uset (the set must hold no other pk), uzscore (a: score; no other pk may have it),
--   uzlex (a: prefix; no member "<prefix><other pk>"). Then the command and its arguments
--   after the key (and the hash field name).
-- Entries are values; for kind "hashfield" "<len(k)>:<k><v>" per hash entry.
-- Returns {1, reply}; or with nothing changed: {0, "values", B, A, before..., after..., then
--   for each context field its count and entries},
--   {0, "missing"} (no such instance), {0, "error", msg}, {0, "unique", index key, other pk}
--@include variadic_call
--@include limpyd_entries
--@include limpyd_index_ops

local coll, key = KEYS[1], KEYS[2]
local pk, kind, hfield = ARGV[1], ARGV[2], ARGV[3]
local checked, unindexed = ARGV[4] == '1', ARGV[4] == '2'

local function entries() return entries_of(key, kind, hfield) end

local function dump()
    local ttl = redis.call('PTTL', key)
    local raw = nil
    if redis.call('EXISTS', key) == 1 then
        if kind == 'hash' then
            raw = redis.call('HGET', key, hfield)
        else
            raw = redis.call('DUMP', key)
        end
    end
    return {raw, ttl}
end

local function restore(saved)
    if kind == 'hash' then
        if saved[1] then redis.call('HSET', key, hfield, saved[1]) else redis.call('HDEL', key, hfield) end
        return
    end
    redis.call('DEL', key)
    if saved[1] then
        local ttl = saved[2]
        if ttl < 0 then ttl = 0 end
        redis.call('RESTORE', key, ttl, saved[1])
    end
end

if redis.call('SISMEMBER', coll, pk) == 0 then return {0, 'missing'} end

-- context: other fields of the instance whose entries the index operations depend on
local nc = tonumber(ARGV[5])
local pos = 6
local contexts = {}
for i = 1, nc do
    local c_kind, c_hfield, count = ARGV[pos], ARGV[pos + 1], tonumber(ARGV[pos + 2])
    contexts[i] = {KEYS[2 + i], c_kind, c_hfield, pos + 3, count}
    pos = pos + 3 + count
end
local base = 2 + nc
local nb = tonumber(ARGV[pos])
local b_pos = pos + 1
local na_pos = b_pos + nb
local na = tonumber(ARGV[na_pos])
local no_pos = na_pos + 1 + na
local no = tonumber(ARGV[no_pos])
local cmd_pos = no_pos + 1 + 4 * no

local saved = dump()
local before = entries()
local reply = call_variadic(field_call(ARGV[cmd_pos], key, hfield, cmd_pos + 1))
if type(reply) == 'table' and reply.err then
    restore(saved)
    return {0, 'error', reply.err}
end
local after = entries()

local context_now = {}
local context_same = true
for i = 1, nc do
    local c = contexts[i]
    context_now[i] = entries_of(c[1], c[2], c[3])
    if not same_entries(context_now[i], c[4], c[5]) then context_same = false end
end
if not unindexed and not (checked and context_same and same_entries(before, b_pos, nb)
        and same_entries(after, na_pos + 1, na)) then
    restore(saved)
    local out = {0, 'values', #before, #after}
    for _, v in ipairs(before) do out[#out + 1] = v end
    for _, v in ipairs(after) do out[#out + 1] = v end
    for i = 1, nc do append_entries(out, context_now[i]) end
    return out
end

local taken_key, other = unique_conflict(pk, no_pos + 1, no, base)
if other then
    restore(saved)
    return {0, 'unique', taken_key, other}
end
apply_ops(no_pos + 1, no, base)

if type(reply) == 'table' and reply.ok then reply = reply.ok end
return {1, reply}
