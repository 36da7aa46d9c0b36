package redisusage

import "github.com/redis/go-redis/v9"

// addLua adds one chunk of a replica's usage deltas to a period's hash,
// once: KEYS[1] is the period's usage hash, KEYS[2] the hash of the last
// flush sequence number each replica applied to it, per chunk (both under
// the period's hash tag, so in one Cluster slot). ARGV: replica ID, flush
// sequence number, expiry (unix seconds), the tenant bound, the overflow
// tenant ID, the chunk's index, then seven values per tenant: ID, whether
// the replica flushed the tenant before ("1") or not ("0"), its tier (""
// when unchanged), requests, handler nanoseconds, bytes in, bytes out.
//
// A chunk whose sequence number is not above the one recorded for the
// replica and chunk index is a resend after a lost reply and changes
// nothing; chunks are independent, so one that failed does not hold back
// the others. A tenant new to the replica that has no row yet, when the
// hash already holds the bound's number of tenants, is added to the
// overflow row. Counts go to HINCRBY as the strings they came as, so that
// int64 values never pass through a Lua double; zero counts are skipped.
//
// It returns {1, the IDs of the tenants added to the overflow row...}, or
// {0} for a resend.
//
// The script is the server's cost of a flush (Redis runs it on its one
// thread), so it does the least per tenant: at most four HINCRBY, a
// HEXISTS only for a tenant the replica has not flushed before and an
// HSET only when the tier changed. After Redis loses its data the
// replicas' known tenants are not counted again toward the bound, which
// then admits a few more than it says.
const addLua = `
local field = ARGV[1] .. '/' .. ARGV[6]
local last = tonumber(redis.call('HGET', KEYS[2], field) or '0')
local seq = tonumber(ARGV[2])
if seq <= last then return {0} end
local max = tonumber(ARGV[4])
local other = ARGV[5]
local n = tonumber(redis.call('HGET', KEYS[1], '#') or '0')
local n0 = n
local out = {1}
for i = 7, #ARGV, 7 do
  local id = ARGV[i]
  local new = false
  if id ~= other and ARGV[i + 1] == '0' and redis.call('HEXISTS', KEYS[1], id .. '|r') == 0 then
    if n >= max then
      id = other
      out[#out + 1] = ARGV[i]
    else
      n = n + 1
      new = true
    end
  end
  if new or ARGV[i + 3] ~= '0' then
    redis.call('HINCRBY', KEYS[1], id .. '|r', ARGV[i + 3])
  end
  if ARGV[i + 4] ~= '0' then redis.call('HINCRBY', KEYS[1], id .. '|h', ARGV[i + 4]) end
  if ARGV[i + 5] ~= '0' then redis.call('HINCRBY', KEYS[1], id .. '|i', ARGV[i + 5]) end
  if ARGV[i + 6] ~= '0' then redis.call('HINCRBY', KEYS[1], id .. '|o', ARGV[i + 6]) end
  if id ~= other and ARGV[i + 2] ~= '' then
    redis.call('HSET', KEYS[1], id .. '|t', ARGV[i + 2])
  end
end
if n ~= n0 then redis.call('HSET', KEYS[1], '#', n) end
redis.call('HSET', KEYS[2], field, seq)
redis.call('EXPIREAT', KEYS[1], ARGV[3])
redis.call('EXPIREAT', KEYS[2], ARGV[3])
return out
`

// Fixed ARGV entries before the rows, and values per row.
const (
	fixedArgs = 6
	rowArgs   = 7
)

// chunkRows is the most tenants of one script call, so that one call
// holds Redis's thread for a bounded time (about a millisecond here; see
// BENCHMARKS.md).
const chunkRows = 200

var addScript = redis.NewScript(addLua)
