#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- limpyd: run one modifier command on one field of an existing instance and keep its index
-- sets consistent, atomically.
-- KEYS[1]: the model's pk collection set (<prefix>:collection)
-- KEYS[2]: the field's key: <prefix>:<pk>:<field>, or the instance hash <prefix>:<pk>:hash
-- Index sets are keys this script builds itself: <index prefix><value> for each value the
--   command removes or adds. Nobody can name them before the command has run (INCR, SPOP,
--   LTRIM...), and declaring them would cost a second round trip. They share KEYS[1]'s slot:
--   on a cluster every key of a model carries the model's hash tag (docs/reliability.md).
-- ARGV[1]: the pk (it must be in the collection)
-- ARGV[2]: kind of the field: "string" | "hash" | "set" | "list" | "zset"
-- ARGV[3]: the hash field name (kind "hash"), else ""
-- ARGV[4]: index prefix "<prefix>:<field>:" ("" when the field is not indexable)
-- ARGV[5]: "1" when the index is unique
-- ARGV[6]: the Redis command; ARGV[7 ..]: its arguments after the key (and the hash field name)
-- Returns {1, reply} on success. Otherwise nothing is changed and it returns one of
--   {0, "missing"} (no such instance), {0, "error", message} (command error),
--   {0, "unique", index key, other pk} (a unique value is already used by another pk)
--@include variadic_call

local coll, key = KEYS[1], KEYS[2]
local pk = ARGV[1]
local kind, hfield, prefix, unique, cmd = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1', ARGV[6]
local indexed = prefix ~= ''

local function chunked(command, target, items)
    for i = 1, #items, 1000 do
        redis.call(command, target, unpack(items, i, math.min(i + 999, #items)))
    end
end

-- The members a set/sorted-set command names, when it can only add or remove those (SADD,
-- SREM, ZADD, ZREM, ZINCRBY); nil for any other command. Only their presence is read before
-- and after, so the cost follows the command's size, not the stored key's.
local function named_members()
    local c, out = string.upper(cmd), {}
    if (kind == 'set' and (c == 'SADD' or c == 'SREM')) or (kind == 'zset' and c == 'ZREM') then
        for i = 7, #ARGV do out[#out + 1] = ARGV[i] end
    elseif kind == 'zset' and c == 'ZADD' then
        local i = 7
        while i <= #ARGV and ZADD_FLAGS[string.upper(ARGV[i])] do i = i + 1 end
        for j = i + 1, #ARGV, 2 do out[#out + 1] = ARGV[j] end
    elseif kind == 'zset' and c == 'ZINCRBY' then
        out[1] = ARGV[8]
    else
        return nil
    end
    return out
end
local named = indexed and named_members() or nil

-- The field's values: a list (for a sorted set: member, score pairs); with named members,
-- only those of them that are stored.
local function snapshot()
    if named then
        local snap = {}
        for _, m in ipairs(named) do
            if kind == 'set' then
                if redis.call('SISMEMBER', key, m) == 1 then snap[#snap + 1] = m end
            else
                local score = redis.call('ZSCORE', key, m)
                if score then
                    snap[#snap + 1] = m
                    snap[#snap + 1] = score
                end
            end
        end
        return snap
    elseif kind == 'string' then
        local v = redis.call('GET', key)
        if v then return {v} end
        return {}
    elseif kind == 'hash' then
        local v = redis.call('HGET', key, hfield)
        if v then return {v} end
        return {}
    elseif kind == 'set' then
        return redis.call('SMEMBERS', key)
    elseif kind == 'list' then
        return redis.call('LRANGE', key, 0, -1)
    end
    return redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
end

local function members(snap)
    local list, seen = {}, {}
    local step, first = 1, 1
    if kind == 'zset' then step = 2 end
    for i = first, #snap, step do
        local v = snap[i]
        if not seen[v] then
            seen[v] = true
            list[#list + 1] = v
        end
    end
    return list, seen
end

local function restore(snap)
    if named then  -- only the named members changed: put each back as it was
        local was, step = {}, 1
        if kind == 'zset' then step = 2 end
        for i = 1, #snap, step do was[snap[i]] = i end
        for _, m in ipairs(named) do
            if kind == 'set' and was[m] then redis.call('SADD', key, m)
            elseif kind == 'set' then redis.call('SREM', key, m)
            elseif was[m] then redis.call('ZADD', key, snap[was[m] + 1], m)
            else redis.call('ZREM', key, m) end
        end
    elseif kind == 'string' then
        if snap[1] then redis.call('SET', key, snap[1]) else redis.call('DEL', key) end
    elseif kind == 'hash' then
        if snap[1] then redis.call('HSET', key, hfield, snap[1]) else redis.call('HDEL', key, hfield) end
    else
        redis.call('DEL', key)
        if #snap == 0 then return end
        if kind == 'set' then
            chunked('SADD', key, snap)
        elseif kind == 'list' then
            chunked('RPUSH', key, snap)
        else
            local pairs_ = {}
            for i = 1, #snap, 2 do
                pairs_[#pairs_ + 1] = snap[i + 1]
                pairs_[#pairs_ + 1] = snap[i]
            end
            chunked('ZADD', key, pairs_)
        end
    end
end

local function taken(index)
    if redis.call('SCARD', index) == 0 then return nil end
    for _, member in ipairs(redis.call('SRANDMEMBER', index, 2)) do
        if member ~= pk then return member end
    end
    return nil
end

if redis.call('SISMEMBER', coll, pk) == 0 then return {0, 'missing'} end

local before_snap, before_list, before_set
if indexed then
    before_snap = snapshot()
    before_list, before_set = members(before_snap)
end

local reply = call_variadic(field_call(cmd, key, hfield, 7))
if type(reply) == 'table' and reply.err then return {0, 'error', reply.err} end

if indexed then
    local after_list, after_set = members(snapshot())
    if unique then
        for _, v in ipairs(after_list) do
            if not before_set[v] then
                local other = taken(prefix .. v)
                if other then
                    restore(before_snap)
                    return {0, 'unique', prefix .. v, other}
                end
            end
        end
    end
    for _, v in ipairs(before_list) do
        if not after_set[v] then redis.call('SREM', prefix .. v, pk) end
    end
    for _, v in ipairs(after_list) do
        if not before_set[v] then redis.call('SADD', prefix .. v, pk) end
    end
end

if type(reply) == 'table' and reply.ok then reply = reply.ok end
return {1, reply}
