#!lua flags=no-writes
-- Flags: no-writes (reads only: runs on replicas and on a server over maxmemory; safe to resend).
-- limpyd: evaluate a collection on Redis Cluster, where SORT refuses BY and GET patterns.
-- Intersects the filter sets, optionally keeps one pk, sorts like SORT (numeric or by the
-- server's collation, missing BY values count as 0 / come first, ties by member, DESC
-- reverses), applies LIMIT and resolves GET patterns. Reads only keys of the model's slot.
-- Exception to "every key through KEYS": like SORT BY/GET, the per-row keys are derived from
-- the patterns here (their number is unknown before the intersection); they all carry the
-- model's hash tag, so they live in the slot KEYS[1] routes the script to.
-- KEYS[1 ..]: the sets to intersect (index sets and/or the pk collection)
-- ARGV[1]: pk to keep ("" for all); ARGV[2]: "1" to filter on ARGV[1]
-- ARGV[3]: sort mode: "pk" (the members), "nosort", or a BY pattern ("P:*:f", "P:*:hash->f")
-- ARGV[4]: "1" alpha; ARGV[5]: "1" descending; ARGV[6]: offset; ARGV[7]: count (-1 = all)
-- ARGV[8 ..]: GET patterns ("#" = the member)
-- Returns the members (or, with GET patterns, one value per pattern per member, nil if missing)
local members
if #KEYS == 1 then
    members = redis.call('SMEMBERS', KEYS[1])
else
    members = redis.call('SINTER', unpack(KEYS))
end
if ARGV[2] == '1' then
    local kept = {}
    for _, m in ipairs(members) do
        if m == ARGV[1] then kept[1] = m end
    end
    members = kept
end

local function lookup(pattern, member)
    if pattern == '#' then return member end
    local star = string.find(pattern, '*', 1, true)
    if not star then return false end
    local arrow = string.find(pattern, '->', star + 1, true)
    if arrow and arrow + 2 <= #pattern then
        local key = string.sub(pattern, 1, star - 1) .. member .. string.sub(pattern, star + 1, arrow - 1)
        return redis.call('HGET', key, string.sub(pattern, arrow + 2))
    end
    local key = string.sub(pattern, 1, star - 1) .. member .. string.sub(pattern, star + 1)
    local kind = redis.call('TYPE', key)['ok']
    if kind ~= 'string' then return false end
    return redis.call('GET', key)
end

local mode, alpha, desc = ARGV[3], ARGV[4] == '1', ARGV[5] == '1'
if mode ~= 'nosort' then
    local weight = {}
    for _, m in ipairs(members) do
        local value = m
        if mode ~= 'pk' then value = lookup(mode, m) end
        if alpha then
            weight[m] = value
        elseif value == false or value == nil then
            weight[m] = 0
        else
            local number = tonumber(value)
            if number == nil then
                return redis.error_reply("One or more scores can't be converted into double")
            end
            weight[m] = number
        end
    end
    table.sort(members, function(a, b)
        local wa, wb = weight[a], weight[b]
        local before, after
        if wa == wb then
            before, after = a < b, b < a
        elseif wa == false then
            before, after = true, false
        elseif wb == false then
            before, after = false, true
        else
            before, after = wa < wb, wb < wa
        end
        if wa == wb and a == b then return false end
        if desc then return after end
        return before
    end)
end

local offset, count = tonumber(ARGV[6]), tonumber(ARGV[7])
local last = #members
if count >= 0 and offset + count < last then last = offset + count end
local result = {}
for i = offset + 1, last do
    local m = members[i]
    if #ARGV < 8 then
        result[#result + 1] = m
    else
        for j = 8, #ARGV do result[#result + 1] = lookup(ARGV[j], m) end
    end
end
return result
