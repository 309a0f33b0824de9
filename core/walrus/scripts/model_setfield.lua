#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Set one field of an existing model row, guarded on its current value, and move its
-- index entries (Model.incr of an indexed field: the new value, hence its equality-index
-- key, is computed by the client from the value it believes is stored).
-- KEYS[1]: the row hash (its name is also the index member); KEYS[2..]: index keys,
--   referred to by their position in KEYS.
-- ARGV[1]: field name; ARGV[2]: its new stored value
-- ARGV[3]: n_guard, then n_guard triples: field, present "0"/"1", expected stored value
--   (the set field first, then the other fields its unique checks depend on)
-- then: n_check, then n_check quintuples: "S"|"Z"|"I", KEYS position, min, max, label
--   ("S": refused when a row other than this one is in the set; "Z": another row has a
--   score within min..max; "I": another row is in every set whose KEYS positions are
--   listed, space separated, in min)
-- then: n_rem, then n_rem triples "S"|"Z", KEYS position, member   (SREM / ZREM)
-- then: n_add, then n_add quadruples "S"|"Z", KEYS position, member, score (SADD / ZADD)
-- Returns {1} when written; otherwise nothing was written and the reply is
--   {0, "missing"}                     the row does not exist
--   {0, "state", v1, v2, ...}          a guarded field holds another value: the current
--                                      values (false = absent), to retry with
--   {0, "unique", label}               the new value (or combination) is taken
local row = KEYS[1]
local pos = 3
local function nxt()
    local v = ARGV[pos]
    pos = pos + 1
    return v
end
if redis.call('EXISTS', row) == 0 then
    return {0, 'missing'}
end
local guards = {}
for _ = 1, tonumber(nxt()) do guards[#guards + 1] = {nxt(), nxt(), nxt()} end
local ok, current = true, {}
for i, g in ipairs(guards) do
    local value = redis.call('HGET', row, g[1])
    current[i] = value
    if g[2] == '1' then
        if value ~= g[3] then ok = false end
    elseif value then
        ok = false
    end
end
if not ok then
    local reply = {0, 'state'}
    for i = 1, #guards do reply[2 + i] = current[i] end
    return reply
end
for _ = 1, tonumber(nxt()) do
    local kind, key, low, high, name = nxt(), KEYS[tonumber(nxt())], nxt(), nxt(), nxt()
    local others = 0
    if kind == 'S' then
        others = redis.call('SCARD', key) - redis.call('SISMEMBER', key, row)
    elseif kind == 'Z' then
        others = redis.call('ZCOUNT', key, low, high)
        local own = redis.call('ZSCORE', key, row)
        if own and tonumber(own) >= tonumber(low) and tonumber(own) <= tonumber(high) then
            others = others - 1
        end
    else
        local sets = {}
        for p in string.gmatch(low, '%d+') do sets[#sets + 1] = KEYS[tonumber(p)] end
        for _, m in ipairs(redis.call('SINTER', unpack(sets))) do
            if m ~= row then others = others + 1 end
        end
    end
    if others > 0 then return {0, 'unique', name} end
end
for _ = 1, tonumber(nxt()) do
    local kind, key, member = nxt(), KEYS[tonumber(nxt())], nxt()
    if kind == 'S' then redis.call('SREM', key, member) else redis.call('ZREM', key, member) end
end
for _ = 1, tonumber(nxt()) do
    local kind, key, member, score = nxt(), KEYS[tonumber(nxt())], nxt(), nxt()
    if kind == 'S' then redis.call('SADD', key, member) else redis.call('ZADD', key, score, member) end
end
redis.call('HSET', row, ARGV[1], ARGV[2])
return {1}
