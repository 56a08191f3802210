-- Scenario 4: /stats for one language after another, each query new (a
-- max_stars bound no repository reaches takes a new value every time), so
-- that every answer is computed. LOADTEST_SEED keeps runs apart.
wrk.headers["Accept-Encoding"] = os.getenv("LOADTEST_AE") or "gzip"
local languages = {"python", "javascript", "typescript", "html", "java", "css", "c%23", "shell",
  "c%2B%2B", "go", "rust", "dockerfile", "c", "php", "vue", "scss", "swift", "ruby", "dart", "kotlin"}
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
function init(args)
  n = (tonumber(os.getenv("LOADTEST_SEED")) or 0) + (tid or 0) * 10000000
end
function request()
  n = n + 1
  return wrk.format(nil, string.format("/stats?language=%s&max_stars=%d",
    languages[1 + n % #languages], 1000000000 + n))
end
