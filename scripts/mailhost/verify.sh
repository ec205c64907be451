#!/usr/bin/env bash
# Verify the mail-host configuration documented in docs/mail-hosts.md against
# the real programs: a private Postfix instance (smtpd on 127.0.0.1:2525) and a
# private rspamd (127.0.0.1:11333/11334/11332) reading the HeloPass feed over
# HTTP from a stand-in feed server (scripts/mailhost/feed-stub.mjs, 127.0.0.1:8808).
# Then the HELO table (scripts/mailhost/helo-table.json): every HELO form in it
# is sent to that Postfix, resolving through the suite's test DNS server on
# 127.0.0.2:53 (scripts/mailhost/helo-dns.ts), and Postfix's reply must equal
# the one the table predicts — the table the diagnostics' specs check too.
# The policy path runs the real HeloPass policy server (npm run build first)
# on an embedded PostgreSQL of its own (scripts/mailhost/policy-server.mjs).
#
#   sudo scripts/mailhost/verify.sh [--no-install] [--keep] [--only postfix|rspamd|helo]
#
# Idempotent: it installs postfix and rspamd if they are missing (Debian/Ubuntu,
# root, apt-get; postfix preseeded to "No configuration"), stops whatever a
# previous run left behind, builds everything under $HELOPASS_VERIFY_DIR
# (default /tmp/helopass-mailhost), prints PASS/FAIL/INFO per check and stops
# everything it started (unless --keep). It never touches /etc/postfix/main.cf,
# /etc/postfix/master.cf or /etc/rspamd: the Postfix instance runs with
# `postfix -c DIR`, rspamd with --var LOCAL_CONFDIR=DIR; the configuration
# lines are the documented ones with /etc/postfix replaced by that DIR.
# Everything listens on 127.0.0.1 only. Nothing is ever delivered (the SMTP
# probe stops after RCPT TO).
# Exit status: 0 when every check passed, 1 otherwise.
set -u -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# The policy server runs on the project's Node (the node@24 devDependency), else the machine's.
NODE24="$ROOT/node_modules/.bin/node"
[ -x "$NODE24" ] || NODE24=node
W="${HELOPASS_VERIFY_DIR:-/tmp/helopass-mailhost}"
SMTP_PORT="${SMTP_PORT:-2525}"
FEED_PORT="${FEED_PORT:-8808}"
POLICY_PORT="${POLICY_PORT:-10040}"
HELO_DNS="${HELO_DNS:-127.0.0.2}" # port 53: resolv.conf takes no port
INSTALL=1
KEEP=0
ONLY=all
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) INSTALL=0 ;;
    --keep) KEEP=1 ;;
    --only) ONLY="$2"; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

PF="$W/postfix"          # config_directory of the private Postfix instance
R="$W/rspamd"            # LOCAL_CONFDIR and state of the private rspamd
FEED="$W/feed"           # what the stand-in feed serves
HELO=exch01.corp.example
PASSES=0
FAILS=0

pass() { PASSES=$((PASSES + 1)); printf 'PASS  %s\n' "$1"; }
fail() { FAILS=$((FAILS + 1)); printf 'FAIL  %s\n' "$1"; [ $# -gt 1 ] && printf '      %s\n' "${@:2}"; return 0; }
info() { printf 'INFO  %s\n' "$*"; }

# --- packages ---------------------------------------------------------------
install_packages() {
  local missing=()
  command -v postconf >/dev/null 2>&1 || missing+=(postfix)
  command -v rspamd >/dev/null 2>&1 || missing+=(rspamd)
  command -v node >/dev/null 2>&1 || { echo "node is required" >&2; exit 1; }
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$INSTALL" -eq 0 ] || [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "missing: ${missing[*]} (run as root on Debian/Ubuntu, without --no-install)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  info "installing ${missing[*]}"
  apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null || {
    echo "apt-get install ${missing[*]} failed" >&2
    exit 1
  }
}

# --- teardown (also of a previous run) --------------------------------------
kill_pidfile() {
  local file="$1" pid
  [ -s "$file" ] || return 0
  pid="$(tr -dc 0-9 <"$file")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

teardown() {
  if [ -f "$PF/main.cf" ] && [ -s "$W/spool/pid/master.pid" ]; then
    postfix -c "$PF" stop >/dev/null 2>&1 || true
  fi
  kill_pidfile "$R/run/rspamd.pid"
  kill_pidfile "$W/feed-stub.pid"
  kill_pidfile "$W/policy-stub.pid"
  kill_pidfile "$W/helo-dns.pid"
}

on_exit() {
  if [ "$KEEP" -eq 1 ]; then
    info "--keep: left running; stop with: $0 --only none (or postfix -c $PF stop; kill \$(cat $R/run/rspamd.pid) \$(cat $W/feed-stub.pid))"
  else
    teardown
  fi
  echo "---- $PASSES passed, $FAILS failed (work dir $W)"
}

# --- the stand-in feed --------------------------------------------------------
KEY="$(node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))')"

feed_header() { # rendering count note
  printf '# HeloPass allowlist %s: version %s, as of %s, %s %s\n# %s\n' \
    "$1" "${FEED_VERSION:-1}" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$2" "$([ "$2" = 1 ] && echo entry || echo entries)" "$3"
}

start_feed() {
  mkdir -p "$FEED"
  { feed_header rspamd-ip 2 'rspamd multimap, type ip'; printf '192.0.2.10/32\n2001:db8::/64\n'; } >"$FEED/rspamd-ip"
  { feed_header rspamd-helo 1 'rspamd multimap, type helo'; printf '%s\n' "$HELO"; } >"$FEED/rspamd-helo"
  { feed_header postfix-cidr 1 'Postfix cidr_table for check_client_access, before reject_unknown_helo_hostname'; printf '127.0.0.1/32 OK\n'; } >"$FEED/postfix-cidr"
  { feed_header postfix-helo 1 'Postfix access(5) table for check_helo_access (postmap it), before reject_unknown_helo_hostname'; printf '%s OK\n' "$HELO"; } >"$FEED/postfix-helo"
  # Backdate the files so that a later change gets a strictly newer Last-Modified.
  touch -d '-1 hour' "$FEED"/*
  node "$HERE/feed-stub.mjs" --dir "$FEED" --key "$KEY" --port "$FEED_PORT" --log "$W/feed.log" --public-key-out "$W/feed.pub" &
  echo $! >"$W/feed-stub.pid"
  for _ in $(seq 1 50); do grep -q listening "$W/feed.log" 2>/dev/null && return 0; sleep 0.1; done
  fail "feed stub did not start on 127.0.0.1:$FEED_PORT" "$(cat "$W/feed.log" 2>/dev/null)"
  return 1
}

# Keep one map file in step with the feed: the HeloPass sync agent when it is
# built (dist/helopass-sync.mjs), installed as documented — one file copied
# to $W/bin/helopass-sync and run by the machine's node, nothing of the
# repository beside it — with the filter key in a 0600 file and the feed's
# public key handed over out of band (the stub writes it to a file; the agent
# is never told to fetch it from the feed it checks); else the same by hand
# with curl. MAIL_CONFIG points postmap and `postfix reload` at the private
# instance. Plain http is allowed because the stub listens on loopback.
REPO="$(cd "$HERE/../.." && pwd)"
BUILT_AGENT="$REPO/dist/helopass-sync.mjs"
AGENT="$W/bin/helopass-sync"
install_agent() {
  [ -f "$BUILT_AGENT" ] || return 0
  mkdir -p "$W/bin"
  install -m 0755 "$BUILT_AGENT" "$AGENT"
  (umask 077 && printf '%s\n' "$KEY" >"$W/sync.key")
}
run_agent() { # rendering file [agent flags]
  local rendering="$1" file="$2"
  shift 2
  (cd / && MAIL_CONFIG="$PF" "$AGENT" --url "http://127.0.0.1:$FEED_PORT/v1/allowlist/$rendering" --out "$file" \
    --key-file "$W/sync.key" --public-key "$W/feed.pub" "$@" --once 2>&1)
}
sync_map() { # rendering file [--postmap] [--reload-cmd CMD]
  local rendering="$1" file="$2" out
  shift 2
  [ -x "$AGENT" ] || install_agent
  if [ -x "$AGENT" ]; then
    if out="$(run_agent "$rendering" "$file" "$@")"; then
      pass "sync agent: ${out//$'\n'/ }"
    else
      fail "sync agent for $rendering" "$out"
      return 1
    fi
  else
    info "sync agent not built ($BUILT_AGENT); fetching $rendering with curl instead"
    curl -fsS -H "Authorization: Bearer $KEY" "http://127.0.0.1:$FEED_PORT/v1/allowlist/$rendering" -o "$file.tmp" && mv "$file.tmp" "$file" || { fail "fetch $rendering"; return 1; }
    [ "${1:-}" = --postmap ] && { postmap -c "$PF" "hash:$file"; shift; }
    [ "${1:-}" = --reload-cmd ] && MAIL_CONFIG="$PF" sh -c "$2"
  fi
  sleep 1 # a reload is asynchronous: smtpd processes restart after their session
}

# The agent must refuse the feed's current body (exit status 3) and leave the map file as it was.
refused_map() { # rendering file [agent flags]
  local rendering="$1" file="$2" out rc before
  shift 2
  [ -x "$AGENT" ] || install_agent
  if [ ! -x "$AGENT" ]; then
    info "sync agent not built ($BUILT_AGENT); its refusal of a bad $rendering body is not checked"
    return 0
  fi
  before="$(sha256sum <"$file")"
  out="$(run_agent "$rendering" "$file" "$@")"
  rc=$?
  if [ "$rc" -eq 3 ] && [ "$(sha256sum <"$file")" = "$before" ]; then
    pass "sync agent refused the body (exit 3), map file untouched: ${out//$'\n'/ }"
  else
    fail "sync agent should refuse the $rendering body with exit status 3 and keep the file" "exit $rc: $out"
  fi
}

# --- Postfix ------------------------------------------------------------------
write_postfix_config() {
  mkdir -p "$PF" "$W/spool" "$W/data"
  chown postfix "$W/data"
  # Only the SMTP server and the services it talks to; no delivery agents run
  # because nothing is ever queued. The first line is the one under test
  # (chrooted, as Debian's default smtp line is); the others run the same
  # checks with one setting changed each.
  cat >"$PF/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - y - - smtpd
127.0.0.1:$((SMTP_PORT + 1)) inet n - n - - smtpd
  -o { smtpd_helo_restrictions = reject_unknown_helo_hostname, check_client_access cidr:$PF/helopass-client.cidr, check_helo_access hash:$PF/helopass-helo }
127.0.0.1:$((SMTP_PORT + 2)) inet n - n - - smtpd
  -o smtpd_delay_reject=no
127.0.0.1:$((SMTP_PORT + 3)) inet n - n - - smtpd
  -o { smtpd_helo_restrictions = check_policy_service { inet:127.0.0.1:$POLICY_PORT, default_action=DUNNO }, reject_unknown_helo_hostname }
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
error     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  cat >"$PF/main.cf" <<EOF
# Private test instance (postfix -c $PF). Not a mail system: it accepts
# nothing past RCPT TO from the probe, and never delivers.
compatibility_level = 3.6
queue_directory = $W/spool
data_directory = $W/data
maillog_file_prefixes = $W
maillog_file = $W/postfix.log
myhostname = mx.helopass.test
mydomain = helopass.test
mydestination = helopass.test
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
smtpd_banner = \$myhostname ESMTP

# ---- HeloPass (docs/mail-hosts.md), /etc/postfix replaced by $PF ----
smtpd_helo_required = yes
smtpd_helo_restrictions =
    check_client_access cidr:$PF/helopass-client.cidr,
    check_helo_access hash:$PF/helopass-helo,
    reject_unknown_helo_hostname
EOF
  # The listener under test runs chrooted in the queue directory, like Debian's
  # default smtp line; the resolver there reads the queue directory's etc/
  # (Debian's init script copies these files the same way).
  mkdir -p "$W/spool/etc"
  for f in resolv.conf hosts services host.conf nsswitch.conf; do
    [ -f "/etc/$f" ] && cp -p "/etc/$f" "$W/spool/etc/$f"
  done
  # The files the sync agent keeps: never absent, never empty (a header).
  printf '# HeloPass allowlist postfix-cidr: no entries yet\n' >"$PF/helopass-client.cidr"
  printf '# HeloPass allowlist postfix-helo: no entries yet\n' >"$PF/helopass-helo"
  postmap -c "$PF" "hash:$PF/helopass-helo"
}

probe() { # helo [port] [source address] -> the step that ended the conversation and its reply: "RCPT 250 2.1.5 Ok"
  node "$HERE/smtp-probe.mjs" --port "${2:-$SMTP_PORT}" --helo "$1" ${3:+--source "$3"} >"$W/probe.out" 2>&1
  awk '$1!="BANNER" && $1!="QUIT"' "$W/probe.out" | tail -n 1
}

expect_reply() { # description "STEP expected-reply-prefix" helo [port] [source address]
  local got
  got="$(probe "$3" "${4:-$SMTP_PORT}" "${5:-}")"
  if [[ "$got" == "$2"* ]]; then pass "$1 -> $got"; else fail "$1" "expected: $2…" "got:      $got" "$(tr '\n' '|' <"$W/probe.out")"; fi
}

reload_postfix() { postfix -c "$PF" reload >/dev/null 2>&1; sleep 1; }

REJECT="450 4.7.1 <$HELO>: Helo command rejected: Host not found"

verify_postfix() {
  echo "== Postfix $(postconf -d -h mail_version) =="
  write_postfix_config
  if ! postfix -c "$PF" check 2>"$W/postfix-check.err"; then
    fail "postfix check" "$(cat "$W/postfix-check.err")"
  elif [ -s "$W/postfix-check.err" ]; then
    info "postfix check warnings: $(tr '\n' ' ' <"$W/postfix-check.err")"
  else
    pass "postfix -c $PF check (main.cf/master.cf accepted)"
  fi
  if ! postfix -c "$PF" start >"$W/postfix-start.out" 2>&1; then
    fail "postfix start" "$(cat "$W/postfix-start.out")"
    return
  fi
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break; sleep 0.2; done

  # How this machine's resolver answers for the HELO name decides the flavour
  # of the rejection: NXDOMAIN -> a plain 450 reject; SERVFAIL/timeout ->
  # unknown_helo_hostname_tempfail_action (defer_if_permit), same 450 text.
  local dns
  dns="$(node -e 'require("dns").promises.resolve(process.argv[1],"A").then(()=>console.log("FOUND"),e=>console.log(e.code))' "$HELO")"
  info "DNS lookup of $HELO from this host: $dns (ENOTFOUND = NXDOMAIN, the normal case)"

  # 1. No entry: Postfix's own HELO check rejects. With smtpd_delay_reject=yes
  # (the default) the HELO restrictions are applied at RCPT TO.
  expect_reply "no entry: EHLO $HELO rejected at RCPT TO" "RCPT $REJECT" "$HELO"
  expect_reply "no entry, smtpd_delay_reject=no: rejected at EHLO itself" "EHLO $REJECT" "$HELO" $((SMTP_PORT + 2))

  # 2. cidr entry. Written without a reload first: an smtpd process that is
  # still running keeps the cidr table it loaded (informational).
  printf '127.0.0.1/32 OK\n192.0.2.99/32 OK\n' >"$PF/helopass-client.cidr"
  info "cidr entry written, no reload yet: $(probe "$HELO") (an existing smtpd keeps its old cidr table)"
  # Then as documented: the sync agent writes the feed's body and runs `postfix reload`.
  sync_map postfix-cidr "$PF/helopass-client.cidr" --reload-cmd "postfix reload"
  expect_reply "cidr entry 127.0.0.1/32 OK (sync agent + postfix reload): accepted" "RCPT 250" "$HELO"
  expect_reply "cidr entry, but listed AFTER reject_unknown_helo_hostname: rejected" "RCPT $REJECT" "$HELO" $((SMTP_PORT + 1))

  # cidr_table: an entry that is not the network address is skipped with a warning.
  printf '127.0.0.1/8 OK\n' >"$W/bad.cidr"
  local q
  q="$(postmap -c "$PF" -q 127.0.0.1 "cidr:$W/bad.cidr" 2>&1)"
  if [[ "$q" == *"non-null host address bits"* ]] && [[ "$q" != *OK* ]]; then
    pass "cidr entry 127.0.0.1/8 (not a network address) is skipped: ${q//$'\n'/ }"
  else
    fail "cidr entry 127.0.0.1/8 should be skipped with a warning" "got: $q"
  fi

  # 3. HELO map entry (sync agent with --postmap), the cidr entry gone from the feed again.
  { FEED_VERSION=2 feed_header postfix-cidr 0 'Postfix cidr_table for check_client_access, before reject_unknown_helo_hostname'; } >"$FEED/postfix-cidr"
  sync_map postfix-cidr "$PF/helopass-client.cidr" --reload-cmd "postfix reload"
  expect_reply "cidr entry removed from the feed (sync agent + reload): rejected again" "RCPT $REJECT" "$HELO"
  # A signed body outside the rendering's grammar: Postfix would load `0.0.0.0/0 OK` and let
  # every client through; the agent refuses the body, so neither the file nor Postfix changes.
  { FEED_VERSION=3 feed_header postfix-cidr 1 'Postfix cidr_table for check_client_access, before reject_unknown_helo_hostname'; printf '0.0.0.0/0 OK\n'; } >"$FEED/postfix-cidr"
  cp "$FEED/postfix-cidr" "$W/hostile.cidr"
  info "what Postfix makes of that body: postmap -q 127.0.0.1 -> $(postmap -c "$PF" -q 127.0.0.1 "cidr:$W/hostile.cidr" 2>&1)"
  refused_map postfix-cidr "$PF/helopass-client.cidr" --reload-cmd "postfix reload"
  expect_reply "feed body with 0.0.0.0/0 OK refused by the sync agent: still rejected" "RCPT $REJECT" "$HELO"
  sync_map postfix-helo "$PF/helopass-helo" --postmap --reload-cmd "postfix reload"
  expect_reply "helo entry '$HELO OK' (sync agent --postmap + reload): accepted" "RCPT 250" "$HELO"
  expect_reply "helo entry, EHLO with a trailing dot '$HELO.': rejected" "RCPT 450 4.7.1 <$HELO.>: Helo command rejected: Host not found" "$HELO."
  expect_reply "helo entry, EHLO in upper case: accepted (access maps fold case)" "RCPT 250" "EXCH01.CORP.EXAMPLE"

  # 4. parent_domain_matches_subdomains: 'corp.example OK' matches subdomains by default…
  printf 'corp.example OK\n' >"$PF/helopass-helo"
  postmap -c "$PF" "hash:$PF/helopass-helo"
  reload_postfix
  expect_reply "helo entry 'corp.example OK', default parent_domain_matches_subdomains: subdomain $HELO accepted" "RCPT 250" "$HELO"
  # …and exactly only once smtpd_access_maps is dropped from that list.
  postconf -c "$PF" -e "parent_domain_matches_subdomains = debug_peer_list, fast_flush_domains, mynetworks, permit_mx_backup_networks, qmqpd_authorized_clients, relay_domains"
  reload_postfix
  expect_reply "same entry, parent_domain_matches_subdomains without smtpd_access_maps: $HELO rejected" "RCPT $REJECT" "$HELO"
  printf '%s OK\n' "$HELO" >"$PF/helopass-helo"
  postmap -c "$PF" "hash:$PF/helopass-helo"
  reload_postfix
  expect_reply "exact setting, entry '$HELO OK': $HELO accepted" "RCPT 250" "$HELO"
  printf '.corp.example OK\n' >"$PF/helopass-helo"
  postmap -c "$PF" "hash:$PF/helopass-helo"
  reload_postfix
  expect_reply "exact setting, entry '.corp.example OK' (leading dot): subdomain $HELO accepted" "RCPT 250" "$HELO"
  printf '%s OK\n' "$HELO" >"$PF/helopass-helo"
  postmap -c "$PF" "hash:$PF/helopass-helo"
  reload_postfix
  expect_reply "exact setting, entry '$HELO OK': sub.$HELO rejected" "RCPT 450 4.7.1 <sub.$HELO>: Helo command rejected: Host not found" "sub.$HELO"

  # A map file that is missing defers every client: create it before Postfix uses it.
  mv "$PF/helopass-client.cidr" "$PF/helopass-client.cidr.away"
  reload_postfix
  expect_reply "cidr map file missing: every client deferred" "RCPT 451 4.3.5" "$HELO"
  mv "$PF/helopass-client.cidr.away" "$PF/helopass-client.cidr"
  reload_postfix

  # 5. The policy-server alternative: its place in the list and default_action=DUNNO.
  expect_reply "check_policy_service, nothing listening on $POLICY_PORT, default_action=DUNNO: falls through to the HELO check" "RCPT $REJECT" "$HELO" $((SMTP_PORT + 3))
  # The real policy server (npm run build first), on an embedded PostgreSQL of its own holding one
  # pair exception ($HELO, 127.0.0.1); 127.0.0.2 is another client address on the same loopback.
  if [ ! -f "$ROOT/dist/apps/policy/src/main.js" ]; then
    fail "policy server: $ROOT/dist/apps/policy/src/main.js is missing (npm run build)"
  else
    "$NODE24" "$HERE/policy-server.mjs" --port "$POLICY_PORT" --helo "$HELO" --address 127.0.0.1 >"$W/policy.log" 2>&1 &
    echo $! >"$W/policy-stub.pid"
    for _ in $(seq 1 600); do grep -q '^ready$' "$W/policy.log" 2>/dev/null && break; sleep 0.1; done
    if ! grep -q '^ready$' "$W/policy.log"; then
      fail "policy server did not start" "$(tr '\n' '|' <"$W/policy.log")"
    else
      expect_reply "policy server, pair ($HELO, 127.0.0.1) granted: accepted" "RCPT 250" "$HELO" $((SMTP_PORT + 3))
      expect_reply "policy server: the same HELO from another address (127.0.0.2): rejected" "RCPT $REJECT" "$HELO" $((SMTP_PORT + 3)) 127.0.0.2
      expect_reply "policy server: another HELO from the granted address: rejected" "RCPT 450 4.7.1 <other.corp.example>: Helo command rejected: Host not found" "other.corp.example" $((SMTP_PORT + 3))
      expect_reply "policy server: HELO in upper case with a trailing dot: accepted (compared normalized)" "RCPT 250" "EXCH01.CORP.EXAMPLE." $((SMTP_PORT + 3))
      # Revoked (committed in PostgreSQL): rejected again within the propagation bound.
      kill -USR1 "$(cat "$W/policy-stub.pid")"
      for _ in $(seq 1 100); do grep -q '^revoked$' "$W/policy.log" && break; sleep 0.05; done
      revoked_at=$(date +%s%N)
      got=""
      for _ in $(seq 1 50); do
        got="$(probe "$HELO" $((SMTP_PORT + 3)))"
        [[ "$got" == "RCPT $REJECT"* ]] && break
        sleep 0.1
      done
      waited=$(( ($(date +%s%N) - revoked_at) / 1000000 ))
      if [[ "$got" == "RCPT $REJECT"* ]]; then pass "policy server: revoked, rejected again within ${waited} ms (SMTP conversations included) -> $got"; else fail "policy server: revoked, still accepted after ${waited} ms" "$got"; fi
    fi
    kill_pidfile "$W/policy-stub.pid"
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$POLICY_PORT") 2>/dev/null || break; sleep 0.1; done
  fi

  if grep -q 'warning' "$W/postfix.log" 2>/dev/null; then
    info "postfix warnings: $(grep warning "$W/postfix.log" | sed 's/.*warning: //' | sort -u | tr '\n' ';')"
  fi
  [ "$KEEP" -eq 1 ] || { postfix -c "$PF" stop >/dev/null 2>&1 && pass "postfix stopped"; }
}

# --- the HELO table -------------------------------------------------------------
# What the diagnostics predict (GET /v1/diagnostics/helo, the table its specs
# check) against what this Postfix answers, row for row. The private instance
# runs with the two HELO checks the diagnostics model; its chrooted smtpd reads
# the queue directory's resolv.conf, pointed here at the table's DNS server
# only, so every name resolves as the table's zone says.
verify_helo_table() {
  echo "== HELO table: predicted replies against Postfix $(postconf -d -h mail_version) =="
  write_postfix_config
  postconf -c "$PF" -e "smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_unknown_helo_hostname"
  printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$HELO_DNS" >"$W/spool/etc/resolv.conf"
  # The test DNS server is TypeScript: run it with the project's Node 24 and tsx.
  (cd "$REPO" && PATH="$REPO/node_modules/.bin:$PATH" exec tsx scripts/mailhost/helo-dns.ts --host "$HELO_DNS" --port 53) >"$W/helo-dns.log" 2>&1 &
  echo $! >"$W/helo-dns.pid"
  for _ in $(seq 1 100); do grep -q listening "$W/helo-dns.log" 2>/dev/null && break; sleep 0.1; done
  if ! grep -q listening "$W/helo-dns.log"; then
    fail "the table's DNS server did not start on $HELO_DNS:53 (npm ci first)" "$(cat "$W/helo-dns.log")"
    return
  fi
  pass "the table's DNS server answers on $HELO_DNS:53"
  if ! postfix -c "$PF" start >"$W/postfix-start.out" 2>&1; then
    fail "postfix start" "$(cat "$W/postfix-start.out")"
    return
  fi
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break; sleep 0.2; done
  local line
  while IFS= read -r line; do
    case "$line" in
      "PASS  "*) PASSES=$((PASSES + 1)); printf '%s\n' "$line" ;;
      "FAIL  "*) FAILS=$((FAILS + 1)); printf '%s\n' "$line" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < <(node "$HERE/smtp-probe.mjs" --port "$SMTP_PORT" --table "$HERE/helo-table.json")
  [ "$KEEP" -eq 1 ] || { postfix -c "$PF" stop >/dev/null 2>&1 && pass "postfix stopped"; kill_pidfile "$W/helo-dns.pid"; }
}

# --- rspamd -------------------------------------------------------------------
write_rspamd_config() {
  mkdir -p "$R/etc/local.d" "$R/etc/override.d" "$R/db" "$R/run" "$R/log"
  chown -R _rspamd: "$R/db" "$R/run" "$R/log" 2>/dev/null || true
  # The HeloPass part (docs/mail-hosts.md).
  cat >"$R/etc/local.d/multimap.conf" <<EOF
HELOPASS_IP {
  type = "ip";
  map = "http://rspamd:$KEY@127.0.0.1:$FEED_PORT/v1/allowlist/rspamd-ip";
  description = "HeloPass: client address holds a HELO-check exception";
  score = 0.0;
}
HELOPASS_HELO {
  type = "helo";
  map = "http://rspamd:$KEY@127.0.0.1:$FEED_PORT/v1/allowlist/rspamd-helo";
  description = "HeloPass: HELO name holds a HELO-check exception";
  score = 0.0;
}
EOF
  cat >"$R/etc/local.d/composites.conf" <<'EOF'
HELOPASS_HELO_EXCEPTION {
  expression = "(-HELOPASS_IP | -HELOPASS_HELO) & (HFILTER_HELO_1 | HFILTER_HELO_2 | HFILTER_HELO_3 | HFILTER_HELO_4 | HFILTER_HELO_5 | HFILTER_HELO_BADIP | HFILTER_HELO_NORES_A_OR_MX | HFILTER_HELO_NORESOLVE_MX | HFILTER_HELO_IP_A | HFILTER_HELO_NOT_FQDN)";
  score = 0.0;
  description = "HeloPass exception: the HELO-name penalties of hfilter are removed";
}
EOF
  # Test scaffolding: loopback only, poll the maps quickly, log to the work dir.
  cat >"$R/etc/local.d/options.inc" <<'EOF'
map_watch_interval = 5s;
EOF
  echo 'bind_socket = "127.0.0.1:11333";' >"$R/etc/override.d/worker-normal.inc"
  echo 'bind_socket = "127.0.0.1:11334";' >"$R/etc/override.d/worker-controller.inc"
  echo 'bind_socket = "127.0.0.1:11332";' >"$R/etc/override.d/worker-proxy.inc"
  cat >"$R/etc/local.d/logging.inc" <<'EOF'
level = "info";
EOF
}

RSPAMD_VARS=()
rspamc_scan() { # ip helo
  printf 'From: a@sender.example\r\nTo: b@helopass.test\r\nSubject: helopass test\r\nMessage-ID: <t@sender.example>\r\n\r\nhello\r\n' |
    rspamc --connect 127.0.0.1:11333 -i "$1" --helo "$2" 2>&1
}

verify_rspamd() {
  echo "== rspamd $(rspamd --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1) =="
  write_rspamd_config
  RSPAMD_VARS=("--var=LOCAL_CONFDIR=$R/etc" "--var=DBDIR=$R/db" "--var=RUNDIR=$R/run" "--var=LOGDIR=$R/log")
  # rspamadm needs --var=NAME=VALUE as one argument.
  if rspamadm "${RSPAMD_VARS[@]}" configtest -c /etc/rspamd/rspamd.conf >"$W/configtest.out" 2>&1; then
    pass "rspamadm configtest: $(tail -n 1 "$W/configtest.out")"
  else
    fail "rspamadm configtest" "$(cat "$W/configtest.out")"
  fi
  local before
  before=$(wc -l <"$W/feed.log")
  rspamd -c /etc/rspamd/rspamd.conf "${RSPAMD_VARS[@]}" -u _rspamd -g _rspamd >"$W/rspamd.out" 2>&1
  for _ in $(seq 1 100); do
    [ -s "$R/run/rspamd.pid" ] && (exec 3<>/dev/tcp/127.0.0.1/11333) 2>/dev/null && break
    sleep 0.2
  done
  if [ ! -s "$R/run/rspamd.pid" ]; then
    fail "rspamd start" "$(cat "$W/rspamd.out")" "$(tail -n 20 "$R/log/rspamd.log" 2>/dev/null)"
    return
  fi
  pass "rspamd started (pid $(cat "$R/run/rspamd.pid")) on 127.0.0.1:11333/11334/11332"
  for _ in $(seq 1 50); do
    grep -q '"path":"/v1/allowlist/rspamd-helo".*"status":200' "$W/feed.log" && grep -q '"path":"/v1/allowlist/rspamd-ip".*"status":200' "$W/feed.log" && break
    sleep 0.2
  done
  if tail -n +"$((before + 1))" "$W/feed.log" | grep '"path":"/v1/allowlist/rspamd-ip"' | grep '"status":200' | grep -q '"auth":"basic","user":"rspamd","authOk":true'; then
    pass "rspamd fetched /v1/allowlist/rspamd-ip with HTTP Basic (user rspamd, key as password) taken from the map URL"
  else
    fail "rspamd did not fetch the ip map with Basic auth" "$(tail -n 5 "$W/feed.log")"
  fi

  # The scanner has the maps only once the fetch is done and handed to it.
  local out syms t0=$SECONDS
  for _ in $(seq 1 90); do
    out="$(rspamc_scan 192.0.2.10 "$HELO")"
    grep -q "HELOPASS_IP (" <<<"$out" && grep -q "HELOPASS_HELO (" <<<"$out" && break
    sleep 1
  done
  info "maps in use by the scanner $((SECONDS - t0)) s after the first fetch was logged"
  syms="$(grep -oE '(HELOPASS|HFILTER_HELO)_[A-Z0-9_]* \([^)]*\)(\[[^]]*\])?' <<<"$out" | tr '\n' ' ')"
  if grep -q "HELOPASS_IP (" <<<"$out" && grep -q "HELOPASS_HELO (" <<<"$out"; then
    pass "rspamc -i 192.0.2.10 --helo $HELO: $syms"
  else
    fail "rspamc -i 192.0.2.10 --helo $HELO: HELOPASS_IP and HELOPASS_HELO expected" "$out"
  fi
  if grep -q HELOPASS_HELO_EXCEPTION <<<"$out" && ! grep -q 'HFILTER_HELO_' <<<"$out"; then
    pass "composite HELOPASS_HELO_EXCEPTION removed the hfilter HELO penalties"
  else
    fail "composite HELOPASS_HELO_EXCEPTION should remove HFILTER_HELO_* symbols" "$syms"
  fi
  local case ip name want
  for case in "203.0.113.5 EXCH01.Corp.Example HELOPASS_HELO helo map ignores case" \
              "203.0.113.5 $HELO. - helo map: trailing dot does not match" \
              "203.0.113.5 sub.$HELO - helo map: exact, subdomains do not match" \
              "2001:db8::25 unlisted.example HELOPASS_IP ip map: 2001:db8::25 inside 2001:db8::/64" \
              "198.51.100.7 exch02 - unlisted client 198.51.100.7 + exch02: no HELOPASS symbol, hfilter penalty stays"; do
    set -- $case
    ip="$1" name="$2" want="$3"
    shift 3
    out="$(rspamc_scan "$ip" "$name")"
    syms="$(grep -oE '(HELOPASS|HFILTER_HELO)_[A-Z0-9_]* \([^)]*\)(\[[^]]*\])?' <<<"$out" | tr '\n' ' ')"
    if { [ "$want" = - ] && ! grep -q 'HELOPASS_' <<<"$out"; } || { [ "$want" != - ] && grep -q "$want (" <<<"$out"; }; then
      pass "-i $ip --helo $name: $* -> ${syms:-no HELOPASS/HFILTER_HELO symbol}"
    else
      fail "-i $ip --helo $name: $*" "$out"
    fi
  done

  # Polling: rspamd re-checks with conditional requests and reloads on a newer Last-Modified.
  info "waiting for rspamd to poll the maps (map_watch_interval 5s, with jitter)…"
  local n=0
  for _ in $(seq 1 60); do
    n=$(grep '"path":"/v1/allowlist/rspamd-ip"' "$W/feed.log" | grep -c '"status":304')
    [ "$n" -gt 0 ] && break
    sleep 1
  done
  if [ "$n" -gt 0 ]; then
    pass "rspamd polls with a conditional request and gets 304: $(grep '"path":"/v1/allowlist/rspamd-ip"' "$W/feed.log" | grep '"status":304' | tail -n 1 | node -e 'const e=JSON.parse(require("fs").readFileSync(0));console.log(`${e.method} If-Modified-Since: ${e.ifModifiedSince} If-None-Match: ${e.ifNoneMatch}`)')"
  else
    fail "no conditional (304) poll from rspamd within 60 s" "$(tail -n 5 "$W/feed.log")"
  fi
  { FEED_VERSION=2 feed_header rspamd-ip 3 'rspamd multimap, type ip'; printf '192.0.2.10/32\n198.51.100.7/32\n2001:db8::/64\n'; } >"$FEED/rspamd-ip.new"
  mv "$FEED/rspamd-ip.new" "$FEED/rspamd-ip"
  local hit=0
  for _ in $(seq 1 60); do
    if rspamc_scan 198.51.100.7 exch02 | grep -q HELOPASS_IP; then hit=1; break; fi
    sleep 1
  done
  if [ "$hit" -eq 1 ]; then
    pass "after the feed changed (newer Last-Modified), rspamd reloaded the map: 198.51.100.7 now HELOPASS_IP"
  else
    fail "rspamd did not pick up the changed map within 60 s" "$(tail -n 5 "$W/feed.log")"
  fi
  info "feed requests by rspamd: $(grep -c '"path":"/v1/allowlist/rspamd-' "$W/feed.log") ($(grep '"path":"/v1/allowlist/rspamd-' "$W/feed.log" | grep -o '"method":"[A-Z]*"' | sort | uniq -c | tr -s ' ' | tr '\n' ' '))"
  [ "$KEEP" -eq 1 ] || { kill_pidfile "$R/run/rspamd.pid" && pass "rspamd stopped"; }
}

# --- main ---------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then echo "run as root (postfix -c and rspamd -u need it)" >&2; exit 1; fi
install_packages
teardown
[ "$ONLY" = none ] && { echo "stopped"; exit 0; }
for port in "$SMTP_PORT" $((SMTP_PORT + 1)) $((SMTP_PORT + 2)) $((SMTP_PORT + 3)) "$FEED_PORT" "$POLICY_PORT" 11332 11333 11334; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port 127.0.0.1:$port is in use; stop that first" >&2; exit 1; fi
done
if (exec 3<>"/dev/tcp/$HELO_DNS/53") 2>/dev/null; then echo "port $HELO_DNS:53 is in use; stop that first (or set HELO_DNS)" >&2; exit 1; fi
rm -rf "$W"
mkdir -p "$W"
trap on_exit EXIT
start_feed || exit 1
case "$ONLY" in
  postfix) verify_postfix ;;
  rspamd) verify_rspamd ;;
  helo) verify_helo_table ;;
  all) verify_postfix; verify_rspamd; verify_helo_table ;;
esac
[ "$FAILS" -eq 0 ]
