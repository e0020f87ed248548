#!/usr/bin/env bash
# Builds a GSS-TSIG capture: a real MIT KDC and a real BIND 9 (tkey-gssapi-keytab) in a scratch
# network namespace; nsupdate -g signs a dynamic update with a Kerberos ticket.
set -euo pipefail
OUT=${1:?output pcap}
D=$(mktemp -d /tmp/tkeylab.XXXX)
NS=tkeylab$$
ip netns add $NS
cleanup() { ip netns pids $NS 2>/dev/null | xargs -r kill 2>/dev/null; sleep 0.5; ip netns del $NS; }
trap cleanup EXIT
ip netns exec $NS ip link set lo up
cat > $D/krb5.conf <<C
[libdefaults]
  default_realm = TKEY.TEST
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
[realms]
  TKEY.TEST = {
    kdc = 127.0.0.1
  }
[domain_realm]
  .tkey.test = TKEY.TEST
  tkey.test = TKEY.TEST
C
cat > $D/kdc.conf <<C
[kdcdefaults]
  kdc_ports = 88
  kdc_tcp_ports = 88
[realms]
  TKEY.TEST = {
    database_name = $D/principal
    key_stash_file = $D/stash
    acl_file = $D/kadm5.acl
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }
C
export KRB5_CONFIG=$D/krb5.conf KRB5_KDC_PROFILE=$D/kdc.conf KRB5CCNAME=FILE:$D/cc
kdb5_util create -s -P master-pw -r TKEY.TEST >/dev/null
kadmin.local -q "addprinc -pw alice-pw alice" >/dev/null
kadmin.local -q "addprinc -randkey DNS/ns.tkey.test" >/dev/null
kadmin.local -q "ktadd -k $D/dns.keytab DNS/ns.tkey.test" >/dev/null
cat > $D/tkey.test.zone <<C
\$TTL 300
@ IN SOA ns.tkey.test. admin.tkey.test. 1 300 300 600 300
@ IN NS ns
ns IN A 127.0.0.1
C
cat > $D/named.conf <<C
options {
  directory "$D";
  pid-file "$D/named.pid";
  listen-on port 53 { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  tkey-gssapi-keytab "$D/dns.keytab";
};
zone "tkey.test" {
  type primary;
  file "$D/tkey.test.zone";
  update-policy { grant alice@TKEY.TEST zonesub ANY; };
};
C
ip netns exec $NS tcpdump -i lo -U -w "$OUT" 'port 53 or port 88' 2>$D/tcpdump.log &
ip netns exec $NS krb5kdc -n &
ip netns exec $NS named -g -c $D/named.conf > $D/named.log 2>&1 &
sleep 2
echo alice-pw | ip netns exec $NS kinit alice >/dev/null
ip netns exec $NS nsupdate -g <<U
server 127.0.0.1
local 127.0.0.2
zone tkey.test
update add ws01.tkey.test. 300 A 10.1.2.3
send
U
# The Windows 2000 variant (algorithm gss.microsoft.com), as Windows clients send it.
ip netns exec $NS nsupdate -g -o <<U
server 127.0.0.1
local 127.0.0.2
zone tkey.test
update add ws02.tkey.test. 300 A 10.1.2.4
send
U
ip netns exec $NS dig +short @127.0.0.1 ws01.tkey.test A
sleep 1
kill %1 2>/dev/null || true
sleep 0.5
grep -c "updating zone" $D/named.log; rm -rf "$D"
