-- Dovecot (2.3, dovecot-auth-lua) passdb that checks mail passwords with Kagiya's
-- POST /api/service/verify. docs/integrations.md shows the configuration:
--
--   passdb {
--     driver = lua
--     args = file=/etc/dovecot/kagiya-auth.lua blocking=yes cache_key=%u
--   }
--   userdb {
--     driver = prefetch
--   }
--
-- It reads kagiya-auth.conf beside itself (mode 0640, group dovecot):
--   url = https://id.example.com
--   secret = <the service credential>
--
-- A right password answers the login ID as the user name and the quota (quota_gb;
-- 0 is Dovecot's "no limit") as userdb_quota_rule, which Dovecot's auth cache keeps for
-- auth_cache_ttl. A refusal is a password mismatch; anything that is not the person's
-- fault (Kagiya unreachable, a revoked credential, throttling) is an internal failure,
-- so that the mail client does not tell the person its password is wrong.
-- Needs Debian's lua-socket, lua-sec (https) and lua-cjson.

local http = require("socket.http")
local ltn12 = require("ltn12")
local json = require("cjson")

local config = nil

local function load_config()
  local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
  local f, err = io.open(dir .. "kagiya-auth.conf", "r")
  if f == nil then
    return nil, "kagiya-auth.conf: " .. tostring(err)
  end
  local c = {}
  for line in f:lines() do
    local k, v = line:match("^%s*([%w_]+)%s*=%s*(.-)%s*$")
    if k ~= nil then
      c[k] = v
    end
  end
  f:close()
  if c.url == nil or c.secret == nil then
    return nil, "kagiya-auth.conf needs url and secret"
  end
  c.url = c.url:gsub("/+$", "")
  return c
end

local protocols = { imap = "imap", pop3 = "pop3", smtp = "smtp", submission = "smtp" }

function auth_password_verify(req, pass)
  if config == nil then
    local c, err = load_config()
    if c == nil then
      req:log_error(err)
      return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, ""
    end
    config = c
  end
  local body = json.encode({
    login_id = req.user,
    password = pass,
    protocol = protocols[req.service] or "other",
    client_ip = req.remote_ip or "",
  })
  local request = http.request
  if config.url:match("^https:") then
    request = require("ssl.https").request
  end
  http.TIMEOUT = 10
  local out = {}
  local ok, status = request({
    url = config.url .. "/api/service/verify",
    method = "POST",
    headers = {
      ["Content-Type"] = "application/json",
      ["Content-Length"] = tostring(#body),
      ["Authorization"] = "Bearer " .. config.secret,
    },
    source = ltn12.source.string(body),
    sink = ltn12.sink.table(out),
  })
  if ok == nil then
    req:log_error("kagiya unreachable: " .. tostring(status))
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, ""
  end
  local parsed, answer = pcall(json.decode, table.concat(out))
  if not parsed or type(answer) ~= "table" then
    req:log_error("kagiya answered " .. tostring(status) .. " without JSON")
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, ""
  end
  if status == 401 and answer.error ~= nil and answer.error.code == "invalid_credentials" then
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
  end
  if status ~= 200 or type(answer.login_id) ~= "string" then
    local code = answer.error ~= nil and answer.error.code or ""
    req:log_error("kagiya answered " .. tostring(status) .. " " .. tostring(code))
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, ""
  end
  return dovecot.auth.PASSDB_RESULT_OK, {
    user = answer.login_id,
    userdb_quota_rule = string.format("*:storage=%dG", math.tointeger(answer.quota_gb) or 0),
  }
end
