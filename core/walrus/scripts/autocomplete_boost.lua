#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Save a boost multiplier of an Autocomplete index.
-- KEYS[1]: hash of saved boosts (<namespace>:b); fields "<obj_id>\1<obj_type>", where
--          either part may be empty (a boost of every object of that id or type)
-- ARGV[1]: field; ARGV[2]: multiplier (positive float)
-- ARGV[3]: "1" = multiply the saved boost (1.0 when none); "0" = replace it
-- Returns the boost now saved, as a string.
local m = tonumber(ARGV[2])
if ARGV[3] == '1' then
    local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '1')
    m = current * m
end
local text = string.format('%.17g', m)
redis.call('HSET', KEYS[1], ARGV[1], text)
return text
