-- wrk script: open-loop Poisson arrivals at a fixed mean rate, shared by all of wrk's
-- connections. Usage: wrk -s poisson.lua URL -- RATE [SEED]
--
-- Each time a connection is free to send, it takes the next arrival time of one global
-- schedule whose gaps are exponentially distributed, and waits for it. So requests arrive as
-- independent events at RATE per second on average, whichever connection carries them. hey -q
-- instead gives every worker its own ticker; the tickers start together, so N workers send N
-- requests at the same instant every N/RATE seconds.
--
-- wrk waits whole milliseconds (it truncates the delay), so arrivals land on a 1 ms grid: a
-- request is sent up to 1 ms early, never late. Latency is timed from the write, as always.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } weft_timespec;
int clock_gettime(int clock_id, weft_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("weft_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local mean_gap_ms
local next_at

function init(args)
  local rate = tonumber(args[1])
  if rate == nil or rate <= 0 then error("poisson.lua: pass the rate in requests/s after --") end
  mean_gap_ms = 1000 / rate
  math.randomseed(tonumber(args[2] or "1"))
end

function delay()
  local t = now_ms()
  -- After a stall (all connections busy for a long time) start afresh rather than firing the
  -- whole backlog at once.
  if next_at == nil or next_at < t - 1000 then next_at = t end
  next_at = next_at - math.log(1 - math.random()) * mean_gap_ms
  local wait = next_at - t
  if wait < 0 then return 0 end
  return wait
end
