-- wrk script for the benchmarks: POSTs one body with the signed-in admin's cookie and CSRF token (or the
-- stand-in's bearer key), and prints a machine-readable summary line that bench/common.py parses.
wrk.method = "POST"
wrk.body = io.open(os.getenv("BENCH_BODY_FILE"), "rb"):read("*a")
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")
for _, name in ipairs({"Cookie", "X-CSRFToken", "Authorization"}) do
  local value = os.getenv("BENCH_" .. string.upper(string.gsub(name, "-", "_")))
  if value and value ~= "" then wrk.headers[name] = value end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d mean_us=%.1f "
      .. "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
