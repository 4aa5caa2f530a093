-- wrk script for bench/intake_load.py: replays unique statement bodies, counts statuses and
-- writes every acknowledged receipt to <receipts_prefix><thread>. Settings come as globals
-- set by intake_load.py in a generated prelude (BODIES, RECEIPTS, TARGET_PATH, NTHREADS).

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  local i = 0
  for line in io.lines(BODIES) do
    if i % NTHREADS == tid then
      bodies[#bodies + 1] = line
    end
    i = i + 1
  end
  idx = 0
  wraps = 0
  c201, c4xx, c5xx, cother = 0, 0, 0, 0
  out = io.open(RECEIPTS .. tid, "w")
  out:setvbuf("line")
  hdrs = { ["Content-Type"] = "application/json" }
end

function request()
  idx = idx + 1
  if idx > #bodies then
    idx = 1
    wraps = wraps + 1
  end
  return wrk.format("POST", TARGET_PATH, hdrs, bodies[idx])
end

function response(status, headers, body)
  if status == 201 then
    c201 = c201 + 1
    local receipt = string.match(body, '"receipt":%s*"(%x+)"')
    if receipt then
      out:write(receipt, "\n")
    end
  elseif status >= 500 then
    c5xx = c5xx + 1
  elseif status >= 400 then
    c4xx = c4xx + 1
  else
    cother = cother + 1
  end
end

function done(summary, latency, requests)
  local t201, t4, t5, tother, twraps = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    t201 = t201 + t:get("c201")
    t4 = t4 + t:get("c4xx")
    t5 = t5 + t:get("c5xx")
    tother = tother + t:get("cother")
    twraps = twraps + t:get("wraps")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_s": %.6f, "s201": %d, "s4xx": %d, "s5xx": %d, '
      .. '"sother": %d, "wraps": %d, "socket_errors": %d, "timeouts": %d, '
      .. '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, t201, t4, t5, tother, twraps,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
