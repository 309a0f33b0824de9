#!lua flags=allow-oom
-- Flags: allow-oom. A query: its only writes are temporaries deleted before it returns, so it
-- still answers on a server over maxmemory (briefly above the limit while it runs).
-- resend: safe (fresh temporaries each run, nothing else written)
-- Evaluate a model query over its indexes and return the matching row keys (sorted and
-- sliced) or their count. Temporaries are created with a TTL (a safety net only) and
-- deleted before returning.
-- KEYS[1]: the model's set of row keys (P all); KEYS[2..t]: index keys read by the
--   program; KEYS[t+1..]: temporaries, one per operation that stores a result.
-- ARGV[1]: TTL of the temporaries in milliseconds
-- ARGV[2]: KEYS position of the first temporary
-- ARGV[3]: "keys" or "count"
-- ARGV[4]: order: "score" (ascending score of the result: full-text relevance) or "by"
-- ARGV[5]: SORT BY pattern for "by" (e.g. "*->name"), or "nosort"
-- ARGV[6]: "alpha" or "num"; ARGV[7]: "asc" or "desc"
-- ARGV[8]: offset; ARGV[9]: count (-1 for all)
-- ARGV[10]: how to order by a field: "sort" (SORT BY the pattern: one server) or "lua"
--   (read each row's field with HGET and sort here, ties broken by row key: Redis Cluster
--   refuses SORT BY; the row hashes share the slot of KEYS[1]). Numeric order reads a
--   missing value as 0 and refuses a non-number; alphabetic order puts missing values first.
-- ARGV[11..]: the filter in postfix form; each operation pushes one key on a stack:
--   "K", k              KEYS[k] (an index set or sorted set, or KEYS[1])
--   "R", k, min, max, d rows of sorted set KEYS[k] with a score in min..max (ZRANGEBYSCORE
--                       syntax) stored in KEYS[d]
--   "X", k, min, max, d rows of lexicographic index KEYS[k] (members "value\0row key")
--                       within min..max (ZRANGEBYLEX syntax) stored in KEYS[d]
--   "D", d              pops b then a; KEYS[d] = rows of a that are not in b
--   "&" or "|", n, d, w1..wn   pops n keys; KEYS[d] = their ZINTERSTORE / ZUNIONSTORE
--                       with these weights (scores summed)
--   "E", d              an empty result (KEYS[d] is never created)
-- Returns the row keys (for "keys") or an integer (for "count").
local ttl = ARGV[1]
local first_temp = tonumber(ARGV[2])
local stack, top = {}, 0
local function push(key) top = top + 1; stack[top] = key end
local function pop() local key = stack[top]; stack[top] = nil; top = top - 1; return key end
local function key_type(key)
    local t = redis.call('TYPE', key)
    if type(t) == 'table' then t = t.ok end
    return t
end
local function members(key)
    local t = key_type(key)
    if t == 'set' then return redis.call('SMEMBERS', key) end
    if t == 'zset' then return redis.call('ZRANGE', key, 0, -1) end
    return {}
end
-- SORT BY's order computed in Lua (see ARGV[10]); returns the sliced row keys.
local function sort_rows(key, field, alpha, desc, offset, count)
    local rows = members(key)
    local values = {}
    for _, row in ipairs(rows) do
        local raw = redis.call('HGET', row, field)
        if alpha then
            values[row] = raw or false
        elseif not raw then
            values[row] = 0
        else
            local number = tonumber(raw)
            if number == nil then
                local text = string.lower(raw)
                if text == 'inf' or text == '+inf' then number = math.huge end
                if text == '-inf' then number = -math.huge end
            end
            if number == nil then
                return redis.error_reply('model_query: ' .. field .. ' of ' .. row .. ' is not a number')
            end
            values[row] = number
        end
    end
    local function before(a, b)
        local va, vb = values[a], values[b]
        if va == vb then return a < b end
        if va == false then return true end
        if vb == false then return false end
        return va < vb
    end
    if desc then
        table.sort(rows, function(a, b) return before(b, a) end)
    else
        table.sort(rows, before)
    end
    local out = {}
    local stop = #rows
    if count >= 0 then stop = math.min(stop, offset + count) end
    for j = offset + 1, stop do out[#out + 1] = rows[j] end
    return out
end
local i = 11
while i <= #ARGV do
    local op = ARGV[i]
    if op == 'K' then
        push(KEYS[tonumber(ARGV[i + 1])])
        i = i + 2
    elseif op == 'R' then
        local dest = KEYS[tonumber(ARGV[i + 4])]
        redis.call('ZRANGESTORE', dest, KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3], 'BYSCORE')
        redis.call('PEXPIRE', dest, ttl)
        push(dest)
        i = i + 5
    elseif op == 'X' then
        local dest = KEYS[tonumber(ARGV[i + 4])]
        local found = redis.call('ZRANGE', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3], 'BYLEX')
        local batch = {}
        for j, member in ipairs(found) do
            local cut = string.find(member, '\0', 1, true)
            batch[#batch + 1] = string.sub(member, cut + 1)
            if #batch == 1000 or j == #found then
                redis.call('SADD', dest, unpack(batch))
                batch = {}
            end
        end
        redis.call('PEXPIRE', dest, ttl)
        push(dest)
        i = i + 5
    elseif op == 'D' then
        local dest = KEYS[tonumber(ARGV[i + 1])]
        local b = pop()
        local a = pop()
        redis.call('ZUNIONSTORE', dest, 1, a)
        redis.call('PEXPIRE', dest, ttl)
        local drop = members(b)
        local batch = {}
        for j, member in ipairs(drop) do
            batch[#batch + 1] = member
            if #batch == 1000 or j == #drop then
                redis.call('ZREM', dest, unpack(batch))
                batch = {}
            end
        end
        push(dest)
        i = i + 2
    elseif op == '&' or op == '|' then
        local n = tonumber(ARGV[i + 1])
        local dest = KEYS[tonumber(ARGV[i + 2])]
        local args = {dest, n}
        local sources = {}
        for j = 1, n do sources[n - j + 1] = pop() end
        for j = 1, n do args[#args + 1] = sources[j] end
        args[#args + 1] = 'WEIGHTS'
        for j = 1, n do args[#args + 1] = ARGV[i + 2 + j] end
        if op == '&' then
            redis.call('ZINTERSTORE', unpack(args))
        else
            redis.call('ZUNIONSTORE', unpack(args))
        end
        redis.call('PEXPIRE', dest, ttl)
        push(dest)
        i = i + 3 + n
    elseif op == 'E' then
        push(KEYS[tonumber(ARGV[i + 1])])
        i = i + 2
    else
        return redis.error_reply('model_query: unknown operation ' .. tostring(op))
    end
end
local result = stack[1] or KEYS[1]
local reply
if ARGV[3] == 'count' then
    local t = key_type(result)
    if t == 'set' then
        reply = redis.call('SCARD', result)
    elseif t == 'zset' then
        reply = redis.call('ZCARD', result)
    else
        reply = 0
    end
else
    local offset, count = tonumber(ARGV[8]), tonumber(ARGV[9])
    if ARGV[4] == 'score' and key_type(result) == 'zset' then
        local stop = -1
        if count >= 0 then stop = offset + count - 1 end
        if count == 0 then
            reply = {}
        else
            reply = redis.call('ZRANGE', result, offset, stop)
        end
    else
        local args = {result, 'BY', ARGV[5]}
        if ARGV[6] == 'alpha' then args[#args + 1] = 'ALPHA' end
        if ARGV[7] == 'desc' then args[#args + 1] = 'DESC' end
        if offset > 0 or count >= 0 then
            args[#args + 1] = 'LIMIT'
            args[#args + 1] = offset
            if count < 0 then count = 2147483647 end
            args[#args + 1] = count
        end
        if ARGV[10] == 'lua' then
            reply = sort_rows(result, string.sub(ARGV[5], 4), ARGV[6] == 'alpha', ARGV[7] == 'desc', offset, count)
        else
            reply = redis.call('SORT', unpack(args))
        end
    end
end
for j = first_temp, #KEYS do
    redis.call('DEL', KEYS[j])
end
return reply
