-- Scenario 3: a different /repos query on every request, each answer
-- listing 50 to 100 repositories: limit cycles through 50..100, sort
-- through the six keys, order flips, and max_stars (a bound no repository
-- reaches) takes a new value every time, so that no two requests share a
-- canonical query and no cache can help. LOADTEST_SEED keeps runs apart.
wrk.headers["Accept-Encoding"] = os.getenv("LOADTEST_AE") or "gzip"
local sorts = {"created", "pushed", "stars", "forks", "size", "name"}
local orders = {"desc", "asc"}
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
  return wrk.format(nil, string.format("/repos?limit=%d&sort=%s&order=%s&max_stars=%d",
    50 + n % 51, sorts[1 + math.floor(n / 51) % 6], orders[1 + math.floor(n / 306) % 2], 1000000000 + n))
end
