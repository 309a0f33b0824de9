#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Apply the repairs of Model.rebuild_indexes, each re-checked against the row's current
-- stored value first. The checker read rows and index keys at different moments, so a row
-- written meanwhile can look inconsistent; an index entry depends on one field of one row,
-- so a fix computed from that field's value is still right exactly when the row holds
-- that value now. Fixes whose row changed are skipped (that write kept its own entries).
-- KEYS: index keys, the model's "all" set and row hashes, referred to by position.
-- ARGV[1]: number of fixes; then 8 values per fix:
--   action    "+S" SADD / "-S" SREM / "+Z" ZADD / "-Z" ZREM of an index entry;
--             "+A" SADD of a row key to the all set (only if that row hash exists),
--             "-A" SREM of it (only if no row hash has that key)
--   key       KEYS position of the index key (or of the all set)
--   member    the member
--   score     the score for "+Z" (a number as text), "" otherwise
--   row       KEYS position of the row hash deciding the fix, 0 for none (the member
--             names no row of the model: the fix always applies)
--   field     the row's field the entry depends on ("" for "+A"/"-A")
--   present   "1" when the fix was computed with the field present, "0" when absent
--   value     the field's stored value then ("" when absent)
-- Returns one integer per fix: 1 applied, 0 skipped because the row changed.
local function key_type(key)
    local t = redis.call('TYPE', key)
    if type(t) == 'table' then t = t.ok end
    return t
end
local n = tonumber(ARGV[1])
local done = {}
local pos = 2
for i = 1, n do
    local action, key, member, score = ARGV[pos], KEYS[tonumber(ARGV[pos + 1])], ARGV[pos + 2], ARGV[pos + 3]
    local row_pos, field, present, value = tonumber(ARGV[pos + 4]), ARGV[pos + 5], ARGV[pos + 6], ARGV[pos + 7]
    pos = pos + 8
    local ok = true
    if row_pos > 0 then
        local row = KEYS[row_pos]
        local is_hash = key_type(row) == 'hash'
        if action == '+A' then
            ok = is_hash
        elseif action == '-A' then
            ok = not is_hash
        else
            local current = false
            if is_hash then current = redis.call('HGET', row, field) end
            if present == '1' then
                ok = current == value
            else
                ok = not current
            end
        end
    end
    if ok then
        if action == '+S' or action == '+A' then
            redis.call('SADD', key, member)
        elseif action == '-S' or action == '-A' then
            redis.call('SREM', key, member)
        elseif action == '+Z' then
            redis.call('ZADD', key, score, member)
        else
            redis.call('ZREM', key, member)
        end
        done[i] = 1
    else
        done[i] = 0
    end
end
return done
