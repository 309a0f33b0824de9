#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Increment an unindexed numeric field of an existing model row (indexed fields go
-- through model_setfield.lua, since their equality-index key depends on the new value).
-- KEYS[1]: the row hash
-- ARGV[1]: field name; ARGV[2]: amount (integer text for "int", decimal for "float")
-- ARGV[3]: "int" (HINCRBY) or "float" (HINCRBYFLOAT)
-- ARGV[4]: largest absolute value allowed, as integer text without leading zeros ("" for
--   no limit beyond Redis' own; integers only)
-- ARGV[5]: "1" strict mode: a refusal is an error reply ("WALRUS_REFUSED missing" or
--   "WALRUS_REFUSED range <message>"), for calls queued in a pipeline whose caller cannot
--   inspect the reply before the pipeline runs; "0" (or absent) otherwise
-- Returns {1, new value} or, with nothing changed, {0, "missing"} (no such row) or
-- {0, "range", message} (overflow or limit).
local row = KEYS[1]
local field, amount = ARGV[1], ARGV[2]
local strict = ARGV[5] == '1'
local function refuse(reason, message)
    if strict then
        return redis.error_reply('WALRUS_REFUSED ' .. reason .. (message and (' ' .. message) or ''))
    end
    return {0, reason, message}
end
if redis.call('EXISTS', row) == 0 then
    return refuse('missing')
end
local old = redis.call('HGET', row, field)
local result
if ARGV[3] == 'int' then
    result = redis.pcall('HINCRBY', row, field, amount)
else
    result = redis.pcall('HINCRBYFLOAT', row, field, amount)
end
if type(result) == 'table' and result.err then
    -- Some engines hand the error over as a non-string value.
    local message = result.err
    if type(message) ~= 'string' then message = 'increment or decrement would overflow' end
    return refuse('range', message)
end
-- Read the stored text back: Lua numbers are doubles and would round large integers.
local new = redis.call('HGET', row, field)
-- Compare integer text digit by digit: a double would round values near 2**53.
local function exceeds(value, limit)
    local digits = string.gsub(value, '^-', '')
    if #digits ~= #limit then return #digits > #limit end
    return digits > limit
end
if ARGV[4] ~= '' and exceeds(new, ARGV[4]) then
    if old then
        redis.call('HSET', row, field, old)
    else
        redis.call('HDEL', row, field)
    end
    return refuse('range', 'result ' .. new .. ' exceeds the limit ' .. ARGV[4])
end
return {1, new}
