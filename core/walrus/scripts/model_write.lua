#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Save, update or delete model rows (of one or several models) with every index delta
-- and relation change, all or nothing.
-- Phase 1 checks every expectation without writing; when one fails nothing is written and
-- the reason is returned so the caller can re-read and retry. Phase 2 applies everything.
-- KEYS: row hashes, "all" sets, index keys, sequence counters, container and relation
--   keys, referred to by their position in KEYS.
-- ARGV[1]: "1" strict mode: a refusal is an error reply ("WALRUS_REFUSED <reason> ...")
--   instead of a table (used when the call is queued in a pipeline, where the caller
--   cannot inspect the reply before the pipeline runs); "0" otherwise
-- ARGV[2]: number of operations; then one block per operation:
--   action        "save" (the row hash is replaced by the given fields), "update" (the
--                 given fields are set and the hdel fields removed; the row must exist) or
--                 "delete"
--   h             KEYS position of the row hash (its name is also the index member)
--   all           KEYS position of the model's set of row keys (P all)
--   seq           KEYS position of the primary-key counter, 0 for none
--   seq_mode      "" none, "alloc" (counter must equal seq_expected; set to seq_value),
--                 "max" (raise the counter to seq_value when lower), "next" (allocate
--                 here: the counter + 1, or the first integer after it whose row key is
--                 free; the counter is set to it)
--   seq_expected  counter value the caller read ("" when the counter did not exist); for
--                 "next" the placeholder written where the primary key goes: the row key
--                 (KEYS[h]) ends with it, and every key, member, score, check bound and
--                 field value of this operation equal to it or ending with it (after the
--                 index separator or the "\0" of a text-index member) gets the allocated
--                 key instead
--   seq_value     integer primary key of the row
--   exists        "0" the row must not exist, "1" it must exist
--   n_guard, then n_guard triples: field, present "0"/"1", expected stored value
--   n_check, then n_check quintuples: kind, KEYS position, min, max, label; kinds:
--                 "S" refused when a row other than this one is in the set;
--                 "Z" refused when another row has a score within min..max;
--                 "L" refused when another row's member "value\0row key" of the
--                     lexicographic index is within min..max (ZRANGEBYLEX syntax);
--                 "I" refused when another row is in every set whose KEYS positions
--                     are listed (space separated) in min (unique together);
--                 "E" refused ("ref") when KEYS[position] does not exist (a reference)
--   n_rem, then n_rem triples: "S"|"Z", KEYS position, member   (SREM / ZREM)
--   n_add, then n_add quadruples: "S"|"Z", KEYS position, member, score   (SADD / ZADD)
--   n_fields, then n_fields pairs: field, value   (HSET)
--   n_hdel, then n_hdel field names (HDEL, "update" only)
--   n_del, then n_del KEYS positions deleted with the row (container fields)
-- then the shared part:
--   n_members, then per guarded set: KEYS position, n, n members: the set (or sorted
--                 set) must hold exactly these members
--   n_srem, then n_srem pairs: KEYS position, member   (SREM after the operations)
--   n_drop, then n_drop KEYS positions   (DEL after the operations)
-- Returns {1} when written ({1, allocated key} when an operation used "next"). Otherwise
--   nothing was written and the reply is
--   {0, op, "seq", current counter or false}     the counter moved
--   {0, op, "taken"}                             the allocated key already holds a row
--   {0, op, "state", exists, v1, v2, ...}        the row differs from the expectation:
--                                                its current guarded values (false = absent)
--   {0, op, "unique", label}                     a unique value (or combination) is taken
--   {0, op, "ref", label}                        a referenced row does not exist
--   {0, op, "score", member}                     a score is not a number (caller bug)
--   {0, 0, "members", position}                  a guarded set changed
local strict = ARGV[1] == '1'
local pos = 3
local function nxt()
    local v = ARGV[pos]
    pos = pos + 1
    return v
end
local function refuse(reply)
    if strict then
        local parts = {'WALRUS_REFUSED'}
        for i = 3, #reply do parts[#parts + 1] = tostring(reply[i]) end
        parts[#parts + 1] = 'op=' .. tostring(reply[2])
        return redis.error_reply(table.concat(parts, ' '))
    end
    return reply
end
local n_ops = tonumber(ARGV[2])
local ops = {}
for op = 1, n_ops do
    local o = {}
    o.action = nxt()
    o.h = KEYS[tonumber(nxt())]
    o.all = KEYS[tonumber(nxt())]
    o.seq = tonumber(nxt())
    o.seq_mode = nxt()
    o.seq_expected = nxt()
    o.seq_value = nxt()
    o.exists = nxt()
    o.guard = {}
    for _ = 1, tonumber(nxt()) do
        o.guard[#o.guard + 1] = {nxt(), nxt(), nxt()}
    end
    o.check = {}
    for _ = 1, tonumber(nxt()) do
        o.check[#o.check + 1] = {nxt(), tonumber(nxt()), nxt(), nxt(), nxt()}
    end
    o.rem = {}
    for _ = 1, tonumber(nxt()) do
        o.rem[#o.rem + 1] = {nxt(), KEYS[tonumber(nxt())], nxt()}
    end
    o.add = {}
    for _ = 1, tonumber(nxt()) do
        o.add[#o.add + 1] = {nxt(), KEYS[tonumber(nxt())], nxt(), nxt()}
    end
    o.fields = {}
    for _ = 1, 2 * tonumber(nxt()) do
        o.fields[#o.fields + 1] = nxt()
    end
    o.hdel = {}
    for _ = 1, tonumber(nxt()) do
        o.hdel[#o.hdel + 1] = nxt()
    end
    o.del = {}
    for _ = 1, tonumber(nxt()) do
        o.del[#o.del + 1] = KEYS[tonumber(nxt())]
    end
    ops[op] = o
end
local member_guards = {}
for _ = 1, tonumber(nxt()) do
    local g = {tonumber(nxt()), {}}
    for _ = 1, tonumber(nxt()) do g[2][#g[2] + 1] = nxt() end
    member_guards[#member_guards + 1] = g
end
local srems = {}
for _ = 1, tonumber(nxt()) do
    srems[#srems + 1] = {KEYS[tonumber(nxt())], nxt()}
end
local drops = {}
for _ = 1, tonumber(nxt()) do
    drops[#drops + 1] = KEYS[tonumber(nxt())]
end

local function key_type(key)
    local t = redis.call('TYPE', key)
    if type(t) == 'table' then t = t.ok end
    return t
end

-- "next": the placeholder of o.seq_expected replaced by the allocated key o.pk.
local function fill(o, s)
    if not o.pk or type(s) ~= 'string' then return s end
    local token = o.seq_expected
    if s == token then return o.pk end
    local cut = #s - #token
    if cut > 0 and string.sub(s, cut + 1) == token then
        local before = string.sub(s, cut, cut)
        if before == '.' or before == '\0' or before == o.sep then
            return string.sub(s, 1, cut) .. o.pk
        end
    end
    return s
end
local allocated = nil
for op = 1, n_ops do
    local o = ops[op]
    if o.seq_mode == 'next' then
        local raw = redis.call('GET', KEYS[o.seq])
        local n = tonumber(raw or '0')
        if n == nil or n ~= math.floor(n) then
            return redis.error_reply('model_write: the key counter ' .. KEYS[o.seq] .. ' holds ' .. tostring(raw) .. ', not an integer')
        end
        local prefix = string.sub(o.h, 1, #o.h - #o.seq_expected)
        o.sep = string.sub(prefix, -1)
        repeat
            n = n + 1
        until redis.call('EXISTS', prefix .. string.format('%d', n)) == 0
        o.pk = string.format('%d', n)
        o.h = prefix .. o.pk
        o.seq_value = o.pk
        allocated = o.pk
        for _, a in ipairs(o.add) do
            a[2], a[3], a[4] = fill(o, a[2]), fill(o, a[3]), fill(o, a[4])
        end
        for j = 2, #o.fields, 2 do o.fields[j] = fill(o, o.fields[j]) end
    end
end

-- Phase 1: checks only.
for _, g in ipairs(member_guards) do
    local key = KEYS[g[1]]
    local t = key_type(key)
    local current = {}
    if t == 'set' then
        current = redis.call('SMEMBERS', key)
    elseif t == 'zset' then
        current = redis.call('ZRANGE', key, 0, -1)
    end
    local ok = #current == #g[2]
    if ok and #current > 0 then
        local wanted = {}
        for _, m in ipairs(g[2]) do wanted[m] = true end
        for _, m in ipairs(current) do
            if not wanted[m] then ok = false break end
        end
    end
    if not ok then return refuse({0, 0, 'members', g[1]}) end
end
for op = 1, n_ops do
    local o = ops[op]
    if o.seq_mode == 'alloc' then
        local current = redis.call('GET', KEYS[o.seq])
        if (current or '') ~= o.seq_expected then
            return refuse({0, op, 'seq', current})
        end
        if redis.call('EXISTS', o.h) == 1 then
            return refuse({0, op, 'taken'})
        end
    end
    local exists = redis.call('EXISTS', o.h)
    local ok = tostring(exists) == o.exists
    local current = {}
    for i, g in ipairs(o.guard) do
        local value = redis.call('HGET', o.h, g[1])
        current[i] = value
        if g[2] == '1' then
            if value ~= g[3] then ok = false end
        elseif value then
            ok = false
        end
    end
    if not ok then
        local reply = {0, op, 'state', exists}
        for i = 1, #o.guard do reply[4 + i] = current[i] end
        return refuse(reply)
    end
    for _, c in ipairs(o.check) do
        local kind, key = c[1], fill(o, KEYS[c[2]])
        c[3], c[4] = fill(o, c[3]), fill(o, c[4])
        if kind == 'E' then
            if redis.call('EXISTS', key) == 0 then
                return refuse({0, op, 'ref', c[5]})
            end
        else
            local others
            if kind == 'S' then
                others = redis.call('SCARD', key) - redis.call('SISMEMBER', key, o.h)
            elseif kind == 'Z' then
                others = redis.call('ZCOUNT', key, c[3], c[4])
                local own = redis.call('ZSCORE', key, o.h)
                if own and tonumber(own) >= tonumber(c[3]) and tonumber(own) <= tonumber(c[4]) then
                    others = others - 1
                end
            elseif kind == 'L' then
                others = 0
                local own = '\0' .. o.h
                for _, m in ipairs(redis.call('ZRANGE', key, c[3], c[4], 'BYLEX', 'LIMIT', 0, 2)) do
                    if string.sub(m, -#own) ~= own then others = others + 1 end
                end
            else -- 'I'
                local sets = {}
                for p in string.gmatch(c[3], '%d+') do sets[#sets + 1] = fill(o, KEYS[tonumber(p)]) end
                others = 0
                for _, m in ipairs(redis.call('SINTER', unpack(sets))) do
                    if m ~= o.h then others = others + 1 end
                end
            end
            if others > 0 then
                return refuse({0, op, 'unique', c[5]})
            end
        end
    end
    for _, a in ipairs(o.add) do
        if a[1] == 'Z' and tonumber(a[4]) == nil then
            return refuse({0, op, 'score', a[3]})
        end
    end
end

-- Phase 2: writes.
local function hset_sliced(h, fields)
    -- HSET in slices: unpack() of thousands of values would overflow Lua's C stack.
    local slice = {}
    for i = 1, #fields do
        slice[#slice + 1] = fields[i]
        if #slice == 1000 or i == #fields then
            redis.call('HSET', h, unpack(slice))
            slice = {}
        end
    end
end
for op = 1, n_ops do
    local o = ops[op]
    for _, r in ipairs(o.rem) do
        if r[1] == 'S' then
            redis.call('SREM', r[2], r[3])
        else
            redis.call('ZREM', r[2], r[3])
        end
    end
    if o.action ~= 'update' then
        redis.call('DEL', o.h)
    end
    if o.action == 'save' or o.action == 'update' then
        for _, a in ipairs(o.add) do
            if a[1] == 'S' then
                redis.call('SADD', a[2], a[3])
            else
                redis.call('ZADD', a[2], a[4], a[3])
            end
        end
        hset_sliced(o.h, o.fields)
        if #o.hdel > 0 then
            redis.call('HDEL', o.h, unpack(o.hdel))
        end
        if o.action == 'save' then
            redis.call('SADD', o.all, o.h)
        end
        if o.seq_mode == 'alloc' or o.seq_mode == 'next' then
            redis.call('SET', KEYS[o.seq], o.seq_value)
        elseif o.seq_mode == 'max' then
            local current = tonumber(redis.call('GET', KEYS[o.seq]) or '0')
            if current == nil or current < tonumber(o.seq_value) then
                redis.call('SET', KEYS[o.seq], o.seq_value)
            end
        end
    else
        redis.call('SREM', o.all, o.h)
        for _, k in ipairs(o.del) do
            redis.call('DEL', k)
        end
    end
end
for _, s in ipairs(srems) do
    redis.call('SREM', s[1], s[2])
end
for _, k in ipairs(drops) do
    redis.call('DEL', k)
end
if allocated then return {1, allocated} end
return {1}
