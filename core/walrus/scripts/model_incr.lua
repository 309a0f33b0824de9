-- Increment a numeric field of an existing model row and move its range-index entry.
-- KEYS[1]: the row hash; KEYS[2]: the field's range index (sorted set), or the row hash
--   again when the field is not indexed
-- ARGV[1]: field name; ARGV[2]: amount (integer text for "int", decimal for "float")
-- ARGV[3]: "int" (HINCRBY) or "float" (HINCRBYFLOAT)
-- ARGV[4]: "1" when KEYS[2] is an index to update; ARGV[5]: "1" when the field is unique
-- ARGV[6]: largest absolute value allowed, as integer text without leading zeros ("" for
--   no limit beyond Redis' own; integers only)
-- Returns {1, new value} or, with nothing changed, {0, "missing"} (no such row),
-- {0, "range", message} (overflow or limit) or {0, "unique"} (value taken).
local row, index = KEYS[1], KEYS[2]
local field, amount = ARGV[1], ARGV[2]
if redis.call('EXISTS', row) == 0 then
    return {0, 'missing'}
end
local old = redis.call('HGET', row, field)
local result
if ARGV[3] == 'int' then
    result = redis.pcall('HINCRBY', row, field, amount)
else
    result = redis.pcall('HINCRBYFLOAT', row, field, amount)
end
if type(result) == 'table' and result.err then
    return {0, 'range', result.err}
end
-- Read the stored text back: Lua numbers are doubles and would round large integers.
local new = redis.call('HGET', row, field)
local function undo()
    if old then
        redis.call('HSET', row, field, old)
    else
        redis.call('HDEL', row, field)
    end
end
-- Compare integer text digit by digit: a double would round values near 2**53.
local function exceeds(value, limit)
    local digits = string.gsub(value, '^-', '')
    if #digits ~= #limit then return #digits > #limit end
    return digits > limit
end
if ARGV[6] ~= '' and exceeds(new, ARGV[6]) then
    undo()
    return {0, 'range', 'result ' .. new .. ' exceeds the limit ' .. ARGV[6]}
end
if ARGV[4] == '1' then
    if ARGV[5] == '1' then
        local others = redis.call('ZCOUNT', index, new, new)
        local own = redis.call('ZSCORE', index, row)
        if own and tonumber(own) == tonumber(new) then others = others - 1 end
        if others > 0 then
            undo()
            return {0, 'unique'}
        end
    end
    redis.call('ZADD', index, new, row)
end
return {1, new}
