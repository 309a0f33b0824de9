#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Store (or re-store) one object of an Autocomplete index, guarded by the title the caller
-- expects to be stored already, so the prefixes it removes are exactly the indexed ones.
-- KEYS[1]: hash object id -> data (<namespace>:d)
-- KEYS[2]: hash object id -> title (<namespace>:t)
-- KEYS[3 .. 2+n_old]: prefix sorted sets of the old title (the object is removed from them)
-- KEYS[3+n_old ..]: prefix sorted sets of the new title (<namespace>:s:<prefix>)
-- ARGV[1]: object id ("<obj_id>\1<obj_type>")
-- ARGV[2]: title; ARGV[3]: data
-- ARGV[4]: expected stored title; "" = none stored, or the same title as ARGV[2]
-- ARGV[5]: n_old
-- ARGV[6 ..]: score of the object in each new prefix set, in KEYS order
-- Returns {1} when written; {0, stored title} when the stored title is not the expected one
-- (nothing written: the caller computes that title's prefixes and retries).
local id = ARGV[1]
local current = redis.call('HGET', KEYS[2], id)
local expected = ARGV[4]
local ok
if expected == '' then
    ok = (not current) or current == ARGV[2]
else
    ok = current == expected
end
if not ok then
    return {0, current}
end
local n_old = tonumber(ARGV[5])
for i = 3, 2 + n_old do
    redis.call('ZREM', KEYS[i], id)
end
redis.call('HSET', KEYS[1], id, ARGV[3])
redis.call('HSET', KEYS[2], id, ARGV[2])
for i = 3 + n_old, #KEYS do
    redis.call('ZADD', KEYS[i], ARGV[3 + i - n_old], id)
end
return {1}
