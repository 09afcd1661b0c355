-- Each request as a random caller: lines of "token path" (path may hold the caller's own ids).
-- BODY, when set in the environment, is sent as a JSON POST.
local lines = {}
local body = os.getenv("BODY")

function init(args)
  for line in io.lines(args[1]) do
    local token, path = line:match("^(%S+)%s+(%S+)$")
    lines[#lines + 1] = { token = token, path = path }
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local pick = lines[math.random(#lines)]
  local headers = { ["Authorization"] = "Bearer " .. pick.token }
  if body and body ~= "" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", pick.path, headers, body)
  end
  return wrk.format("GET", pick.path, headers)
end
