-- Sliding-window rate limit over one or more limits, all-or-nothing, on the server clock.
-- KEYS[i]: list of event timestamps (seconds, float as text), newest first; at most limit_i kept
-- ARGV[1]: cost, events this call records (0 = only look)
-- ARGV[2i], ARGV[2i+1]: limit_i (events), per_i (window, seconds, float)
-- Records `cost` events in every list only when every limit allows them; the lists expire with
-- their window. Returns, per key, {allowed 0/1, remaining events, reset ms, retry-after ms}:
-- reset = until the oldest counted event leaves the window; retry = until `cost` events fit.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost = tonumber(ARGV[1])
local out = {}
local all_allowed = true
local state = {}
for i = 1, #KEYS do
    local limit = tonumber(ARGV[2 * i])
    local per = tonumber(ARGV[2 * i + 1])
    -- The list is newest first, so the events inside the window are a prefix. Writes trim
    -- expired events, so usually the whole list is inside: one LINDEX of the last item says
    -- so. Otherwise binary-search the prefix's end (O(log limit) LINDEX calls).
    local lo, hi = 0, math.min(redis.call('LLEN', KEYS[i]), limit)
    local last = tonumber(redis.call('LINDEX', KEYS[i], hi - 1))
    if hi > 0 and last ~= nil and now - last < per then lo = hi end
    while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        local ts = tonumber(redis.call('LINDEX', KEYS[i], mid))
        if ts ~= nil and now - ts < per then lo = mid + 1 else hi = mid end
    end
    local used, oldest = lo, nil
    if used > 0 then oldest = tonumber(redis.call('LINDEX', KEYS[i], used - 1)) end
    local allowed = used + cost <= limit
    local retry = 0
    if not allowed then
        all_allowed = false
        -- the event whose expiry makes room: index limit - cost, newest first
        local blocker = tonumber(redis.call('LINDEX', KEYS[i], limit - cost))
        if blocker ~= nil then retry = blocker + per - now else retry = per end
    end
    state[i] = {limit = limit, per = per, used = used, oldest = oldest, allowed = allowed, retry = retry}
end
local stamp = string.format('%.6f', now)
for i = 1, #KEYS do
    local s = state[i]
    local used = s.used
    local oldest = s.oldest
    if all_allowed and cost > 0 then
        for _ = 1, cost do redis.call('LPUSH', KEYS[i], stamp) end
        -- keep only the events still inside the window (at most `limit`)
        redis.call('LTRIM', KEYS[i], 0, math.min(used + cost, s.limit) - 1)
        redis.call('PEXPIRE', KEYS[i], math.ceil(s.per * 1000))
        used = used + cost
        if oldest == nil then oldest = now end
    end
    local reset = 0
    if oldest ~= nil then reset = oldest + s.per - now end
    local ok = 0
    if all_allowed then ok = 1 end
    out[#out + 1] = ok
    out[#out + 1] = math.max(s.limit - used, 0)
    out[#out + 1] = math.ceil(reset * 1000)
    out[#out + 1] = math.ceil(s.retry * 1000)
end
return out
