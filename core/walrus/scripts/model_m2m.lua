#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Link or unlink rows of a many-to-many relation: both sides change together.
-- KEYS[1]: the owner row hash; KEYS[2]: the owner's set of linked row keys;
--   then pairs: KEYS[2i+1] a linked row hash, KEYS[2i+2] that row's set of linked rows.
-- ARGV[1]: "add" (every row must exist) or "remove"
-- ARGV[2]: "1" strict mode: a refusal is the error reply "WALRUS_REFUSED missing <row key>"
--   (for calls queued in a pipeline); "0" (or absent) otherwise
-- Returns {1, number of links added or removed}, or {0, "missing", row key} with nothing
-- changed when "add" names a row that does not exist.
local owner, owner_set = KEYS[1], KEYS[2]
local function missing(key)
    if ARGV[2] == '1' then
        return redis.error_reply('WALRUS_REFUSED missing ' .. key)
    end
    return {0, 'missing', key}
end
if ARGV[1] == 'add' then
    if redis.call('EXISTS', owner) == 0 then return missing(owner) end
    for i = 3, #KEYS, 2 do
        if redis.call('EXISTS', KEYS[i]) == 0 then return missing(KEYS[i]) end
    end
end
local changed = 0
for i = 3, #KEYS, 2 do
    if ARGV[1] == 'add' then
        changed = changed + redis.call('SADD', owner_set, KEYS[i])
        redis.call('SADD', KEYS[i + 1], owner)
    else
        changed = changed + redis.call('SREM', owner_set, KEYS[i])
        redis.call('SREM', KEYS[i + 1], owner)
    end
end
return {1, changed}
