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
// atomically, on the server's clock, in one round trip. A denied request
// writes nothing; every key it writes has an expiry, set in the same
// script.
//
// KEYS[1] is the one key of the tenant key and plan kind. The rate state is
// the theoretical arrival time (TAT) in microseconds since 2024-01-01 (an
// exact double). A plan without quota keeps it in a string, which expires
// (PX) when the bucket is full again, when an absent key means the same. A
// plan with a quota keeps everything in a hash: t (TAT), e (end of the
// quota period the count belongs to,
// unix seconds) and n (the count). A count whose e is not the current
// period's end is stale and counts as zero, so the quota resets exactly at
// the boundary whatever the expiry does; the hash expires a margin after
// its period ends (PEXPIREAT, set when a period's first request creates the
// count), or later if its bucket needs longer to refill.
//
// The client sends the period it expects, [ARGV[9], ARGV[10]); the script
// uses it only if the server's clock falls inside, and computes the period
// itself otherwise (the calendar functions are defined only on that path).
//
// ARGV: emission interval (µs), burst, cost, quota limit, quota kind (0 for
// none), a1, a2 (see period_end), expiry margin (s), expected period start
// and end (unix s).
//
// Reply: reason (0 allowed, 1 denied by rate, 2 denied by quota), rate
// tokens left (floor), retry after (µs), reset after (µs), quota left, quota
// period end (unix s).
const takeLua = `
local T = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local qlimit = tonumber(ARGV[4])
local qkind = tonumber(ARGV[5])
local eps = 0.001
local epoch = 1704067200

local tm = redis.call('TIME')
local sec = tonumber(tm[1])
local usec = tonumber(tm[2])
local now = (sec - epoch) * 1000000 + usec

local tat, qused, qend, qe_old = 0, 0, 0, nil
if qkind > 0 then
  local qs, qe = tonumber(ARGV[9]), tonumber(ARGV[10])
  if sec >= qs and sec < qe then
    qend = qe
  else` + periodLua + `
    qend = period_end(sec, qkind, tonumber(ARGV[6]), tonumber(ARGV[7]))
  end
  local h = redis.call('HMGET', KEYS[1], 't', 'e', 'n')
  tat = tonumber(h[1]) or 0
  qe_old = tonumber(h[2])
  if qe_old == qend then qused = tonumber(h[3]) or 0 end
else
  tat = tonumber(redis.call('GET', KEYS[1]) or 0) or 0
end
if tat < now then tat = now end
local tokens = (now - tat) / T + burst

if qkind > 0 and qused + cost > qlimit then
  return {2, math.floor(tokens + eps), (qend - sec) * 1000000 - usec, math.ceil(tat - now), qlimit - qused, qend}
end
if tokens + eps < cost then
  return {1, math.floor(tokens + eps), math.ceil((cost - tokens) * T), math.ceil(tat - now), qlimit - qused, qend}
end

local newtat = tat + cost * T
-- The TAT may have a fraction: format it exactly. Integers (counts, unix
-- times, milliseconds, all below 1e14) convert exactly on their own.
local stat = string.format('%.17g', newtat)
if qkind > 0 then
  local margin = tonumber(ARGV[8])
  local full_ms = math.ceil(newtat / 1000) + epoch * 1000 + 1
  if qe_old == qend then
    redis.call('HSET', KEYS[1], 't', stat, 'n', qused + cost)
    if full_ms > (qend + margin) * 1000 then redis.call('PEXPIREAT', KEYS[1], full_ms) end
  else
    redis.call('HSET', KEYS[1], 't', stat, 'e', qend, 'n', cost)
    local exp = (qend + margin) * 1000
    if full_ms > exp then exp = full_ms end
    redis.call('PEXPIREAT', KEYS[1], exp)
  end
  qused = qused + cost
else
  redis.call('SET', KEYS[1], stat, 'PX', math.ceil((newtat - now) / 1000) + 1)
end
return {0, math.floor(tokens - cost + eps), 0, math.ceil(newtat - now), qlimit - qused, qend}
`

// takeScript runs takeLua with EVALSHA, falling back to EVAL (which loads
// the script again) on NOSCRIPT: after a failover or a SCRIPT FLUSH.
var takeScript = redis.NewScript(takeLua)
