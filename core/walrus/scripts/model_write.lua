-- Save or delete model rows with every index delta, all or nothing.
-- Phase 1 checks every operation's expectations without writing; when one fails nothing
-- is written and the reason is returned so the caller can re-read and retry. Phase 2
-- applies every operation.
-- KEYS[1]: the model's set of row keys (P all); KEYS[2..]: row hashes, index keys,
--   sequence counters and container keys, referred to by their position in KEYS.
-- ARGV[1]: number of operations; then one block per operation:
--   action        "save" (the row hash is replaced by the given fields) or "delete"
--   h             KEYS position of the row hash (its name is also the index member)
--   seq           KEYS position of the primary-key counter, 0 for none
--   seq_mode      "" none, "alloc" (counter must equal seq_expected; set to seq_value),
--                 "max" (raise the counter to seq_value when lower)
--   seq_expected  counter value the caller read ("" when the counter did not exist)
--   seq_value     integer primary key of the row
--   exists        "0" the row must not exist, "1" it must exist
--   n_guard, then n_guard triples: field, present "0"/"1", expected stored value
--   n_unique, then n_unique quintuples: "S"|"Z", KEYS position, min, max, field name
--                 (refused when a row other than this one is in the set, or in the sorted
--                 set with a score within min..max)
--   n_rem, then n_rem triples: "S"|"Z", KEYS position, member   (SREM / ZREM)
--   n_add, then n_add quadruples: "S"|"Z", KEYS position, member, score   (SADD / ZADD)
--   n_fields, then n_fields pairs: field, value   (the row hash after a save)
--   n_del, then n_del KEYS positions deleted with the row (container fields)
-- Returns {1} when written. Otherwise nothing was written and the reply is
--   {0, op, "seq", current counter or false}     the counter moved
--   {0, op, "taken"}                             the allocated key already holds a row
--   {0, op, "state", exists, v1, v2, ...}        the row differs from the expectation:
--                                                its current guarded values (false = absent)
--   {0, op, "unique", field name}                a unique value is taken
--   {0, op, "score", member}                     a score is not a number (caller bug)
local pos = 2
local function nxt()
    local v = ARGV[pos]
    pos = pos + 1
    return v
end
local n_ops = tonumber(ARGV[1])
local ops = {}
for op = 1, n_ops do
    local o = {}
    o.action = nxt()
    o.h = KEYS[tonumber(nxt())]
    o.seq = tonumber(nxt())
    o.seq_mode = nxt()
    o.seq_expected = nxt()
    o.seq_value = nxt()
    o.exists = nxt()
    o.guard = {}
    for _ = 1, tonumber(nxt()) do
        o.guard[#o.guard + 1] = {nxt(), nxt(), nxt()}
    end
    o.unique = {}
    for _ = 1, tonumber(nxt()) do
        o.unique[#o.unique + 1] = {nxt(), KEYS[tonumber(nxt())], nxt(), nxt(), nxt()}
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
    o.del = {}
    for _ = 1, tonumber(nxt()) do
        o.del[#o.del + 1] = KEYS[tonumber(nxt())]
    end
    ops[op] = o
end

-- Phase 1: checks only.
for op = 1, n_ops do
    local o = ops[op]
    if o.seq_mode == 'alloc' then
        local current = redis.call('GET', KEYS[o.seq])
        if (current or '') ~= o.seq_expected then
            return {0, op, 'seq', current}
        end
        if redis.call('EXISTS', o.h) == 1 then
            return {0, op, 'taken'}
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
        return reply
    end
    for _, u in ipairs(o.unique) do
        local others
        if u[1] == 'S' then
            others = redis.call('SCARD', u[2]) - redis.call('SISMEMBER', u[2], o.h)
        else
            others = redis.call('ZCOUNT', u[2], u[3], u[4])
            local own = redis.call('ZSCORE', u[2], o.h)
            if own and tonumber(own) >= tonumber(u[3]) and tonumber(own) <= tonumber(u[4]) then
                others = others - 1
            end
        end
        if others > 0 then
            return {0, op, 'unique', u[5]}
        end
    end
    for _, a in ipairs(o.add) do
        if a[1] == 'Z' and tonumber(a[4]) == nil then
            return {0, op, 'score', a[3]}
        end
    end
end

-- Phase 2: writes.
for op = 1, n_ops do
    local o = ops[op]
    for _, r in ipairs(o.rem) do
        if r[1] == 'S' then
            redis.call('SREM', r[2], r[3])
        else
            redis.call('ZREM', r[2], r[3])
        end
    end
    redis.call('DEL', o.h)
    if o.action == 'save' then
        for _, a in ipairs(o.add) do
            if a[1] == 'S' then
                redis.call('SADD', a[2], a[3])
            else
                redis.call('ZADD', a[2], a[4], a[3])
            end
        end
        -- HSET in slices: unpack() of thousands of values would overflow Lua's C stack.
        local slice = {}
        for i = 1, #o.fields do
            slice[#slice + 1] = o.fields[i]
            if #slice == 1000 or i == #o.fields then
                redis.call('HSET', o.h, unpack(slice))
                slice = {}
            end
        end
        redis.call('SADD', KEYS[1], o.h)
        if o.seq_mode == 'alloc' then
            redis.call('SET', KEYS[o.seq], o.seq_value)
        elseif o.seq_mode == 'max' then
            local current = tonumber(redis.call('GET', KEYS[o.seq]) or '0')
            if current == nil or current < tonumber(o.seq_value) then
                redis.call('SET', KEYS[o.seq], o.seq_value)
            end
        end
    else
        redis.call('SREM', KEYS[1], o.h)
        for _, k in ipairs(o.del) do
            redis.call('DEL', k)
        end
    end
end
return {1}
