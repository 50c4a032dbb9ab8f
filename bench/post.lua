-- wrk script: POST Crayon JSON bodies whose steps increase with every request.
-- Usage: wrk -t1 -s post.lua URL -- KIND COUNT METRICS FIRST_REQUEST
-- Request number q (from FIRST_REQUEST >= 1 on) carries, with wt = 1700000000 + q / 1000:
--   KIND point: [wt, q, v]
--   KIND batch: [[wt, q*S + i, v_i] for i < COUNT], S the smallest power of 10 >= COUNT
--   KIND multi: {"m0": <the batch above>, ..., "m<METRICS-1>": <the same>}
--   KIND hist:  [wt, q, [COUNT values]]  (for tobuild=true)
-- The same bodies as make_body() in loadgen.py. Batch bodies are assembled from pieces built once
-- (only the "[wt,q" prefix changes per request) so that wrk's one core outruns the server.
-- done() prints one line "BENCHJSON {...}" with requests, duration, errors and latency (us).
-- Run with one thread (-t1): the request counter lives in the thread's Lua state.

local kind, count, metrics, q
local headers = { ["Content-Type"] = "application/json" }
local WT0 = 1700000000.0
local pieces = {}
local fixed

local function batch_value(i)
  return string.format("%.6f", math.sin(i * 0.37))
end

local function hist_value(i)
  return string.format("%.6f", math.sin(i * 0.37) * 3.0 + (i % 7) * 0.1)
end

function init(args)
  kind = args[1] or "point"
  count = tonumber(args[2] or "1")
  metrics = tonumber(args[3] or "1")
  q = tonumber(args[4] or "1")
  if kind == "batch" or kind == "multi" then
    local digits = string.len(tostring(count - 1))
    for i = 0, count - 1 do
      local tail = (i < count - 1) and "],[" or "]"
      pieces[2 * i + 2] = string.format("%0" .. digits .. "d,%s%s", i, batch_value(i), tail)
    end
  elseif kind == "hist" then
    local parts = {}
    for i = 1, count do
      parts[i] = hist_value(i)
    end
    fixed = table.concat(parts, ",")
  end
end

local function batch()
  local prefix = string.format("%.3f,%d", WT0 + q * 0.001, q)
  for i = 1, 2 * count, 2 do
    pieces[i] = prefix
  end
  return "[[" .. table.concat(pieces) .. "]"
end

local function body()
  local wt = WT0 + q * 0.001
  if kind == "batch" then
    return batch()
  elseif kind == "multi" then
    local inner = batch()
    local parts = {}
    for m = 1, metrics do
      parts[m] = string.format('"m%d":', m - 1) .. inner
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "hist" then
    return string.format("[%.3f,%d,[%s]]", wt, q, fixed)
  end
  return string.format("[%.3f,%d,%.6f]", wt, q, math.sin(q * 0.01))
end

function request()
  local b = body()
  q = q + 1
  return wrk.format("POST", nil, headers, b)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,'
      .. '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50.0), latency:percentile(99.0), latency.max))
end
