#!lua flags=allow-oom
-- Flags: allow-oom. A query: its only writes are temporaries deleted before it returns, so it
-- still answers on a server over maxmemory (briefly above the limit while it runs).
-- resend: safe (fresh temporaries each run, nothing else written)
-- Evaluate a full-text query over per-token sorted sets and return the ranked matches.
-- Each token set holds document ids scored with minus their term frequency, so the lowest
-- summed score is the best match; ZRANGE breaks score ties by id, which keeps the order
-- stable at any size.
-- KEYS[1..t]: token sorted sets; KEYS[t+1..]: temporaries, one per AND/OR node (created
--   here with a TTL, deleted before returning).
-- ARGV[1]: TTL of the temporaries in milliseconds (a safety net only)
-- ARGV[2]: index in KEYS of the first temporary (t + 1)
-- ARGV[3..]: the query in postfix form: "K", i pushes KEYS[i]; "&" or "|", n, d pops n
--   sets and pushes KEYS[d] = their ZINTERSTORE ("&") or ZUNIONSTORE ("|") (scores summed).
-- Returns a flat array: id1, score1, id2, score2, ... best first.
local ttl = ARGV[1]
local first_temp = tonumber(ARGV[2])
local stack, top = {}, 0
local i = 3
while i <= #ARGV do
    local op = ARGV[i]
    if op == 'K' then
        top = top + 1
        stack[top] = KEYS[tonumber(ARGV[i + 1])]
        i = i + 2
    else
        local n = tonumber(ARGV[i + 1])
        local dest = KEYS[tonumber(ARGV[i + 2])]
        local sources = {}
        for j = top - n + 1, top do
            sources[#sources + 1] = stack[j]
            stack[j] = nil
        end
        top = top - n
        local command = 'ZUNIONSTORE'
        if op == '&' then command = 'ZINTERSTORE' end
        redis.call(command, dest, n, unpack(sources))
        redis.call('PEXPIRE', dest, ttl)
        top = top + 1
        stack[top] = dest
        i = i + 3
    end
end
local result = redis.call('ZRANGE', stack[1], 0, -1, 'WITHSCORES')
for j = first_temp, #KEYS do
    redis.call('DEL', KEYS[j])
end
return result
