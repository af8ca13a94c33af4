-- wrk script: non-conflicting deposits of 1, each wrk thread on its own account, a fresh transaction id per request.
-- Run with as many connections as threads (-t8 -c8) and ACCOUNTS=<id>,<id>,... (one opened account per thread).
local accounts = {}
for id in string.gmatch(os.getenv("ACCOUNTS") or "", "[^,]+") do accounts[#accounts + 1] = id end
local assigned = 0

function setup(thread)
  assigned = assigned + 1
  if accounts[assigned] == nil then error("ACCOUNTS lists fewer accounts than wrk threads") end
  thread:set("account", accounts[assigned])
  thread:set("seed", assigned)
end

function init(args)
  math.randomseed(os.time() * 1000 + seed)
end

local hex = "0123456789abcdef"
local function digits(n)
  local out = {}
  for i = 1, n do
    local r = math.random(1, 16)
    out[i] = hex:sub(r, r)
  end
  return table.concat(out)
end

-- A random (version 4) UUID: 122 random bits, so repeats within a run are not a concern.
local function uuid()
  return digits(8) .. "-" .. digits(4) .. "-4" .. digits(3) .. "-a" .. digits(3) .. "-" .. digits(12)
end

function request()
  return wrk.format("PUT", "/api/account/" .. account .. "/deposit?amount=1&transactionId=" .. uuid())
end
