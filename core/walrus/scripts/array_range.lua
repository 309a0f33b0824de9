#!lua flags=no-writes
-- Flags: no-writes (reads only: runs on replicas and on a server over maxmemory; safe to resend).
-- Array: the items between two positions, in index order (LRANGE semantics).
-- KEYS[1]: the Array's hash (field "<i>" -> item i, for i in 0..n-1)
-- ARGV[1]: start index (integer; negative counts from the end)
-- ARGV[2]: stop index, INCLUSIVE (integer; negative counts from the end, -1 = last)
-- Returns a list of items (empty when the range is empty).
local key = KEYS[1]
local n = redis.call('HLEN', key)
local s = tonumber(ARGV[1])
local e = tonumber(ARGV[2])
if s < 0 then s = n + s end
if e < 0 then e = n + e end
if s < 0 then s = 0 end
if e >= n then e = n - 1 end
if s > e then
    return {}
end
local unpack = unpack or table.unpack
local result = {}
local i = s
while i <= e do
    local last = math.min(i + 999, e)
    local fields = {}
    for j = i, last do
        fields[#fields + 1] = string.format('%d', j)
    end
    local values = redis.call('HMGET', key, unpack(fields))
    for j = 1, #fields do
        result[#result + 1] = values[j]
    end
    i = last + 1
end
return result
