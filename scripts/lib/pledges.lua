-- wrk: POST /api/pledges with a new Idempotency-Key every time, guests and a signed-in donor
-- alternating, to one campaign. Arguments: the campaign id, the donor's access token.
-- Prints the answers that were not 201, so a benchmark never counts refusals as throughput.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  campaign = args[1]
  token = args[2] or ""
  counter = 0
  refused = 0
end

function request()
  counter = counter + 1
  local key = "wrk-" .. id .. "-" .. counter .. "-" .. campaign
  local headers = { ["Content-Type"] = "application/json", ["Idempotency-Key"] = key }
  local body
  if token ~= "" and counter % 2 == 0 then
    headers["Authorization"] = "Bearer " .. token
    body = string.format('{"campaign_id":"%s","amount":%d,"currency":"USD","anonymous":false}', campaign, 100 + counter % 900)
  else
    body = string.format('{"campaign_id":"%s","amount":%d,"currency":"USD","anonymous":true,"donor":{"name":"Guest","email":"g%d-%d@example.org"}}',
      campaign, 100 + counter % 900, id, counter)
  end
  return wrk.format("POST", "/api/pledges", headers, body)
end

function response(status)
  if status ~= 201 then refused = refused + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("refused") end
  io.write(string.format("not_201 %d\n", total))
  io.write(string.format("latency_p50_ms %.1f\nlatency_p99_ms %.1f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
