#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Array: remove and return the item at an index, shifting the later items down by one.
-- KEYS[1]: the Array's hash (field "<i>" -> item i, for i in 0..n-1)
-- ARGV[1]: index (integer; negative counts from the end, -1 = last)
-- Returns the removed item, or nil (false) when the index is out of range (nothing written).
local key = KEYS[1]
local n = redis.call('HLEN', key)
local idx = tonumber(ARGV[1])
if idx < 0 then
    idx = n + idx
end
if idx < 0 or idx >= n then
    return false
end
local value = redis.call('HGET', key, string.format('%d', idx))
local unpack = unpack or table.unpack
-- Move items idx+1..n-1 down one slot, reading and writing in chunks.
local i = idx + 1
while i <= n - 1 do
    local last = math.min(i + 499, n - 1)
    local fields = {}
    for j = i, last do
        fields[#fields + 1] = string.format('%d', j)
    end
    local values = redis.call('HMGET', key, unpack(fields))
    local pairs_ = {}
    for j = i, last do
        pairs_[#pairs_ + 1] = string.format('%d', j - 1)
        pairs_[#pairs_ + 1] = values[j - i + 1]
    end
    redis.call('HSET', key, unpack(pairs_))
    i = last + 1
end
redis.call('HDEL', key, string.format('%d', n - 1))
return value
