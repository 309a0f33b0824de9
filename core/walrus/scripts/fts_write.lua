-- Index, re-index or remove one document of a full-text index, atomically, guarded by the
-- state the caller tokenized (so the old tokens it removes are exactly the indexed ones).
-- KEYS[1]: set of indexed document ids
-- KEYS[2]: the document's hash (content + metadata)
-- KEYS[3 .. 2+n_old]: token sorted sets of the old content (the document id is removed)
-- KEYS[3+n_old ..]: token sorted sets of the new content (the document id is added)
-- ARGV[1]: document id
-- ARGV[2]: expected state: "0" not indexed, "1" indexed with content ARGV[3],
--          "2" indexed but its hash has no content field
-- ARGV[3]: expected content (for "1")
-- ARGV[4]: action: "merge" (HSET fields over the hash), "replace" (hash = fields only),
--          "delete" (drop from the index and delete the hash), "unindex" (keep the hash)
-- ARGV[5]: n_old; ARGV[6]: n_new; ARGV[7]: n_fields
-- ARGV[8 .. 7+2*n_fields]: field, value pairs for the hash (content included)
-- ARGV[8+2*n_fields ..]: score of each new token (minus its term frequency), as KEYS order
-- Returns {1} when written; {0, indexed (0/1), current content or nil} when the state did
-- not match the expectation (nothing written: the caller re-tokenizes and retries).
local id = ARGV[1]
local indexed = redis.call('SISMEMBER', KEYS[1], id)
local content = redis.call('HGET', KEYS[2], 'content')
local expected = ARGV[2]
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
local action = ARGV[4]
local n_old, n_new, n_fields = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
for i = 3, 2 + n_old do
    redis.call('ZREM', KEYS[i], id)
end
if action == 'delete' or action == 'unindex' then
    redis.call('SREM', KEYS[1], id)
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
for i = 8, 7 + 2 * n_fields do
    fields[#fields + 1] = ARGV[i]
    if #fields == 1000 or i == 7 + 2 * n_fields then
        redis.call('HSET', KEYS[2], unpack(fields))
        fields = {}
    end
end
local score_base = 8 + 2 * n_fields
for j = 0, n_new - 1 do
    redis.call('ZADD', KEYS[3 + n_old + j], ARGV[score_base + j], id)
end
redis.call('SADD', KEYS[1], id)
return {1}
