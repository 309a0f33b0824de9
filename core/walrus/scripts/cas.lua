-- Compare-and-set: replace the string value of a key only when it equals the expected value.
-- KEYS[1]: the string key
-- ARGV[1]: expected current value (compared byte for byte)
-- ARGV[2]: new value
-- The key keeps its TTL. Returns 1 when the value was replaced, 0 otherwise (missing key or different value).
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
    return 1
end
return 0
