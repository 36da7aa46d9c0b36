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

// scriptEpoch is the script's time origin (its local epoch), 2024-01-01
// in unix seconds: times in µs since then stay exact in a double.
// TestScriptEpoch keeps the two in step.
const scriptEpoch = 1704067200

// takeLua decides one request: the GCRA rate check and the calendar quota,
// atomically, on the server's clock, in one round trip. A denied request
// writes nothing (but a fallback's debt, below); the key it writes has an
// expiry, set in the same script.
//
// The script does as little as it can, because Redis runs it on its one
// thread and its cost is most of what a decision costs the server: it reads
// the clock and the state in one HMGET, decides, writes in one HSET, and
// returns the raw values; the client derives remaining, retry-after and
// reset-after from them.
//
// KEYS[1] is the tenant's one hash, whatever its plan. Its field t is the
// rate state: the theoretical arrival time (TAT) in microseconds since
// 2024-01-01 (an exact double; redis.call writes numbers with 17
// significant digits, which read back as the same double, where Lua's own
// tostring would round). The TAT is a time, so it means the same under
// plans of different rates. For each kind of quota period the tenant has
// been limited by (day, week or month, with its anchor: <kind>), e<kind>
// holds the end of the period counted (unix seconds) and c<kind> its
// count; a count of another period end counts as nothing, so the quota
// resets exactly at the boundary whatever the expiry does. Plans of the
// same kind share the count (an upgrade or a downgrade keeps it); plans of
// other kinds never touch it. The hash holds one such pair per kind ever
// used, so it stays small.
//
// Field x is the expiry the script last set (unix s). The hash must live
// until its bucket is full again and a margin past the end of every
// period it counts; the script extends the expiry only when a write needs
// more than x, and then by a minute more, so most decisions write one
// HSET and no EXPIREAT, and the expiry never moves earlier.
//
// The hash took over the name of the previous layout's quota hash (t and
// a count in a field named by the period end), so a count of the current
// period found there at a kind's first request still counts, and the
// field goes.
//
// Every write of the script starts with the HSET, which Redis refuses when
// it is out of memory under noeviction: a script that has written may
// write on past maxmemory.
//
// ARGV, every plan: emission interval T (µs per unit of cost, may have a
// fraction), the bucket's capacity as a TAT lead ((burst + 0.001) * T: a
// request is allowed when the TAT it leaves is at most that far ahead of
// now, the 0.001 absorbing rounding), cost. Plans with a quota add: quota
// limit, the period the client expects [start, end) in unix seconds, the
// expiry margin in seconds, the calendar (kind 1 day, 2 week, 3 month, and
// a1, a2 as period_end takes them), and the names of the kind's two
// fields. The script uses the expected period only if the server's clock
// falls inside it and computes the period itself otherwise (the calendar
// functions are defined only on that path, so the common path does not pay
// for creating them). Optionally a debt and its period end: cost that a
// fallback allowed while Redis was unreachable, added to the count
// (allowed or not) if its period is still current.
//
// Reply: reason (0 allowed, 1 denied by rate, 2 denied by quota), the TAT
// before the request (not earlier than now), now, and with a quota the count
// before the request (the debt included) and the period end (unix s). An
// allowed request of the period the client expected leaves the period end
// out: the client knows it. Times are whole µs since 2024-01-01 (truncated).
const takeLua = `
local T = tonumber(ARGV[1])
local cost = tonumber(ARGV[3])
local epoch = 1704067200

local tm = redis.call('TIME')
local sec = tonumber(tm[1])
local now = (sec - epoch) * 1000000 + tonumber(tm[2])

if ARGV[4] == nil then
  local h = redis.call('HMGET', KEYS[1], 't', 'x')
  local tat = tonumber(h[1]) or now
  if tat < now then tat = now end
  local newtat = tat + cost * T
  if newtat - now > tonumber(ARGV[2]) then return {1, tat, now} end
  local want = math.ceil(newtat / 1000000) + epoch + 1
  local x = tonumber(h[2])
  if x and want <= x then
    redis.call('HSET', KEYS[1], 't', newtat)
    return {0, tat, now}
  end
  -- Extend the expiry, by a minute more than needed; a hash of the
  -- previous layout (no x) keeps its own expiry if later.
  local ex = want + 60
  if not x and h[1] then
    local ttl = redis.call('TTL', KEYS[1])
    if ttl > 0 and sec + ttl > ex then ex = sec + ttl end
  end
  redis.call('HSET', KEYS[1], 't', newtat, 'x', ex)
  redis.call('EXPIREAT', KEYS[1], ex)
  return {0, tat, now}
end

-- The period end is kept as the client sent it: comparing and storing the
-- string spares number conversions, which are most of the script's cost.
local qend_s = ARGV[6]
local qend = tonumber(qend_s)
local own = false
if sec < tonumber(ARGV[5]) or sec >= qend then` + periodLua + `
  qend = period_end(sec, tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]))
  qend_s = tostring(qend)
  own = true
end
local ef, cf = ARGV[11], ARGV[12]
local h = redis.call('HMGET', KEYS[1], 't', 'x', ef, cf)
local tat = tonumber(h[1]) or now
if tat < now then tat = now end
local newtat = tat + cost * T
local fresh = h[3] ~= qend_s
local qused, old
if fresh then
  -- The previous layout's count of this period, if any.
  old = redis.call('HGET', KEYS[1], qend_s)
  qused = tonumber(old) or 0
else
  qused = tonumber(h[4]) or 0
end
local add = 0
if ARGV[13] and ARGV[14] == qend_s then
  add = tonumber(ARGV[13])
  qused = qused + add
end
local reason = 0
if qused + cost > tonumber(ARGV[4]) then reason = 2
elseif newtat - now > tonumber(ARGV[2]) then reason = 1
else add = add + cost end
if add > 0 then
  local total = qused
  local want = qend + tonumber(ARGV[7])
  if reason == 0 then
    total = qused + cost
    local full = math.ceil(newtat / 1000000) + epoch + 1
    if full > want then want = full end
  end
  local x = tonumber(h[2])
  if reason == 0 and not fresh and x and want <= x then
    redis.call('HSET', KEYS[1], 't', newtat, cf, total)
  else
    local ex
    if not x or want > x then
      ex = want + 60
      if not x and (h[1] or old) then
        local ttl = redis.call('TTL', KEYS[1])
        if ttl > 0 and sec + ttl > ex then ex = sec + ttl end
      end
    end
    local f = {'HSET', KEYS[1], cf, total}
    if reason == 0 then f[5] = 't'; f[6] = newtat end
    if fresh then f[#f + 1] = ef; f[#f + 1] = qend_s end
    if ex then f[#f + 1] = 'x'; f[#f + 1] = ex end
    redis.call(unpack(f))
    if old then redis.call('HDEL', KEYS[1], qend_s) end
    if ex then redis.call('EXPIREAT', KEYS[1], ex) end
  end
end
if reason ~= 0 then return {reason, tat, now, qused, qend} end
if own then return {0, tat, now, qused, qend} end
return {0, tat, now, qused}
`

// takeScript runs takeLua with EVALSHA, falling back to EVAL (which loads
// the script again) on NOSCRIPT: after a failover or a SCRIPT FLUSH.
var takeScript = redis.NewScript(takeLua)
