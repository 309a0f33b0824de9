#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Array: append items at the end, optionally replacing the whole content first.
-- KEYS[1]: the Array's hash (field "<i>" -> item i, for i in 0..n-1)
-- ARGV[1]: "1" to delete the current items first (from_list(clear=True)), else "0"
-- ARGV[2..]: the items to append, in order
-- Returns the new length.
local key = KEYS[1]
local n = 0
if ARGV[1] == '1' then
    redis.call('DEL', key)
else
    n = redis.call('HLEN', key)
end
local unpack = unpack or table.unpack
local batch = {}
for i = 2, #ARGV do
    batch[#batch + 1] = string.format('%d', n)
    batch[#batch + 1] = ARGV[i]
    n = n + 1
    -- HSET in chunks: unpack() has a small C-stack limit.
    if #batch >= 1000 then
        redis.call('HSET', key, unpack(batch))
        batch = {}
    end
end
if #batch > 0 then
    redis.call('HSET', key, unpack(batch))
end
return n
