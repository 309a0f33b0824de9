#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Index, re-index or remove one document of a full-text index, atomically, in one call.
-- The tokens a document was indexed under are kept in a hash (field: document id; value:
-- the tokens separated by spaces, a newline, then a digest of the content they came from),
-- so re-indexing or removing needs no read first. When that entry is missing or does not
-- match the stored content (a document written or changed by upstream walrus, which keeps
-- no such entry), nothing is written and the stored state is returned: the caller tokenizes
-- the stored content itself and calls again, naming the old token sets (expected state
-- "0", "1" or "2"), guarded by that state.
-- KEYS[1]: set of indexed document ids
-- KEYS[2]: the document's hash (content + metadata)
-- KEYS[3]: hash of token lists, one field per indexed document
-- KEYS[4 .. 3+n_old]: token sorted sets of the old content (with an expected state only)
-- KEYS[4+n_old ..]: token sorted sets of the new content (the document id is added)
-- ARGV[1]: document id
-- ARGV[2]: expected state: "auto" (trust the token list), "0" not indexed, "1" indexed
--          with content ARGV[3], "2" indexed but its hash has no content field
-- ARGV[3]: expected content (for "1")
-- ARGV[4]: action (optionally with ":bare": keep no token list): "merge" (HSET fields over
--          the hash), "replace" (hash = fields only),
--          "delete" (drop from the index and delete the hash), "unindex" (keep the hash)
-- ARGV[5]: "1" when the document must already be indexed (update, replace, remove)
-- ARGV[6]: prefix of the token set names ("fts.<name>."). With "auto" the old token sets
--          are named here from the token list: they hold the index name, hash tag
--          included, so on a cluster they share KEYS[1]'s slot.
-- ARGV[7]: n_old; ARGV[8]: n_new; ARGV[9]: n_fields
-- ARGV[10 .. 9+2*n_fields]: field, value pairs for the hash; the first pair is content
-- ARGV[10+2*n_fields ..]: score of each new token (minus its term frequency), as KEYS order
-- Returns {1} when written; {2} when the document must exist and is not indexed; {0,
-- indexed (0/1), stored content or nil} when the state is unknown or not the expected one
-- (nothing written in both cases).
local id, expected, action, prefix = ARGV[1], ARGV[2], ARGV[4], ARGV[6]
-- An action ending in ":bare" keeps no token list (upstream walrus's layout, less memory):
-- the document's entry in KEYS[3] is removed instead of written.
local bare = string.sub(action, -5) == ':bare'
if bare then
    action = string.sub(action, 1, -6)
end
local n_old, n_new, n_fields = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])

-- SHA-1 where the engine has it (Redis always does); the text itself elsewhere (the
-- embedded engine): exact either way.
local function digest(text)
    if redis.sha1hex then
        return redis.sha1hex(text)
    end
    return text
end

local indexed = redis.call('SISMEMBER', KEYS[1], id)
if ARGV[5] == '1' and indexed == 0 then
    return {2}
end
local old = {}
if expected == 'auto' then
    if indexed == 1 then
        local content = redis.call('HGET', KEYS[2], 'content')
        local entry = redis.call('HGET', KEYS[3], id)
        local newline = entry and string.find(entry, '\n', 1, true)
        if not newline or not content or string.sub(entry, newline + 1) ~= digest(content) then
            return {0, indexed, content}
        end
        for token in string.gmatch(string.sub(entry, 1, newline - 1), '[^ ]+') do
            old[#old + 1] = prefix .. token
        end
    end
else
    local content = redis.call('HGET', KEYS[2], 'content')
    local ok
    if expected == '0' then
        ok = indexed == 0
    elseif expected == '1' then
        ok = indexed == 1 and content == ARGV[3]
    else
        ok = indexed == 1 and content == false
    end
    if not ok then
        return {0, indexed, content}
    end
    for i = 4, 3 + n_old do
        old[#old + 1] = KEYS[i]
    end
end

for _, key in ipairs(old) do
    redis.call('ZREM', key, id)
end
if action == 'delete' or action == 'unindex' then
    redis.call('SREM', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
    if action == 'delete' then
        redis.call('DEL', KEYS[2])
    end
    return {1}
end
if action == 'replace' then
    redis.call('DEL', KEYS[2])
end
-- HSET in slices: unpack() of thousands of values would overflow Lua's C stack.
local fields = {}
for i = 10, 9 + 2 * n_fields do
    fields[#fields + 1] = ARGV[i]
    if #fields == 1000 or i == 9 + 2 * n_fields then
        redis.call('HSET', KEYS[2], unpack(fields))
        fields = {}
    end
end
local score_base = 10 + 2 * n_fields
local tokens = {}
for j = 0, n_new - 1 do
    local key = KEYS[4 + n_old + j]
    redis.call('ZADD', key, ARGV[score_base + j], id)
    tokens[#tokens + 1] = string.sub(key, #prefix + 1)
end
if bare then
    redis.call('HDEL', KEYS[3], id)
else
    redis.call('HSET', KEYS[3], id, table.concat(tokens, ' ') .. '\n' .. digest(ARGV[11]))
end
redis.call('SADD', KEYS[1], id)
return {1}
