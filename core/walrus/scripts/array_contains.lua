#!lua flags=no-writes
-- Flags: no-writes (reads only: runs on replicas and on a server over maxmemory; safe to resend).
-- Array: whether any item equals the given value (O(n), compared on the server).
-- KEYS[1]: the Array's hash (field "<i>" -> item i)
-- ARGV[1]: the value looked for
-- Returns 1 when found, else 0.
local values = redis.call('HVALS', KEYS[1])
for _, v in ipairs(values) do
    if v == ARGV[1] then
        return 1
    end
end
return 0
