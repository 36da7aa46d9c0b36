-- wrk script of tenantkit's load harness: every request carries the next
-- tenant's bearer token, rotating over the tokens file given after "--"
-- (one "tenant tier token" line per tenant). The requests are formatted
-- once, in init, so that the generator spends nothing per request but an
-- index. done prints one JSON line the harness parses.

local reqs = {}
local n = 0
local i = 0

function init(args)
  local path = args[1]
  local f = assert(io.open(path, "r"), "cannot open tokens file " .. tostring(path))
  for line in f:lines() do
    local tok = line:match("(%S+)%s*$")
    if tok then
      n = n + 1
      reqs[n] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tok })
    end
  end
  f:close()
  assert(n > 0, "no tokens in " .. path)
  -- Threads start at different tenants.
  i = math.random(n) - 1
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"tenantkit_load":1,"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
