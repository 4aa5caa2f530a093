-- wrk script for bench/reads.py: GET one path, with Accept-Language taken in turn from a list,
-- as the browsers of a crowd send it. Settings come as globals set by reads.py in a generated
-- prelude (TARGET_PATH, LANGUAGES, ACCEPT). Prints one BENCH_JSON line at the end.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for i, language in ipairs(LANGUAGES) do
    requests[i] = wrk.format("GET", TARGET_PATH, {
      ["Accept-Language"] = language,
      ["Accept"] = ACCEPT,
    })
  end
  idx = 0
end

function request()
  idx = idx % #requests + 1
  return requests[idx]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_s": %.6f, "not_2xx": %d, "socket_errors": %d, '
      .. '"timeouts": %d, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, '
      .. '"bytes": %d}\n',
    summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write,
    e.timeout, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.bytes))
end
