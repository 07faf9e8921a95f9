// orymfa's claims mapper for Ory's session tokenizer (whoami?tokenize_as=<template>).
// Kratos sets iss, sub, sid, jti, iat, nbf and exp (iat + the template's ttl); this adds what
// orymfa's policy reads, all times in Unix seconds. It reads no identity traits: a schema
// without the trait would make minting fail.
local session = std.extVar('session');

// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
local daysFromCivil(year, month, day) =
  local y = if month <= 2 then year - 1 else year;
  local era = std.floor(y / 400);
  local yoe = y - era * 400;
  local mp = (month + 9) % 12;
  local doy = std.floor((153 * mp + 2) / 5) + day - 1;
  local doe = yoe * 365 + std.floor(yoe / 4) - std.floor(yoe / 100) + doy;
  era * 146097 + doe - 719468;

// An RFC 3339 time (2006-01-02T15:04:05[.fraction](Z|+hh:mm|-hh:mm)) in whole Unix seconds:
// Jsonnet has no date functions. The fraction is dropped, which makes a factor look up to a
// second older, never newer.
local unix(t) =
  local n(from, len) = std.parseInt(std.substr(t, from, len));
  local rest = std.substr(t, 19, std.length(t) - 19);
  local zoneAt = std.filter(function(i) std.member('Zz+-', rest[i]), std.range(0, std.length(rest) - 1));
  local zone = std.substr(rest, zoneAt[0], std.length(rest) - zoneAt[0]);
  local offset =
    if zone == 'Z' || zone == 'z' then 0
    else (if zone[0] == '-' then -1 else 1) * (std.parseInt(std.substr(zone, 1, 2)) * 3600 + std.parseInt(std.substr(zone, 4, 2)) * 60);
  daysFromCivil(n(0, 4), n(5, 2), n(8, 2)) * 86400 + n(11, 2) * 3600 + n(14, 2) * 60 + n(17, 2) - offset;

local methods = [
  {
    method: m.method,
    aal: m.aal,
    [if std.objectHas(m, 'completed_at') then 'completed_at']: unix(m.completed_at),
  }
  for m in std.get(session, 'authentication_methods', [])
];
local secondFactors = [m.completed_at for m in methods if m.aal != 'aal1' && std.objectHas(m, 'completed_at')];

{
  claims: {
    aud: 'orymfa',
    acr: session.authenticator_assurance_level,
    amr: [m.method for m in methods],
    auth_time: unix(session.authenticated_at),
    [if std.length(secondFactors) > 0 then 'second_factor_time']: std.foldl(std.max, secondFactors, 0),
    session_expires_at: unix(session.expires_at),
    authentication_methods: methods,
  },
}
