package redislimit

import "github.com/redis/go-redis/v9"

// periodLua computes the end of the quota period containing sec (unix
// seconds) with the rules of ratelimit.Quota.Bounds, in Lua 5.1 numbers
// (doubles: every value here is an exact integer). kind is 1 (day), 2 (week)
// or 3 (month). For day and week, a1 is the origin of the periods in unix
// seconds. For month, a1 is the day of the month and a2 the second of the
// day at which periods start. Civil dates use Howard Hinnant's
// days_from_civil and civil_from_days.
const periodLua = `
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp + 3
  if mp >= 10 then m = mp - 9 end
  if m <= 2 then y = y + 1 end
  return y, m
end

local function days_in(y, m)
  if m == 2 then
    if y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) then return 29 end
    return 28
  end
  if m == 4 or m == 6 or m == 9 or m == 11 then return 30 end
  return 31
end

local function month_start(y, m, day, sod)
  y = y + math.floor((m - 1) / 12)
  m = (m - 1) % 12 + 1
  local dim = days_in(y, m)
  if day > dim then day = dim end
  return days_from_civil(y, m, day) * 86400 + sod
end

local function period_end(sec, kind, a1, a2)
  if kind == 1 or kind == 2 then
    local len = 86400
    if kind == 2 then len = 604800 end
    return a1 + (math.floor((sec - a1) / len) + 1) * len
  end
  local y, m = civil_from_days(math.floor(sec / 86400))
  if sec < month_start(y, m, a1, a2) then m = m - 1 end
  return month_start(y, m + 1, a1, a2)
end
`

// takeLua decides one request: the GCRA rate check and the calendar quota,
// atomically, on the server's clock, in one round trip.
//
// KEYS[1] holds the rate state: the theoretical arrival time (TAT) in
// microseconds since 2024-01-01 (so that it stays an exact double), with a
// PX expiry at the instant the bucket is full again, when an absent key
// means the same. KEYS[2] is the quota hash: field e is the end of the
// period (unix seconds) the count belongs to, field n the count; it expires
// at e plus a margin, set in the same script that creates it. A count whose
// e is not the current period's end is stale and counts as zero, so the
// quota resets exactly at the boundary whatever the expiry does. A denied
// request writes nothing.
//
// ARGV: emission interval (µs), burst, cost, quota limit, quota kind (0 for
// none), a1, a2 (see period_end), expiry margin (s).
//
// Reply: allowed (0/1), reason (0 none, 1 rate, 2 quota), rate tokens left
// (floor), retry after (µs), reset after (µs), quota left, quota period end
// (unix s).
const takeLua = periodLua + `
local T = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local qlimit = tonumber(ARGV[4])
local qkind = tonumber(ARGV[5])
local eps = 0.001

local tm = redis.call('TIME')
local sec = tonumber(tm[1])
local usec = tonumber(tm[2])
local now = (sec - 1704067200) * 1000000 + usec

local tat = tonumber(redis.call('GET', KEYS[1]) or 0) or 0
if tat < now then tat = now end
local tokens = (now - tat) / T + burst
local newtat = tat + cost * T

local qused, qend = 0, 0
if qkind > 0 then
  qend = period_end(sec, qkind, tonumber(ARGV[6]), tonumber(ARGV[7]))
  local h = redis.call('HMGET', KEYS[2], 'e', 'n')
  if tonumber(h[1]) == qend then qused = tonumber(h[2]) or 0 end
  if qused + cost > qlimit then
    return {0, 2, math.floor(tokens + eps), (qend - sec) * 1000000 - usec, math.ceil(tat - now), qlimit - qused, qend}
  end
end

if tokens + eps < cost then
  return {0, 1, math.floor(tokens + eps), math.ceil((cost - tokens) * T), math.ceil(tat - now), qlimit - qused, qend}
end

redis.call('SET', KEYS[1], string.format('%.17g', newtat), 'PX', math.ceil((newtat - now) / 1000) + 1)
if qkind > 0 then
  if qused == 0 then
    redis.call('HSET', KEYS[2], 'e', qend, 'n', cost)
    redis.call('EXPIREAT', KEYS[2], qend + tonumber(ARGV[8]))
  else
    redis.call('HINCRBY', KEYS[2], 'n', cost)
  end
  qused = qused + cost
end
return {1, 0, math.floor(tokens - cost + eps), 0, math.ceil(newtat - now), qlimit - qused, qend}
`

// takeScript runs takeLua with EVALSHA, falling back to EVAL (which loads
// the script again) on NOSCRIPT: after a failover or a SCRIPT FLUSH.
var takeScript = redis.NewScript(takeLua)
