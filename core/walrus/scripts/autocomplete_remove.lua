#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Remove one object from an Autocomplete index, guarded by the title the caller read.
-- KEYS[1]: hash object id -> data; KEYS[2]: hash object id -> title;
-- KEYS[3]: hash of saved boosts
-- KEYS[4 ..]: prefix sorted sets of the expected title (the object is removed from them)
-- ARGV[1]: object id ("<obj_id>\1<obj_type>")
-- ARGV[2]: "1" when the caller read title ARGV[3]; "0" when it read no title
-- Returns {1, removed} (removed: 1 when the object had data or a title, else 0), or {0}
-- when the stored title changed since the caller read it (nothing removed: retry).
local id = ARGV[1]
local current = redis.call('HGET', KEYS[2], id)
if ARGV[2] == '1' then
    if current ~= ARGV[3] then
        return {0}
    end
elseif current then
    return {0}
end
for i = 4, #KEYS do
    redis.call('ZREM', KEYS[i], id)
end
local removed = redis.call('HDEL', KEYS[1], id) + redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
if removed > 0 then
    return {1, 1}
end
return {1, 0}
