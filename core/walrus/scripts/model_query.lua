#!lua flags=allow-oom
-- Flags: allow-oom. A query: its only writes are temporaries deleted before it returns, so it
-- still answers on a server over maxmemory (briefly above the limit while it runs).
-- resend: safe (fresh temporaries each run, nothing else written)
-- Evaluate a model query over its indexes and return the matching row keys (ordered and
-- sliced), their count, or the keys plus the first page of rows. Temporaries are created
-- with a TTL (a safety net only) and deleted before returning.
-- KEYS[1]: the model's set of row keys (P all); KEYS[2..t]: index keys read by the
--   program; KEYS[t+1..]: temporaries, one per operation that may store a result.
-- ARGV[1]: TTL of the temporaries in milliseconds
-- ARGV[2]: KEYS position of the first temporary
-- ARGV[3]: "keys", "count" or "rows" (the keys, then HGETALL of the first page of them)
-- ARGV[4]: order: "score" (ascending score of the result: full-text relevance; a result
--   without scores falls back to "pk"), "pk" (primary key, read from the row key: no
--   read per row), "field" (ARGV[5..7]) or "none" (index order: no sort at all)
-- ARGV[5]: SORT BY pattern for "field" (e.g. "*->name")
-- ARGV[6]: "alpha" or "num" (for "pk" and "field"); ARGV[7]: "asc" or "desc"
-- ARGV[8]: offset; ARGV[9]: count (-1 for all)
-- ARGV[10]: how to order by a field: "sort" (SORT BY the pattern: one server) or "lua"
--   (read each row's field with HGET and sort here, ties broken by row key: Redis Cluster
--   refuses SORT BY; the row hashes share the slot of KEYS[1]). Numeric order reads a
--   missing value as 0 and refuses a non-number; alphabetic order puts missing values first.
-- ARGV[11]: length in bytes of the row-key prefix "P id." (the primary key follows it)
-- ARGV[12]: KEYS position of the range index of the "field" order, 0 when it has none
--   (a result that is one range of that index is then read in order with ZRANGE LIMIT)
-- ARGV[13]: rows per page for "rows" (at most this many rows read in this call)
-- ARGV[14]: f, the number of field names; ARGV[15..14+f]: the fields "rows" reads (HMGET)
-- ARGV[15+f..]: the filter in postfix form; each operation pushes one result on a stack:
--   "K", k              KEYS[k] (an index set or sorted set, or KEYS[1])
--   "R", k, min, max, d rows of sorted set KEYS[k] with a score in min..max (ZRANGEBYSCORE
--                       syntax). Not copied: it stays a range until an operation needs
--                       its members stored, then KEYS[d] receives them.
--   "X", k, min, max, d rows of lexicographic index KEYS[k] (members "value\0row key")
--                       within min..max (ZRANGEBYLEX syntax) stored in KEYS[d]
--   "D", d              pops b then a; KEYS[d] = rows of a that are not in b
--   "&" or "|", n, d, w1..wn   pops n results; KEYS[d] = their intersection / union with
--                       these weights (scores summed). An intersection starts from its
--                       smallest stored operand (or its smallest range when that is
--                       smaller) and checks the remaining ranges with ZSCORE per row, so
--                       its cost follows the smallest operand, not the index sizes.
--   "E", d              an empty result (KEYS[d] is never created)
-- Returns the row keys ("keys"), an integer ("count"), or {row keys, {HMGET of the fields
--   for the first min(page, #keys) rows, in order; an empty list for a row that has none of
--   them (it vanished)}} ("rows").
local ttl = ARGV[1]
local first_temp = tonumber(ARGV[2])
local BATCH = 1000 -- values per variadic call: unpack() of many more overflows Lua's C stack
local stack, top = {}, 0
local function push(e) top = top + 1; stack[top] = e end
local function pop() local e = stack[top]; stack[top] = nil; top = top - 1; return e end
local function key_type(key)
    local t = redis.call('TYPE', key)
    if type(t) == 'table' then t = t.ok end
    return t
end
local function number(text)
    local n = tonumber(text)
    if n == nil then
        local low = string.lower(text)
        if low == 'inf' or low == '+inf' then n = math.huge elseif low == '-inf' then n = -math.huge end
    end
    return n
end
-- A ZRANGEBYSCORE bound as (number, exclusive).
local function bound(text)
    if string.sub(text, 1, 1) == '(' then return number(string.sub(text, 2)), true end
    return number(text), false
end
local function range(k, lo, hi, d)
    local e = {r = k, lo = lo, hi = hi, d = d}
    e.lo_n, e.lo_x = bound(lo)
    e.hi_n, e.hi_x = bound(hi)
    return e
end
local function in_range(e, row)
    local s = redis.call('ZSCORE', e.r, row)
    if not s then return false end
    s = number(s)
    if e.lo_x then if s <= e.lo_n then return false end elseif s < e.lo_n then return false end
    if e.hi_x then if s >= e.hi_n then return false end elseif s > e.hi_n then return false end
    return true
end
local function card(e)
    if e.r then return redis.call('ZCOUNT', e.r, e.lo, e.hi) end
    local t = key_type(e.k)
    if t == 'set' then return redis.call('SCARD', e.k) end
    if t == 'zset' then return redis.call('ZCARD', e.k) end
    return 0
end
-- The key holding e's rows (a range is stored in its temporary first).
local function stored(e)
    if e.k then return e.k end
    redis.call('ZRANGESTORE', e.d, e.r, e.lo, e.hi, 'BYSCORE')
    redis.call('PEXPIRE', e.d, ttl)
    e.k = e.d
    e.r = nil
    return e.k
end
local function members(e)
    if e.r then return redis.call('ZRANGE', e.r, e.lo, e.hi, 'BYSCORE') end
    local t = key_type(e.k)
    if t == 'set' then return redis.call('SMEMBERS', e.k) end
    if t == 'zset' then return redis.call('ZRANGE', e.k, 0, -1) end
    return {}
end
local function batched(command, key, items, stride)
    local slice = {}
    for j = 1, #items do
        slice[#slice + 1] = items[j]
        if #slice >= BATCH * stride or j == #items then
            redis.call(command, key, unpack(slice))
            slice = {}
        end
    end
end
-- Intersection of `sources` (weights `weights`) into `dest`; see "&" above.
local function intersect(sources, weights, dest)
    local base, ranges = {}, {}
    local smallest, smallest_size = nil, nil
    for j, e in ipairs(sources) do
        if e.r then
            local size = card(e)
            ranges[#ranges + 1] = {e, weights[j], size}
        else
            local size = card(e)
            base[#base + 1] = {e.k, weights[j], size}
            if smallest_size == nil or size < smallest_size then smallest_size = size end
        end
    end
    table.sort(ranges, function(a, b) return a[3] < b[3] end)
    if #ranges > 0 and (smallest_size == nil or ranges[1][3] < smallest_size) then
        local first = table.remove(ranges, 1)
        base[#base + 1] = {stored(first[1]), first[2], first[3]}
    end
    if #ranges == 0 or #base > 1 then
        local args = {dest, #base}
        for _, b in ipairs(base) do args[#args + 1] = b[1] end
        args[#args + 1] = 'WEIGHTS'
        for _, b in ipairs(base) do args[#args + 1] = b[2] end
        redis.call('ZINTERSTORE', unpack(args))
        redis.call('PEXPIRE', dest, ttl)
        if #ranges == 0 then return end
        local drop = {}
        for _, row in ipairs(redis.call('ZRANGE', dest, 0, -1)) do
            for _, r in ipairs(ranges) do
                if not in_range(r[1], row) then drop[#drop + 1] = row; break end
            end
        end
        if #drop > 0 then batched('ZREM', dest, drop, 1) end
        return
    end
    -- One stored operand and ranges to check: copy only the rows that pass.
    local src, weight = base[1][1], tonumber(base[1][2])
    local rows
    if key_type(src) == 'zset' then
        rows = redis.call('ZRANGE', src, 0, -1, 'WITHSCORES')
    else
        rows = {}
        for _, row in ipairs(redis.call('SMEMBERS', src)) do
            rows[#rows + 1] = row
            rows[#rows + 1] = '1'
        end
    end
    local keep = {}
    for j = 1, #rows, 2 do
        local row, ok = rows[j], true
        for _, r in ipairs(ranges) do
            if not in_range(r[1], row) then ok = false; break end
        end
        if ok then
            keep[#keep + 1] = string.format('%.17g', number(rows[j + 1]) * weight)
            keep[#keep + 1] = row
        end
    end
    if #keep > 0 then
        batched('ZADD', dest, keep, 2)
        redis.call('PEXPIRE', dest, ttl)
    end
end
local function slice(list, offset, count)
    local out = {}
    local stop = #list
    if count >= 0 then stop = math.min(stop, offset + count) end
    for j = offset + 1, stop do out[#out + 1] = list[j] end
    return out
end
-- Rows in primary-key order: the key is read from the row key (prefix_len bytes, then the
-- key), so no row is read.
local function sort_by_pk(rows, prefix_len, alpha, desc)
    local values = {}
    for _, row in ipairs(rows) do
        local raw = string.sub(row, prefix_len + 1)
        if alpha then values[row] = raw else values[row] = number(raw) or 0 end
    end
    local function before(a, b)
        local va, vb = values[a], values[b]
        if va == vb then return a < b end
        return va < vb
    end
    if desc then
        table.sort(rows, function(a, b) return before(b, a) end)
    else
        table.sort(rows, before)
    end
    return rows
end
-- SORT BY's order computed in Lua (see ARGV[10]); returns the sorted row keys.
local function sort_rows(rows, field, alpha, desc)
    local values = {}
    for _, row in ipairs(rows) do
        local raw = redis.call('HGET', row, field)
        if alpha then
            values[row] = raw or false
        elseif not raw then
            values[row] = 0
        else
            local n = number(raw)
            if n == nil then
                return nil, redis.error_reply('model_query: ' .. field .. ' of ' .. row .. ' is not a number')
            end
            values[row] = n
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
    return rows
end
local function cleanup()
    local temps = {}
    for j = first_temp, #KEYS do temps[#temps + 1] = KEYS[j] end
    for j = 1, #temps, BATCH do
        redis.call('DEL', unpack(temps, j, math.min(#temps, j + BATCH - 1)))
    end
end

local n_fields = tonumber(ARGV[14])
local i = 15 + n_fields
while i <= #ARGV do
    local op = ARGV[i]
    if op == 'K' then
        push({k = KEYS[tonumber(ARGV[i + 1])]})
        i = i + 2
    elseif op == 'R' then
        push(range(KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3], KEYS[tonumber(ARGV[i + 4])]))
        i = i + 5
    elseif op == 'X' then
        local dest = KEYS[tonumber(ARGV[i + 4])]
        local found = redis.call('ZRANGE', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3], 'BYLEX')
        local rows = {}
        for j, member in ipairs(found) do
            local cut = string.find(member, '\0', 1, true)
            rows[j] = string.sub(member, cut + 1)
        end
        if #rows > 0 then
            batched('SADD', dest, rows, 1)
            redis.call('PEXPIRE', dest, ttl)
        end
        push({k = dest})
        i = i + 5
    elseif op == 'D' then
        local dest = KEYS[tonumber(ARGV[i + 1])]
        local b = pop()
        local a = pop()
        redis.call('ZUNIONSTORE', dest, 1, stored(a))
        redis.call('PEXPIRE', dest, ttl)
        local drop = members(b)
        if #drop > 0 then batched('ZREM', dest, drop, 1) end
        push({k = dest})
        i = i + 2
    elseif op == '&' or op == '|' then
        local n = tonumber(ARGV[i + 1])
        local dest = KEYS[tonumber(ARGV[i + 2])]
        local sources, weights = {}, {}
        for j = 1, n do sources[n - j + 1] = pop() end
        for j = 1, n do weights[j] = ARGV[i + 2 + j] end
        if op == '&' then
            intersect(sources, weights, dest)
        else
            local args = {dest, n}
            for j = 1, n do args[#args + 1] = stored(sources[j]) end
            args[#args + 1] = 'WEIGHTS'
            for j = 1, n do args[#args + 1] = weights[j] end
            redis.call('ZUNIONSTORE', unpack(args))
            redis.call('PEXPIRE', dest, ttl)
        end
        push({k = dest})
        i = i + 3 + n
    elseif op == 'E' then
        push({k = KEYS[tonumber(ARGV[i + 1])]})
        i = i + 2
    else
        cleanup()
        return redis.error_reply('model_query: unknown operation ' .. tostring(op))
    end
end
local result = stack[1] or {k = KEYS[1]}
local mode = ARGV[3]
if mode == 'count' then
    local n = card(result)
    cleanup()
    return n
end
local order, alpha, desc = ARGV[4], ARGV[6] == 'alpha', ARGV[7] == 'desc'
local offset, count = tonumber(ARGV[8]), tonumber(ARGV[9])
local keys
if count == 0 then
    keys = {}
elseif order == 'score' and result.k and key_type(result.k) == 'zset' then
    local stop = -1
    if count >= 0 then stop = offset + count - 1 end
    keys = redis.call('ZRANGE', result.k, offset, stop)
elseif order == 'field' then
    local index = tonumber(ARGV[12])
    if result.r and index > 0 and KEYS[index] == result.r then
        -- One range of the order's own index: already in order, read just the page.
        local limit = count
        if limit < 0 then limit = -1 end
        if desc then
            keys = redis.call('ZRANGE', result.r, result.hi, result.lo, 'BYSCORE', 'REV', 'LIMIT', offset, limit)
        else
            keys = redis.call('ZRANGE', result.r, result.lo, result.hi, 'BYSCORE', 'LIMIT', offset, limit)
        end
    elseif ARGV[10] == 'lua' then
        local err
        keys, err = sort_rows(members(result), string.sub(ARGV[5], 4), alpha, desc)
        if not keys then cleanup(); return err end
        keys = slice(keys, offset, count)
    else
        local args = {stored(result), 'BY', ARGV[5]}
        if alpha then args[#args + 1] = 'ALPHA' end
        if desc then args[#args + 1] = 'DESC' end
        if offset > 0 or count >= 0 then
            args[#args + 1] = 'LIMIT'
            args[#args + 1] = offset
            local c = count
            if c < 0 then c = 2147483647 end
            args[#args + 1] = c
        end
        keys = redis.call('SORT', unpack(args))
    end
elseif order == 'none' then
    keys = members(result)
    if offset > 0 or count >= 0 then keys = slice(keys, offset, count) end
else -- 'pk', or 'score' over a result without scores
    keys = sort_by_pk(members(result), tonumber(ARGV[11]), alpha, desc)
    if offset > 0 or count >= 0 then keys = slice(keys, offset, count) end
end
cleanup()
if mode ~= 'rows' then return keys end
local fields = {}
for j = 1, n_fields do fields[j] = ARGV[14 + j] end
local page = {}
for j = 1, math.min(#keys, tonumber(ARGV[13])) do
    local values = redis.call('HMGET', keys[j], unpack(fields))
    local found = false
    for _, v in ipairs(values) do if v then found = true; break end end
    -- ipairs stops at the first nil; HMGET gives false for a missing field, so all are seen
    if found then page[j] = values else page[j] = {} end
end
return {keys, page}
