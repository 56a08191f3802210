-- One request, again and again: the URL's path and query, with the
-- Accept-Encoding and If-None-Match given in LOADTEST_AE and LOADTEST_INM.
wrk.headers["Accept-Encoding"] = os.getenv("LOADTEST_AE") or "gzip"
local inm = os.getenv("LOADTEST_INM") or ""
if inm ~= "" then
  wrk.headers["If-None-Match"] = inm
end
