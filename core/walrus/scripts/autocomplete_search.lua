#!lua flags=no-writes
-- Flags: no-writes (reads only: runs on replicas and on a server over maxmemory; safe to resend).
-- Search an Autocomplete index: intersect the prefix sets of the query words, apply saved
-- and per-query boosts, order best first and fetch the objects' data, in one call.
-- KEYS[1]: hash object id -> data (<namespace>:d)
-- KEYS[2]: hash of saved boosts (<namespace>:b), fields "<obj_id>\1<obj_type>"
-- KEYS[3 ..]: prefix sorted sets of the query words (<namespace>:s:<prefix>), distinct
-- ARGV[1]: most results to return (-1 = all)
-- ARGV[2]: HMGET batch size
-- ARGV[3]: "1" when the last prefix set is optional (the last query word is a stopword,
--          which titles do not index): the results are those matching every set or, when
--          none does, those matching the other sets
-- ARGV[4]: n = number of per-query boosts; ARGV[5 .. 4+2n]: obj_id or obj_type, multiplier
-- A result's score is the sum of its scores in the prefix sets (lower is better), divided by
-- each boost that applies: per-query boost of its id (else the saved "<id>\1" boost), of its
-- type (else the saved "\1<type>" boost), and the saved boost of "<id>\1<type>".
-- Returns the data of the results, best first (ties in object id order).
local limit = tonumber(ARGV[1])
local batch = tonumber(ARGV[2])
local optional = ARGV[3] == '1'
local n_query = tonumber(ARGV[4])
local words = {}
for i = 3, #KEYS do
    words[#words + 1] = KEYS[i]
end
local query = {}
for i = 0, n_query - 1 do
    query[ARGV[5 + 2 * i]] = tonumber(ARGV[6 + 2 * i])
end
local saved_flat = redis.call('HGETALL', KEYS[2])
local boosted = n_query > 0 or #saved_flat > 0

-- Members (and scores when asked) of the intersection of the given prefix sets, in the
-- server's order (score, then member), flat as ZRANGE WITHSCORES returns them.
local function matches(sets, stop, withscores)
    if #sets == 1 then
        if withscores then
            return redis.call('ZRANGE', sets[1], 0, stop, 'WITHSCORES')
        end
        return redis.call('ZRANGE', sets[1], 0, stop)
    end
    local args = {#sets}
    for i = 1, #sets do
        args[#args + 1] = sets[i]
    end
    if withscores then
        args[#args + 1] = 'WITHSCORES'
    end
    local all = redis.call('ZINTER', unpack(args))
    if stop < 0 then
        return all
    end
    local width = withscores and 2 or 1
    local out = {}
    for i = 1, math.min(#all, (stop + 1) * width) do
        out[i] = all[i]
    end
    return out
end

local stop = -1
if limit >= 0 and not boosted then
    stop = limit - 1
end
local flat = matches(words, stop, boosted)
if #flat == 0 and optional then
    words[#words] = nil
    flat = matches(words, stop, boosted)
end

local ids = {}
if not boosted then
    ids = flat
else
    local saved = {}
    for i = 1, #saved_flat, 2 do
        saved[saved_flat[i]] = tonumber(saved_flat[i + 1])
    end
    local entries = {}
    for i = 1, #flat, 2 do
        local member = flat[i]
        local score = tonumber(flat[i + 1])
        local sep = string.find(member, '\1', 1, true)
        local obj_id, obj_type = member, ''
        if sep then
            obj_id = string.sub(member, 1, sep - 1)
            obj_type = string.sub(member, sep + 1)
        end
        local m = query[obj_id] or saved[obj_id .. '\1']
        if m then
            score = score / m
        end
        if obj_type ~= '' then
            m = query[obj_type] or saved['\1' .. obj_type]
            if m then
                score = score / m
            end
            m = saved[member]
            if m then
                score = score / m
            end
        end
        entries[#entries + 1] = {member, score}
    end
    table.sort(entries, function(a, b)
        if a[2] ~= b[2] then
            return a[2] < b[2]
        end
        return a[1] < b[1]
    end)
    local n = #entries
    if limit >= 0 and limit < n then
        n = limit
    end
    for i = 1, n do
        ids[i] = entries[i][1]
    end
end
local out = {}
for start = 1, #ids, batch do
    local stop_at = math.min(start + batch - 1, #ids)
    local values = redis.call('HMGET', KEYS[1], unpack(ids, start, stop_at))
    for i = 1, stop_at - start + 1 do
        if values[i] then
            out[#out + 1] = values[i]
        end
    end
end
return out
