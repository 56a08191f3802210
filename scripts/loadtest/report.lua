-- Appended to every scenario script: one line that loadtest.sh reads.
-- Latencies are in microseconds; errors counts failed connections, reads,
-- writes and time-outs; bad counts answers whose status was not 2xx/3xx.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d bad=%d bytes=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.bytes))
end
