#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Array: replace the item at an existing index (never creates holes past the end).
-- KEYS[1]: the Array's hash (field "<i>" -> item i, for i in 0..n-1)
-- ARGV[1]: index (integer; negative counts from the end)
-- ARGV[2]: the new item
-- Returns 1 when set, 0 when the index is out of range (nothing written).
local n = redis.call('HLEN', KEYS[1])
local idx = tonumber(ARGV[1])
if idx < 0 then
    idx = n + idx
end
if idx < 0 or idx >= n then
    return 0
end
redis.call('HSET', KEYS[1], string.format('%d', idx), ARGV[2])
return 1
