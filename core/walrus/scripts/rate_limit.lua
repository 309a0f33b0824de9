#!lua
-- Flags: none, so a write: a server over maxmemory (noeviction) refuses it before it runs,
-- and nothing is written.
-- Rate limits of any strategy, several at once, all-or-nothing, on the server clock (TIME).
-- KEYS[i]: the state of rate i (its layout depends on its strategy, below)
-- ARGV[1]: cost, events this call records (0 = only look)
-- ARGV[2]: mode: "r" = record when every rate allows, "d" = dry run (decide, record nothing),
--          "u" = undo: take back `cost` events recorded by an earlier call stamped ARGV[3]
-- ARGV[3]: that stamp (mode "u" only, else empty)
-- ARGV[3i+1], ARGV[3i+2], ARGV[3i+3]: strategy of rate i ("m" moving window, "f" fixed
--          window, "s" sliding-window counter, "g" GCRA), its limit (events), its window
--          (seconds, float text; the caller keeps it within 100 years)
-- Layouts (each key expires when its state no longer matters):
--   m: list of event stamps (seconds, '%.6f'), newest first, at most limit long (upstream walrus)
--   f: integer count; the window opens with the first counted event, the TTL is what is left of it
--   s: "<window index>:<count in it>:<count in the previous one>", windows aligned on the epoch
--   g: theoretical arrival time, integer microseconds (GCRA; one slot every ceil(per/limit) us,
--      a burst of `limit` slots)
-- Returns, per key, {allowed 0/1 (joint), remaining events, reset ms, retry-after ms}: reset =
-- until the whole budget is back; retry = until `cost` events fit. Then this call's stamp
-- (TIME as '%.6f' seconds): what mode "u" needs to take this call's events back. Mode "u"
-- returns {} .
-- Hot path (a script runs on every limited request): library functions are read into locals,
-- per-key state lives in one flat array, the stamp is spelled from TIME's two strings.
local call, tonumber, unpack = redis.call, tonumber, unpack or table.unpack  -- Lua 5.1 or 5.4
local floor, ceil, fmt = math.floor, math.ceil, string.format
local t = call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now = now_us / 1000000
local stamp = t[1] .. '.' .. string.sub('00000' .. t[2], -6)  -- '%.6f' of now
local cost = tonumber(ARGV[1])
local mode = ARGV[2]
local n = #KEYS

-- Durations go to PEXPIRE/PX as whole milliseconds, at least 1, as numbers: below 1e14 (windows
-- are capped at 100 years), so Lua passes them as integer text, never '1e+14'. The GCRA slot
-- (emission interval) is ceil(per / limit) in whole microseconds, at least 1. Both are written
-- inline: a local function would be a new closure on every call of this hot script.

if mode == 'u' then
    local then_s = tonumber(ARGV[3])
    for i = 1, n do
        local key, code = KEYS[i], ARGV[3 * i + 1]
        local limit, per = tonumber(ARGV[3 * i + 2]), tonumber(ARGV[3 * i + 3])
        if code == 'm' then
            call('LREM', key, cost, ARGV[3])
        elseif code == 'f' then
            if call('EXISTS', key) == 1 and call('DECRBY', key, cost) <= 0 then call('DEL', key) end
        elseif code == 's' then
            local v = call('GET', key)
            if v then
                local idx, cur, prev = string.match(v, '^(%d+):(%d+):(%d+)$')
                idx, cur, prev = tonumber(idx), tonumber(cur), tonumber(prev)
                local was = floor(then_s / per)
                if idx == was then cur = cur - cost elseif idx == was + 1 then prev = prev - cost end
                if cur < 0 then cur = 0 end
                if prev < 0 then prev = 0 end
                call('SET', key, fmt('%.0f:%.0f:%.0f', idx, cur, prev), 'KEEPTTL')
            end
        elseif code == 'g' then
            local tat = tonumber(call('GET', key) or '')
            if tat then
                local slot = ceil(per * 1000000 / limit)
                if slot < 1 then slot = 1 end
                tat = tat - cost * slot
                if tat <= now_us then call('DEL', key) else call('SET', key, fmt('%.0f', tat), 'KEEPTTL') end
            end
        end
    end
    return {}
end

local record = cost > 0 and mode == 'r'
local all_allowed = true
-- per key i, from 6i-5: limit, per, used (events counted now), a, b, retry (seconds)
-- a, b: m = list length, oldest counted stamp (or false); f = seconds left in the window (or
-- false); s = window index, previous count; g = TAT after this call (us)
local state = {false, false, false, false, false, false}  -- sized for one rate: no regrowth
for i = 1, n do
    local key, code = KEYS[i], ARGV[3 * i + 1]
    local limit, per = tonumber(ARGV[3 * i + 2]), tonumber(ARGV[3 * i + 3])
    local used, a, b, retry, fits = 0, false, false, 0, true
    if code == 'm' then
        local length = call('LLEN', key)
        local hi = length
        if limit < hi then hi = limit end
        local oldest = false
        if hi > 0 then
            -- Newest first, so the events inside the window are a prefix. Writes trim expired
            -- events, so usually the whole list is inside: its last counted item says so.
            local last = tonumber(call('LINDEX', key, hi - 1))
            if last ~= nil and now - last < per then
                used, oldest = hi, last
            else
                -- Binary-search the prefix's end: O(log limit) LINDEX.
                local lo = 0
                hi = hi - 1
                while lo < hi do
                    local mid = floor((lo + hi) / 2)
                    local ts = tonumber(call('LINDEX', key, mid))
                    if ts ~= nil and now - ts < per then
                        lo = mid + 1
                        oldest = ts
                    else
                        hi = mid
                    end
                end
                used = lo
            end
        end
        fits = used + cost <= limit
        if not fits then
            -- the event whose expiry makes room: index limit - cost, newest first
            local blocker = tonumber(call('LINDEX', key, limit - cost))
            if blocker ~= nil then retry = blocker + per - now else retry = per end
        end
        a, b = length, oldest
    elseif code == 'f' then
        local count = tonumber(call('GET', key) or '')
        if count then
            local left = call('PTTL', key)
            if left > 0 then used, a = count, left / 1000 end
        end
        fits = used + cost <= limit
        if not fits then retry = a or per end
    elseif code == 's' then
        local idx = floor(now / per)
        local cur, prev = 0, 0
        local v = call('GET', key)
        if v then
            local sidx, scur, sprev = string.match(v, '^(%d+):(%d+):(%d+)$')
            sidx = tonumber(sidx)
            if sidx == idx then cur, prev = tonumber(scur), tonumber(sprev)
            elseif sidx == idx - 1 then prev = tonumber(scur) end
        end
        local into = now - idx * per  -- seconds into the current window
        local weighted = prev * (1 - into / per) + cur
        if weighted + cost > limit then
            if cur + cost <= limit then
                -- the previous window's share decays until it fits
                retry = (1 - (limit - cur - cost) / prev) * per - into
            else
                -- only the next window can take it, where this one's count decays in turn
                local g = 0
                if cur > 0 then g = 1 - (limit - cost) / cur end
                if g < 0 then g = 0 end
                retry = (per - into) + g * per
            end
            if retry < 0 then retry = 0 end
        end
        fits = weighted + cost <= limit
        used, a, b = cur, idx, { prev, weighted, into }
    elseif code == 'g' then
        local slot = ceil(per * 1000000 / limit)
        if slot < 1 then slot = 1 end
        local burst = slot * limit
        local tat = tonumber(call('GET', key) or '')
        if not tat or tat < now_us then tat = now_us end
        local after = tat + cost * slot
        fits = after - now_us <= burst
        if not fits then
            retry = (after - burst - now_us) / 1000000
            after = tat
        end
        used, a = tat, after
    else
        return redis.error_reply('rate_limit.lua: unknown strategy ' .. tostring(code))
    end
    if not fits then all_allowed = false end
    local base = 6 * i
    state[base - 5], state[base - 4], state[base - 3], state[base - 2], state[base - 1], state[base] = limit, per, used, a, b, retry
end

local out = {0, 0, 0, 0, 0}  -- sized for one limit
local ok = 0
if all_allowed then ok = 1 end
local write = all_allowed and record
for i = 1, n do
    local key, code = KEYS[i], ARGV[3 * i + 1]
    local base = 6 * i
    local limit, per, used, a, b, retry = state[base - 5], state[base - 4], state[base - 3], state[base - 2], state[base - 1], state[base]
    local remaining, reset = 0, 0
    if code == 'm' then
        local oldest = b
        if write then
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
            if a > used then call('LTRIM', key, 0, used + cost - 1) end
            local px = ceil(per * 1000)
            if px < 1 then px = 1 end
            call('PEXPIRE', key, px)
            used = used + cost
            if not oldest then oldest = now end
        end
        remaining = limit - used
        if oldest then reset = oldest + per - now end
    elseif code == 'f' then
        local left = a
        if write then
            if used == 0 then
                local px = ceil(per * 1000)
                if px < 1 then px = 1 end
                call('SET', key, ARGV[1], 'PX', px)
                left = per
            else
                call('INCRBY', key, cost)
            end
            used = used + cost
        end
        remaining = limit - used
        if used > 0 then reset = left end
    elseif code == 's' then
        local idx, prev, weighted, into = a, b[1], b[2], b[3]
        if write then
            used = used + cost
            weighted = weighted + cost
            local px = ceil(((idx + 2) * per - now) * 1000)
            if px < 1 then px = 1 end
            call('SET', key, fmt('%.0f:%.0f:%.0f', idx, used, prev), 'PX', px)
        end
        remaining = floor(limit - weighted + 1e-9)
        if used > 0 then reset = (idx + 2) * per - now
        elseif prev > 0 then reset = (idx + 1) * per - now end
    else  -- 'g'
        local tat, after = used, a
        local slot = ceil(per * 1000000 / limit)
        if slot < 1 then slot = 1 end
        if write then
            tat = after
            local px = ceil((tat - now_us) / 1000)
            if px < 1 then px = 1 end
            call('SET', key, fmt('%.0f', tat), 'PX', px)
        end
        remaining = floor((slot * limit - (tat - now_us)) / slot)
        reset = (tat - now_us) / 1000000
    end
    if remaining < 0 then remaining = 0 end
    if remaining > limit then remaining = limit end
    local o = 4 * i
    out[o - 3] = ok
    out[o - 2] = remaining
    out[o - 1] = ceil(reset * 1000)
    out[o] = ceil(retry * 1000)
end
out[4 * n + 1] = stamp
return out
