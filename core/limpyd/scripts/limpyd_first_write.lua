#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: the first write of an unsaved auto-pk instance, atomically: the instance is created
-- with its default values (as limpyd_create / limpyd_ops_create store them), the command runs
-- on one of its fields, then every indexable field gets its index entries and unique checks,
-- as at a creation with the resulting values. A refusal leaves nothing: no pk, no counter
-- move, no value, no index entry.
-- KEYS[1]: the model's pk collection set; KEYS[2]: the auto-pk counter (<prefix>:max_pk);
--   KEYS[3]: the instance hash; KEYS[4 .. 3+N]: every standalone field key (N = ARGV[3]);
--   they are cleared first, as at a creation; KEYS[4+N ..]: index keys named by operations
--   ("check" mode). In "plain" mode the index sets are keys this script builds itself,
--   <index prefix><value>, as limpyd_write does: they share KEYS[1]'s slot on a cluster.
-- ARGV[1]: the pk (the counter value expected + 1); ARGV[2]: the counter value expected (""
--   when absent); ARGV[3]: N; ARGV[4]: H, then H (name, value) pairs of the instance hash;
--   then for each standalone field: kind ("string" | "set" | "list" | "zset" | "hashfield"),
--   count C and C items (zset: score, member...; hashfield: key, value...)
-- then the written field: its position T (0: the instance hash, i: standalone field i) and
--   its hash field name (T = 0), else ""
-- then X, and for each indexable field: position, kind ("hash" for position 0), hash field
--   name (or ""), index prefix and "1" when unique (those two are read in "plain" mode only)
-- then the mode:
--   "plain": plain EqualIndex sets, <index prefix><value> for each value held;
--   "report": change nothing, return the entries every indexable field holds after the
--     command;
--   "check": for each indexable field, count and expected entries (as "report" returns
--     them); then O, and O operations of 4 arguments (name, key index with 1 = KEYS[4+N],
--     a, b), as in limpyd_ops_write.lua (sadd, zadd, uset, uzscore, uzlex). They are applied
--     only when the entries are the expected ones (else as "report").
-- then the command and its arguments after the key (and the hash field name).
-- Entries are values; for kind "hashfield" "<len(k)>:<k><v>" per hash entry.
-- Returns {1, reply}; or, with nothing written: {0, "retry", counter value}, {0, "pk"},
--   {0, "error", message}, {0, "unique", index key, other pk},
--   {0, "values", then for each indexable field its count and entries}
--@include variadic_call
--@include limpyd_instance
--@include limpyd_entries
--@include limpyd_index_ops

local coll, counter, hkey = KEYS[1], KEYS[2], KEYS[3]
local pk, expected = ARGV[1], ARGV[2]
local n, h = tonumber(ARGV[3]), tonumber(ARGV[4])

local refused = creation_refusal(coll, counter, pk, expected, true)
if refused then return refused end

local hash_items, fields, pos = read_instance(5, h, n)
local target, target_hfield = tonumber(ARGV[pos]), ARGV[pos + 1]
local x = tonumber(ARGV[pos + 2])
pos = pos + 3
local indexed = {}
for i = 1, x do
    indexed[i] = {tonumber(ARGV[pos]), ARGV[pos + 1], ARGV[pos + 2], ARGV[pos + 3],
        ARGV[pos + 4] == '1'}
    pos = pos + 5
end
local mode = ARGV[pos]
pos = pos + 1
local check_pos, no, ops_pos
if mode == 'check' then
    check_pos = pos
    for _ = 1, x do pos = pos + 1 + tonumber(ARGV[pos]) end
    no = tonumber(ARGV[pos])
    ops_pos = pos + 1
    pos = ops_pos + 4 * no
end
local cmd_pos = pos

local function key_at(position)
    if position == 0 then return hkey end
    return KEYS[3 + position]
end

local function clear()
    redis.call('DEL', hkey)
    for i = 1, n do redis.call('DEL', KEYS[3 + i]) end
end

-- the creation, with the default values (over cleared keys)
store_instance(hkey, hash_items, fields)

-- the first write
local reply = call_variadic(field_call(ARGV[cmd_pos], key_at(target), target_hfield, cmd_pos + 1))
if type(reply) == 'table' and reply.err then
    clear()
    return {0, 'error', reply.err}
end

local held = {}
for i = 1, x do
    local f = indexed[i]
    held[i] = entries_of(key_at(f[1]), f[2], f[3])
end

if mode == 'plain' then
    for i = 1, x do
        local prefix, unique = indexed[i][4], indexed[i][5]
        if unique then
            for _, v in ipairs(held[i]) do
                local other = other_pk(pk, redis.call('SRANDMEMBER', prefix .. v, 2))
                if other then
                    clear()
                    return {0, 'unique', prefix .. v, other}
                end
            end
        end
    end
    for i = 1, x do
        for _, v in ipairs(held[i]) do redis.call('SADD', indexed[i][4] .. v, pk) end
    end
else
    local same = mode == 'check'
    local p = check_pos
    for i = 1, x do
        if not same then break end
        local count = tonumber(ARGV[p])
        same = same_entries(held[i], p + 1, count)
        p = p + 1 + count
    end
    if not same then
        clear()
        local out = {0, 'values'}
        for i = 1, x do append_entries(out, held[i]) end
        return out
    end
    local taken_key, other = unique_conflict(pk, ops_pos, no, 3 + n)
    if other then
        clear()
        return {0, 'unique', taken_key, other}
    end
    apply_ops(ops_pos, no, 3 + n)
end

redis.call('SET', counter, pk)
redis.call('SADD', coll, pk)
if type(reply) == 'table' and reply.ok then reply = reply.ok end
return {1, reply}
