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
--   cafile = /etc/ssl/certs/ca-certificates.crt   (optional; this is the default)
--   timeout = 10                                   (optional; seconds per request)
--
-- Over https the server's certificate is verified against cafile and its names
-- (subjectAltName) must match the URL's host, before the request (which carries the
-- service credential and the person's password) is sent. LuaSec verifies the chain
-- ("peer") but not the name, so the name is checked here after the handshake.
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

-- The names a certificate is valid for: its subjectAltName DNS names and IP addresses
-- (RFC 6125: the subject's common name is not consulted).
local function cert_names(cert)
  local names = {}
  local ext = cert:extensions() or {}
  local san = ext["2.5.29.17"] or {}
  for _, kind in ipairs({ "dNSName", "iPAddress" }) do
    for _, name in ipairs(san[kind] or {}) do
      names[#names + 1] = name:lower()
    end
  end
  return names
end

-- host_matches follows RFC 6125 6.4.3: an exact match, or a wildcard as the whole
-- leftmost label standing for exactly one label ("*.example.com" matches
-- "id.example.com", not "example.com" or "a.id.example.com").
local function host_matches(host, name)
  if name == host then
    return true
  end
  local rest = name:match("^%*(%..+%..+)$")
  if rest == nil then
    return false
  end
  local first, tail = host:match("^([^.]+)(%..+)$")
  return first ~= nil and tail == rest
end

-- https_create returns LuaSocket's "create" function for one TLS connection to host:
-- the handshake verifies the chain against cafile, then the name is checked, all before
-- LuaSocket writes the request.
local function https_create(host, cafile, timeout)
  local socket = require("socket")
  local ssl = require("ssl")
  local params = {
    mode = "client",
    protocol = "any",
    options = { "all", "no_sslv2", "no_sslv3", "no_tlsv1", "no_tlsv1_1" },
    verify = { "peer", "fail_if_no_peer_cert" },
    cafile = cafile,
  }
  return function()
    local tcp = assert(socket.tcp())
    local conn = { sock = tcp }
    function conn:settimeout()
      return self.sock:settimeout(timeout)
    end
    function conn:connect(h, port)
      self.sock:settimeout(timeout)
      local ok, err = self.sock:connect(h, port)
      if not ok then
        return nil, err
      end
      local wrapped, werr = ssl.wrap(self.sock, params)
      if wrapped == nil then
        return nil, werr
      end
      self.sock = wrapped
      self.sock:sni(host)
      self.sock:settimeout(timeout)
      local done, herr = self.sock:dohandshake()
      if not done then
        return nil, "TLS: " .. tostring(herr)
      end
      local cert = self.sock:getpeercertificate()
      local matched = false
      for _, name in ipairs(cert and cert_names(cert) or {}) do
        if host_matches(host:lower(), name) then
          matched = true
          break
        end
      end
      if not matched then
        self.sock:close()
        return nil, "TLS: the certificate is not valid for " .. host
      end
      return 1
    end
    setmetatable(conn, {
      __index = function(t, name)
        return function(self, ...)
          local s = rawget(self, "sock")
          return s[name](s, ...)
        end
      end,
    })
    return conn
  end
end

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
  c.cafile = c.cafile or "/etc/ssl/certs/ca-certificates.crt"
  c.timeout = tonumber(c.timeout) or 10
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
  http.TIMEOUT = config.timeout
  local create = nil
  local target = require("socket.url").parse(config.url)
  if target.scheme == "https" then
    create = https_create(target.host, config.cafile, config.timeout)
  end
  local out = {}
  local ok, status = http.request({
    create = create,
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
