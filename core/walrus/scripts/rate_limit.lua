#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Sliding-window rate limit over one or more limits, all-or-nothing, on the server clock.
-- KEYS[i]: list of event timestamps (seconds, float as text), newest first; at most limit_i kept
-- ARGV[1]: cost, events this call records (0 = only look)
-- ARGV[2i], ARGV[2i+1]: limit_i (events), per_i (window, seconds, float)
-- ARGV[2n+2] (optional, n = #KEYS): "1" = dry run: decide with `cost` but record nothing
-- Records `cost` events in every list only when every limit allows them; the lists expire with
-- their window. Returns, per key, {allowed 0/1, remaining events, reset ms, retry-after ms}:
-- reset = until the oldest counted event leaves the window; retry = until `cost` events fit.
-- One more item follows the per-key ones: this call's timestamp text (what it recorded, if
-- anything), so that a caller can take the events back (LREM key cost stamp) when a decision
-- taken in another call refuses the request.
-- Cost per key on the usual path (the list holds only events inside the window): LLEN, one
-- LINDEX, and on a write LPUSH + PEXPIRE; LTRIM only when expired events must go.
-- Hot path (a script runs on every limited request): library functions are read into locals
-- once, per-key state lives in one flat array rather than a table per key, and the stamp is
-- spelled from TIME's two strings instead of string.format (same text, far cheaper).
local call, tonumber, unpack = redis.call, tonumber, unpack or table.unpack  -- Lua 5.1 or 5.4
local floor, ceil = math.floor, math.ceil
local t = call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local stamp = t[1] .. '.' .. string.sub('00000' .. t[2], -6)  -- '%.6f' of now
local cost = tonumber(ARGV[1])
local n = #KEYS
local record = cost > 0 and ARGV[2 * n + 2] ~= '1'
local all_allowed = true
local state = {}  -- per key i, from 6i-5: limit, per, length, used, oldest (or false), retry
for i = 1, n do
    local key = KEYS[i]
    local limit = tonumber(ARGV[2 * i])
    local per = tonumber(ARGV[2 * i + 1])
    local length = call('LLEN', key)
    local hi = length
    if limit < hi then hi = limit end
    local used, oldest = 0, false
    if hi > 0 then
        -- The list is newest first, so the events inside the window are a prefix. Writes trim
        -- expired events, so usually the whole list is inside: its last counted item says so.
        local last = tonumber(call('LINDEX', key, hi - 1))
        if last ~= nil and now - last < per then
            used, oldest = hi, last
        else
            -- Binary-search the prefix's end among the items before it: O(log limit) LINDEX.
            local lo = 0
            hi = hi - 1
            while lo < hi do
                local mid = floor((lo + hi) / 2)
                local ts = tonumber(call('LINDEX', key, mid))
                if ts ~= nil and now - ts < per then
                    lo = mid + 1
                    oldest = ts  -- the item at lo - 1: the oldest one inside so far
                else
                    hi = mid
                end
            end
            used = lo
        end
    end
    local retry = 0
    if used + cost > limit then
        all_allowed = false
        -- the event whose expiry makes room: index limit - cost, newest first
        local blocker = tonumber(call('LINDEX', key, limit - cost))
        if blocker ~= nil then retry = blocker + per - now else retry = per end
    end
    local b = 6 * i
    state[b - 5], state[b - 4], state[b - 3], state[b - 2], state[b - 1], state[b] = limit, per, length, used, oldest, retry
end
local out = {}
local ok = 0
if all_allowed then ok = 1 end
for i = 1, n do
    local key = KEYS[i]
    local b = 6 * i
    local per, used, oldest = state[b - 4], state[b - 2], state[b - 1]
    if all_allowed and record then
        if cost == 1 then
            call('LPUSH', key, stamp)
        else
            -- one LPUSH per batch of stamps (unpack has a stack limit), not one per event
            local left = cost
            while left > 0 do
                local batch = left
                if batch > 512 then batch = 512 end
                local stamps = {}
                for j = 1, batch do stamps[j] = stamp end
                call('LPUSH', key, unpack(stamps))
                left = left - batch
            end
        end
        -- keep only the events inside the window: needed only when the list held others
        if state[b - 3] > used then call('LTRIM', key, 0, used + cost - 1) end
        call('PEXPIRE', key, ceil(per * 1000))
        used = used + cost
        if not oldest then oldest = now end
    end
    local remaining = state[b - 5] - used
    if remaining < 0 then remaining = 0 end
    local reset = 0
    if oldest then reset = oldest + per - now end
    local base = 4 * i
    out[base - 3] = ok
    out[base - 2] = remaining
    out[base - 1] = ceil(reset * 1000)
    out[base] = ceil(state[b] * 1000)
end
out[4 * n + 1] = stamp
return out
