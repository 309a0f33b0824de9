#!lua flags=no-writes
-- Flags: no-writes (reads only: runs on replicas and on a server over maxmemory; safe to resend).
-- Array: read the item at an index that may be negative (counted from the end).
-- KEYS[1]: the Array's hash (field "<i>" -> item i, for i in 0..n-1)
-- ARGV[1]: index (integer; negative counts from the end, -1 = last)
-- Returns the item, or nil (false) when the index is out of range.
local idx = tonumber(ARGV[1])
if idx < 0 then
    idx = redis.call('HLEN', KEYS[1]) + idx
    if idx < 0 then
        return false
    end
end
return redis.call('HGET', KEYS[1], string.format('%d', idx))
