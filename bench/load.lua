-- wrk script for bench/load.py: the requests come from a file prepared by the bench.
--
--   wrk -t1 -c4 -d15s -s bench/load.lua http://127.0.0.1:8000/api/v1/me -- FILE
--
-- FILE holds one request a line:
--   <token>                                   GET the URL with that bearer token (lines cycled)
--   <token> TAB <idempotency key> TAB <json>  POST the body (each line sent once: trips must be distinct)
-- Counts every answer that is not 2xx; done() prints the results as key=value lines for the bench.

local requests, posting, next_request = {}, false, 1
non2xx, first_error, ran_out = 0, "", 0  -- globals: done() reads them through thread:get()

function init(args)
  for line in io.lines(args[1]) do
    local token, key, body = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
    if token then
      posting = true
      requests[#requests + 1] = wrk.format("POST", nil, {
        ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = key}, body)
    else
      requests[#requests + 1] = wrk.format("GET", nil, {["Authorization"] = "Bearer " .. line})
    end
  end
  if #requests == 0 then error("no requests in " .. args[1]) end
end

function request()
  if next_request > #requests then
    if posting then
      -- Sending a track twice would be refused (422): stop instead; the bench reports it.
      ran_out = 1
      wrk.thread:stop()
    end
    next_request = 1
  end
  local r = requests[next_request]
  next_request = next_request + 1
  return r
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_error == "" then
      first_error = status .. " " .. string.sub(string.gsub(body or "", "%s+", " "), 1, 300)
    end
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, _)
  local bad, error_text, out = 0, "", 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    out = math.max(out, thread:get("ran_out"))
    if error_text == "" then error_text = thread:get("first_error") end
  end
  local e = summary.errors
  io.write(string.format("requests=%d\nduration_us=%d\np50_us=%d\np99_us=%d\nnon2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), bad))
  io.write(string.format("socket_errors=%d\nran_out=%d\nfirst_error=%s\n",
    e.connect + e.read + e.write + e.timeout, out, error_text))
end
